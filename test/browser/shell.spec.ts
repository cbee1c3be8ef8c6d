import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, ifMatch, inviteAndAccept, PASSWORD, revokeMember, ROLE } from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;

describe.skipIf(!browserReady)('dashboard shell in Chromium', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
  }, 60_000);
  afterAll(() => close?.());

  it("an editor's “what I can do” and menus change live when an admin changes the role, and a revocation shows the signed-out screen", async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'business' });
    const editor = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Eddie Editor' });
    const { page, errors } = await newPage(browser);
    await signIn(page, app.url, editor.email, PASSWORD);
    await page.goto(`${app.url}/me`);
    const can = page.getByText('What I can do').locator('..').locator('..');
    await expect.poll(() => can.innerText()).toContain('Create');
    const accountLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account', exact: true });
    expect(await accountLink.count()).toBe(1); // Editor holds account.view
    await keepScreenshot(page, 'me-editor-before');

    const changed = Date.now();
    const reply = await api.patch(`/users/${editor.member.id}`, { roleId: ROLE.readonly }, { token: owner.token, headers: ifMatch(editor.member.version) });
    expect(reply.status).toBe(200);
    await expect.poll(() => can.innerText(), { timeout: 1000, interval: 25 }).not.toContain('Create');
    expect(Date.now() - changed).toBeLessThan(1000);
    await expect.poll(() => accountLink.count(), { timeout: 1000, interval: 25 }).toBe(0); // Read only does not
    await keepScreenshot(page, 'me-editor-read-only');

    expect(await revokeMember(api, owner.token, editor.member.id)).toBe(200);
    await page.getByTestId('signed-out-reason').waitFor({ timeout: 2000 });
    expect(await page.getByTestId('signed-out-reason').innerText()).toContain('An admin removed your access');
    await keepScreenshot(page, 'signed-out');
    expect(errors).toEqual([]);
  });
});
