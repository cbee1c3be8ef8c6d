import type { MemberPageDto } from '@rolecall/contracts';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import {
  createAccount,
  ifMatch,
  invite,
  inviteAndAccept,
  PASSWORD,
  ROLE,
  uniqueEmail,
  type Joined,
} from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;

/** Resolves once the page's Socket.IO connection is accepted (register before navigating). */
function liveConnected(page: Page): Promise<void> {
  return new Promise((resolve) => {
    page.on('websocket', (socket) => {
      socket.on('framereceived', (frame) => {
        if (String(frame.payload).startsWith('40')) resolve();
      });
    });
  });
}

/** Every toast text shown on a page since this was called. */
async function recordToasts(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { toastsSeen: string[] }).toastsSeen = seen;
    new MutationObserver((records) => {
      for (const record of records)
        for (const node of Array.from(record.addedNodes))
          if (node instanceof HTMLElement && node.classList.contains('toast'))
            seen.push((node.textContent ?? '').trim());
    }).observe(document.body, { childList: true, subtree: true });
  });
  return () =>
    page.evaluate(() =>
      (window as unknown as { toastsSeen: string[] }).toastsSeen.filter((t) => /Olive Owner .* members/.test(t)),
    );
}

describe.skipIf(!browserReady)('Bulk actions on the Users page in Chromium', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
  }, 60_000);
  afterAll(() => close?.());

  it('selects rows and all matching, previews (skips, cost), confirms; a second admin sees the rows change live with one toast', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'enterprise', name: 'Olive Owner' });
    const admin = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Adam Admin' });
    const readers: Joined[] = [];
    for (const name of ['Rita Reader', 'Ray Reader', 'Rosa Reader', 'Rob Reader', 'Ruth Reader'])
      readers.push(await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.readonly, name }));
    // Rita has Talk already (skipped as "already so"); 50 invitations make the filter's matches more than a page.
    const rita = readers[0]!;
    expect(
      (
        await api.patch(
          `/users/${rita.member.id}`,
          { agentAccess: true },
          { token: owner.token, headers: ifMatch(rita.member.version) },
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await invite(
          api,
          owner,
          Array.from({ length: 50 }, (_, i) => uniqueEmail(`zz${i}`)),
          { roleId: ROLE.readonly },
        )
      ).status,
    ).toBe(201);

    const actor = await newPage(browser);
    const watcher = await newPage(browser);
    const watcherLive = liveConnected(watcher.page);
    await signIn(actor.page, app.url, owner.email, PASSWORD);
    await signIn(watcher.page, app.url, admin.email, PASSWORD);
    await actor.page.waitForURL(`${app.url}/users`);
    await watcher.page.waitForURL(`${app.url}/users`);
    await watcherLive;
    await watcher.page.getByRole('link', { name: 'Ray Reader' }).waitFor();
    const toastsOf = await recordToasts(watcher.page);

    // Rows by their checkboxes: the bar appears with the count; unticking one takes it out.
    const page = actor.page;
    await page.getByRole('checkbox', { name: 'Select Ray Reader' }).check();
    await page.getByRole('checkbox', { name: 'Select Rosa Reader' }).check();
    expect(await page.getByTestId('bulk-count').innerText()).toBe('2 members selected');
    await page.getByRole('checkbox', { name: 'Select Rosa Reader' }).uncheck();
    expect(await page.getByTestId('bulk-count').innerText()).toBe('1 member selected');

    // The Read only filter: 55 match, 50 shown. A new filter starts the selection over.
    await page.goto(`${app.url}/users?role=${ROLE.readonly}`);
    await page.getByTestId('member-count').getByText('Showing 50 of 55 members').waitFor();
    expect(await page.getByTestId('bulk-bar').count()).toBe(0);
    await page.getByRole('checkbox', { name: 'Select every member on this page' }).check();
    expect(await page.getByTestId('bulk-count').innerText()).toBe('50 members selected');
    await page.getByRole('button', { name: 'Select all 55 matching this filter' }).click();
    expect(await page.getByTestId('bulk-count').innerText()).toBe('55 members selected');

    // Talk access on: the preview names who is skipped and why, and what it costs a month.
    await page.getByTestId('bulk-action').selectOption('agentAccess');
    await page.getByRole('button', { name: 'Preview…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Talk access: preview' });
    await dialog.getByTestId('bulk-preview').waitFor();
    await dialog.getByText('This will turn on Talk access for 54 members.').waitFor();
    const skipped = await dialog.getByTestId('bulk-skipped').innerText();
    expect(skipped).toContain('Already so');
    expect(skipped).toContain('Rita Reader already has Talk access');
    // Enterprise: the first agent seat is free, each further one $15 a month (Rita's was the free one).
    expect(await dialog.getByTestId('bulk-cost').innerText()).toBe('$0 → $810/month');
    await dialog.getByText('Permission changes').waitFor();
    await page.screenshot({ path: resolve(import.meta.dirname, '../../docs/users-bulk.png') });
    await keepScreenshot(page, 'users-bulk-preview');

    await dialog.getByTestId('bulk-confirm').click();
    await dialog.getByTestId('bulk-result').getByText('Done: 54 members changed, 1 skipped.').waitFor();
    await dialog.getByRole('button', { name: 'Done' }).click();

    // The acting page's rows follow; the watcher's rows change live, with one toast for the lot.
    const rayTalk = (p: Page) => p.locator(`tr[data-member-id="${readers[1]!.member.id}"] td.talk`);
    await expect.poll(() => rayTalk(page).innerText(), { timeout: 5000 }).toMatch(/^Access/);
    await expect.poll(() => rayTalk(watcher.page).innerText(), { timeout: 5000 }).toMatch(/^Access/);
    await expect.poll(toastsOf, { timeout: 5000 }).toHaveLength(1);
    expect((await toastsOf())[0]).toContain('Olive Owner turned on Talk access for 54 members');
    await new Promise((r) => setTimeout(r, 800));
    expect(await toastsOf()).toHaveLength(1);
    const now = await api.get<MemberPageDto>('/users?agent=true', { token: owner.token });
    expect(now.body.total).toBe(55);

    // At 390 px the checkboxes and the bar still work, without sideways scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('checkbox', { name: 'Select Ray Reader' }).check();
    await page.getByTestId('bulk-bar').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await keepScreenshot(page, 'users-bulk-390');
  }, 120_000);

  it('a refused preview (no agent seat left) offers nothing to confirm', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'starter', name: 'Olive Owner' });
    for (let i = 0; i < 4; i++)
      await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor, name: `Ed ${i}` });
    const { page } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    await page.waitForURL(`${app.url}/users`);
    await page.getByTestId('member-count').getByText('5 members').waitFor();
    await page.getByRole('checkbox', { name: 'Select every member on this page' }).check();
    await page.getByTestId('bulk-action').selectOption('agentAccess');
    await page.getByRole('button', { name: 'Preview…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Talk access: preview' });
    await dialog.getByTestId('bulk-would-fail').waitFor();
    expect(await dialog.getByTestId('bulk-would-fail').innerText()).toMatch(/agent seats/);
    expect(await dialog.getByTestId('bulk-confirm').isDisabled()).toBe(true);
  }, 60_000);
});
