/**
 * Service accounts and API keys in Chromium (issue 16 §3): an admin creates a service account on the
 * Account page, issues a key (shown once, with copy) that then works over REST, changes its role
 * (the key follows at once), sees last used and expiry, revokes the key (the next request is refused)
 * and deletes the service account after confirming. Screenshot: docs/service-accounts.png.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, type SignedUp } from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

const DOCS = resolve(import.meta.dirname, '../../docs');

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;
let owner: SignedUp;

describe.skipIf(!browserReady)('service accounts in Chromium', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
    owner = await createAccount(client(app.url), { plan: 'business', name: 'Olive Owner', accountName: 'Acme Keys' });
  }, 60_000);

  afterAll(async () => {
    await close?.();
  });

  it('creates a service account, issues a key shown once, changes its role, revokes the key and deletes it', async () => {
    const api = client(app.url);
    const { context, page, errors } = await newPage(browser);
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    try {
      await signIn(page, app.url, owner.email, owner.password);
      await page.goto(`${app.url}/account`);
      const card = page.getByTestId('service-accounts');
      await card.getByLabel('Name').fill('SIEM export');
      await card.locator('select[name=roleId]').selectOption({ label: 'Read only' });
      await card.getByRole('button', { name: 'Create service account' }).click();
      const row = card.getByTestId('service-account').filter({ hasText: 'SIEM export' });
      await expect.poll(() => row.count()).toBe(1);

      await row.locator('select[name=days]').selectOption({ label: 'In 90 days' });
      await row.getByRole('button', { name: 'Issue key' }).click();
      const secret = card.getByTestId('api-key-secret');
      await expect.poll(() => secret.locator('code').textContent()).toMatch(/^rck_[A-Za-z0-9_-]{43}$/);
      const key = (await secret.locator('code').textContent())!;
      await expect.poll(() => row.getByTestId('api-key').count()).toBe(1);
      expect(await row.getByTestId('api-key').textContent()).toContain(key.slice(0, 12));
      expect(await row.getByTestId('api-key').textContent()).not.toContain(key);

      // The key works, with exactly the role's permissions; last used shows up after a reload.
      expect((await api.get('/account', { token: key })).status).toBe(403);
      await row.getByLabel('Role of SIEM export').selectOption({ label: 'Admin' });
      await expect.poll(async () => (await api.get('/account', { token: key })).status).toBe(200);
      await card.getByRole('button', { name: 'I’ve stored it' }).click();
      await page.reload();
      await expect.poll(() => row.getByTestId('api-key').textContent()).not.toMatch(/Never\s*Revoke$/);

      await card.scrollIntoViewIfNeeded();
      mkdirSync(DOCS, { recursive: true });
      await card.screenshot({ path: resolve(DOCS, 'service-accounts.png') });
      await keepScreenshot(page, 'service-accounts');

      await row.getByRole('button', { name: /^Revoke rck_/ }).click();
      await expect.poll(() => row.getByTestId('api-key').count()).toBe(0);
      expect((await api.get('/account', { token: key })).status).toBe(401);

      await row.getByRole('button', { name: 'Delete SIEM export' }).click();
      await expect.poll(() => card.getByTestId('service-account').count()).toBe(0);
      expect(dialogs).toEqual([
        expect.stringMatching(/^Revoke the key rck_/),
        expect.stringMatching(/^Delete the service account SIEM export\?/),
      ]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
