/**
 * Issue 15: the Activity page reads as sentences with names ("Olive Owner changed Bob Builder's role
 * from Editor to Support agent"), still naming a role as it was after it is renamed; ids and the raw
 * changes only inside each entry's Details; IPv4 addresses as IPv4.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MemberDetailDto, RoleDto } from '@rolecall/contracts';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, ifMatch, invite, inviteAndAccept, PASSWORD, ROLE } from '../api/support/factories.js';
import { client, type Client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

const DOCS = resolve(import.meta.dirname, '../../docs');

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;
let api: Client;

describe.skipIf(!browserReady)('the Activity page in sentences (issue 15)', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
    api = client(app.url);
  }, 60_000);
  afterAll(() => close?.());

  it('shows a role change and Talk access off as sentences with names, ids only under Details', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const bob = await inviteAndAccept(api, app.config.dataDir, owner, {
      name: 'Bob Builder',
      roleId: ROLE.editor,
      agentAccess: true,
    });
    const role = await api.post<RoleDto>(
      '/roles',
      { name: 'Support agent', description: '', icon: 'star', permissions: ['reports.view'] },
      { token: owner.token },
    );
    expect(role.status).toBe(201);

    // Another admin's changes, over the API: Bob's role, then his Talk access (from an IPv4 client
    // behind the trusted local proxy, whose address arrives IPv4-mapped), then the role renamed.
    const changed = await api.patch<MemberDetailDto>(
      `/users/${bob.member.id}`,
      { roleId: role.body.id },
      { token: owner.token, headers: ifMatch(bob.member.version) },
    );
    expect(changed.status).toBe(200);
    const off = await api.patch(
      `/users/${bob.member.id}`,
      { agentAccess: false },
      { token: owner.token, headers: { ...ifMatch(changed.body.version), 'x-forwarded-for': '::ffff:203.0.113.9' } },
    );
    expect(off.status).toBe(200);
    const renamed = await api.patch(
      `/roles/${role.body.id}`,
      { name: 'Helpers' },
      { token: owner.token, headers: ifMatch(role.body.version) },
    );
    expect(renamed.status).toBe(200);

    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    await page.goto(`${app.url}/activity`);
    const stream = page.getByRole('list', { name: 'Activity, newest first' });
    const roleChange = stream
      .getByRole('listitem')
      .filter({ hasText: "Olive Owner changed Bob Builder's role from Editor to Support agent" });
    const talkOff = stream
      .getByRole('listitem')
      .filter({ hasText: "Olive Owner turned off Bob Builder's Talk access" });
    await roleChange.waitFor();
    await talkOff.waitFor();
    await stream.getByText('Olive Owner renamed the role Support agent to Helpers').waitFor();
    await stream.getByText('Olive Owner invited ' + bob.email + ' as Editor with Talk access').waitFor();
    await stream.getByText('Bob Builder accepted the invitation and joined').waitFor();

    // The address is shown as IPv4; nothing raw is visible until Details is opened.
    expect(await talkOff.getByText('203.0.113.9').first().isVisible()).toBe(true);
    expect(await stream.getByText('::ffff:').count()).toBe(0);
    const id = roleChange.getByText(role.body.id).first();
    expect(await id.isVisible()).toBe(false);
    expect(await roleChange.getByText('roleId').isVisible()).toBe(false);
    await roleChange.getByText('Details', { exact: true }).click();
    await id.waitFor();
    expect(await roleChange.getByText('roleId').isVisible()).toBe(true);
    expect(await roleChange.getByText('user.role_changed', { exact: false }).isVisible()).toBe(true);

    const shot = await keepScreenshot(page, 'activity-sentences');
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(shot, resolve(DOCS, 'activity-sentences.png'));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('renders its first page a few entries at a time, and the people menus a few people at a time (issue 21)', async () => {
    // 60 invitations: a full first page (50 entries) and 61 people in each menu.
    const owner = await createAccount(api, { plan: 'enterprise', name: 'Olive Owner' });
    for (const batch of [0, 1]) {
      const emails = Array.from({ length: 30 }, (_, i) => `batch${batch}.person${i}@example.com`);
      expect((await invite(api, owner, emails)).status).toBe(201);
    }
    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    // What each DOM update added (one MutationObserver callback per render): all fifty entries in
    // one task kept a slow phone busy for a quarter of a second after the first paint.
    await page.addInitScript(() => {
      const renders: { entries: number; options: number }[] = [];
      (window as unknown as { renders: typeof renders }).renders = renders;
      new MutationObserver((records) => {
        let entries = 0;
        let options = 0;
        for (const record of records)
          for (const node of Array.from(record.addedNodes)) {
            if (node instanceof HTMLLIElement && node.parentElement?.matches('ol.stream')) entries += 1;
            if (
              node instanceof HTMLOptionElement &&
              /Who did it|About member/.test(node.closest('label')?.textContent ?? '')
            )
              options += 1;
          }
        if (entries || options) renders.push({ entries, options });
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${app.url}/activity`);
    const stream = page.getByRole('list', { name: 'Activity, newest first' });
    await expect.poll(() => stream.locator(':scope > li').count(), { timeout: 10_000 }).toBe(50);
    const actor = page.getByLabel('Who did it');
    await expect.poll(() => actor.locator('option').count(), { timeout: 10_000 }).toBe(62);
    await expect.poll(() => page.getByLabel('About member').locator('option').count()).toBe(62);
    await page.getByRole('button', { name: 'Show older' }).waitFor();

    const renders = await page.evaluate(
      () => (window as unknown as { renders: { entries: number; options: number }[] }).renders,
    );
    const entries = renders.map((render) => render.entries).filter(Boolean);
    // "Loading…" (one item), then 4 entries per render.
    expect(Math.max(...entries)).toBeLessThanOrEqual(4);
    expect(entries.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(50);
    // The people come 25 at a time into each of the two menus.
    const people = renders.map((render) => render.options).filter(Boolean);
    expect(Math.max(...people)).toBeLessThanOrEqual(50);
    expect(people.reduce((sum, n) => sum + n, 0)).toBe(2 * 61);
    expect(errors).toEqual([]);
    await context.close();
  });
});
