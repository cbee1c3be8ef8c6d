/**
 * Issue 19: the Activity page opened by URL streams what is written while it is open — including
 * what is written while its first page of entries is still on the way. The live store owns the
 * stream and keeps what arrived during a load (the page used to overwrite it with the older page,
 * so the entry never showed until a reload).
 */
import type { ActivityEntryDto, MemberDto, PageDto } from '@rolecall/contracts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, ifMatch, inviteAndAccept, PASSWORD, ROLE } from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, newPage, signIn, startProduct } from './support/browser.js';

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;

const api = () => client(app.url);

/**
 * Watches the page's live socket (call before navigating): `subscribed` resolves once the server
 * acknowledged `activity.subscribe`, `appended()` at the next `activity.appended` pushed to the page.
 */
function watchStream(page: Page): { subscribed: Promise<void>; appended: () => Promise<void> } {
  let onSubscribed!: () => void;
  const subscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
  const waiting = new Set<() => void>();
  page.on('websocket', (socket) => {
    let ackId: string | null = null;
    socket.on('framesent', (frame) => {
      const match = /^42(\d+)\["activity\.subscribe"/.exec(String(frame.payload));
      if (match) ackId = match[1]!;
    });
    socket.on('framereceived', (frame) => {
      const payload = String(frame.payload);
      if (ackId !== null && payload.startsWith(`43${ackId}[`)) onSubscribed();
      if (payload.startsWith('42["activity.appended"')) {
        for (const resolve of waiting) resolve();
        waiting.clear();
      }
    });
  });
  return { subscribed, appended: () => new Promise((resolve) => waiting.add(resolve)) };
}

describe.skipIf(!browserReady)('The Activity page opened by URL is live (issue 19)', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
  }, 60_000);
  afterAll(() => close?.());

  it('shows an entry another admin writes while the page is open, even while its first page is loading', async () => {
    const owner = await createAccount(api(), { plan: 'business' });
    const admin = await inviteAndAccept(api(), app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Adam Admin' });
    const bob = await inviteAndAccept(api(), app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Bob Builder' });
    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, admin.email, PASSWORD);

    // The first page of entries is read now but handed to the page only once the new entry has
    // been pushed to it.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    await page.route(
      (url) => url.pathname === '/api/v1/activity',
      async (route) => {
        if (held) return route.continue();
        held = true;
        const response = await route.fetch();
        await released;
        await route.fulfill({ response });
      },
    );
    const before = await api().get<PageDto<ActivityEntryDto>>('/activity?limit=50', { token: owner.token });
    expect(before.status).toBe(200);

    const stream = watchStream(page);
    await page.goto(`${app.url}/activity`);
    await stream.subscribed;
    const appended = stream.appended();
    const current = await api().get<MemberDto>(`/users/${bob.member.id}`, { token: owner.token });
    const change = await api().patch(
      `/users/${bob.member.id}`,
      { roleId: ROLE.readonly },
      { token: owner.token, headers: ifMatch(current.body.version) },
    );
    expect(change.status).toBe(200);
    await appended;
    release();

    const rows = page.getByRole('list', { name: 'Activity, newest first' }).locator(':scope > li');
    await page.getByTestId('chain-status').waitFor();
    await expect.poll(() => rows.count(), { timeout: 8000 }).toBe(before.body.items.length + 1);
    expect(await rows.first().innerText()).toContain('Bob Builder');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('opened by URL, shows new entries as they are written, without a reload', async () => {
    const owner = await createAccount(api(), { plan: 'business' });
    const admin = await inviteAndAccept(api(), app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Adam Admin' });
    const bob = await inviteAndAccept(api(), app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Bob Builder' });
    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, admin.email, PASSWORD);
    const { subscribed } = watchStream(page);
    await page.goto(`${app.url}/activity`);
    await subscribed;
    const stream = page.getByRole('list', { name: 'Activity, newest first' }).locator(':scope > li');
    await page.getByTestId('chain-status').waitFor();
    await expect.poll(() => stream.count()).toBeGreaterThan(1);
    // The first page renders a few entries per task (issue 21): count it once it is all there.
    await page.locator('ol[aria-busy="false"]').waitFor();
    const before = await stream.count();

    const current = await api().get<MemberDto>(`/users/${bob.member.id}`, { token: owner.token });
    const change = await api().patch(
      `/users/${bob.member.id}`,
      { roleId: ROLE.readonly },
      { token: owner.token, headers: ifMatch(current.body.version) },
    );
    expect(change.status).toBe(200);
    await expect.poll(() => stream.count(), { timeout: 8000 }).toBe(before + 1);
    expect(await stream.first().innerText()).toContain('Bob Builder');
    expect(errors).toEqual([]);
    await context.close();
  });
});
