/**
 * A session ended while the tab was not connected: `me.revoked` went to no socket of it, so the tab
 * learns of the end from the server's refusal, which says why (`details.reason` of the 401
 * `SESSION_REVOKED`, over HTTP or at the live handshake). The tab shows that reason, as it would
 * have on the push: before, a refused handshake left the page as it was (a revoked member still
 * looking at the dashboard) and a refused request sent it to sign-in without a word of why.
 *
 * A session that expired meanwhile is refused without a reason: the tab goes to sign-in, as a refused
 * request takes it, instead of staying on what it last showed.
 *
 * The tab's live connection is cut for real at the browser (Chromium's offline emulation, or a route
 * that takes the WebSocket over and never answers), not mocked in the page.
 */
import type { Browser, BrowserContext, Page, WebSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import {
  createAccount,
  inviteAndAccept,
  PASSWORD,
  revokeMember,
  ROLE,
  type SignedUp,
} from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, newPage, signIn, startProduct } from './support/browser.js';

/**
 * Keeps the page's live connection from ever reaching the server: its WebSocket is taken over by
 * the route and never answered (the handshake waits), and the polling transport is refused.
 */
async function cutLive(page: Page): Promise<{ attempts: () => number }> {
  let attempts = 0;
  await page.routeWebSocket(/\/socket\.io\//, () => {
    attempts += 1;
  });
  await page.route('**/socket.io/**', (route) => route.abort());
  return { attempts: () => attempts };
}

/**
 * The live connections of the page's current document that the server answered and that are still
 * open. A navigation starts the count again: the document before it may have opened one (the page
 * sign-in lands on) whose close Playwright does not always report.
 */
function answeredSockets(page: Page): () => number {
  const open = new Set<WebSocket>();
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) open.clear();
  });
  page.on('websocket', (ws) => {
    ws.once('framereceived', () => open.add(ws));
    ws.on('close', () => open.delete(ws));
  });
  return () => open.size;
}

describe.skipIf(!browserReady)('a session ended while its tab was not connected', () => {
  let app: TestApp;
  let browser: Browser;
  let close: () => Promise<void>;
  let owner: SignedUp;

  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
    owner = await createAccount(client(app.url), { plan: 'business', name: 'Olive Owner' });
  }, 60_000);
  afterAll(async () => {
    await close?.();
  });

  /** An editor of the account, signed in on a new page. */
  async function signedInEditor(name: string) {
    const member = await inviteAndAccept(client(app.url), app.config.dataDir, owner, { roleId: ROLE.editor, name });
    const { page, context } = await newPage(browser);
    await signIn(page, app.url, member.email, PASSWORD);
    return { member, page, context };
  }

  /**
   * Opens `/me` and waits for its live connection to be answered, then takes the tab offline
   * (Chromium's network emulation: the connection is closed, new ones fail) until it is closed.
   */
  async function meThenOffline(page: Page, context: BrowserContext): Promise<void> {
    const connected = answeredSockets(page);
    await page.goto(`${app.url}/me`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await expect.poll(connected, { timeout: 10_000 }).toBeGreaterThan(0);
    await context.setOffline(true);
    await expect.poll(connected, { timeout: 10_000 }).toBe(0);
  }

  it('shows why when its live connection comes back and the handshake is refused', async () => {
    const { member, page, context } = await signedInEditor('Hana Handshake');
    try {
      await meThenOffline(page, context);
      expect(await revokeMember(client(app.url), owner.token, member.member.id)).toBe(200);
      await context.setOffline(false);
      // Socket.IO's own reconnection tries again within its backoff (≤ 5 s), and is refused.
      const reason = page.getByTestId('signed-out-reason');
      await reason.waitFor({ timeout: 15_000 });
      expect(await reason.innerText()).toContain('An admin removed your access');
      expect(new URL(page.url()).pathname).toBe('/me');
    } finally {
      await context.close();
    }
  });

  it('goes to sign-in when its live connection comes back to a session that expired meanwhile (a refusal without a reason)', async () => {
    const { page, context } = await signedInEditor('Ezra Expired');
    const config = app.config as { sessionIdleMs: number };
    const idleMs = config.sessionIdleMs;
    try {
      await meThenOffline(page, context);
      // Every session has now been idle too long: the handshake on reconnecting is refused
      // UNAUTHENTICATED (`expired`), which Socket.IO does not try again.
      config.sessionIdleMs = 1;
      await context.setOffline(false);
      await page.waitForURL((url) => url.pathname === '/signin', { timeout: 15_000 });
      expect(new URL(page.url()).searchParams.get('ended')).toBe('1');
    } finally {
      config.sessionIdleMs = idleMs;
      await context.close();
    }
  });

  it('shows why at once when a request is refused, without waiting for a push that cannot come', async () => {
    const { member, page, context } = await signedInEditor('Rafa Request');
    try {
      const live = await cutLive(page);
      await page.goto(`${app.url}/me`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await expect.poll(live.attempts, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(await revokeMember(client(app.url), owner.token, member.member.id)).toBe(200);
      // Its first request after the revocation (the Account page's reads) is refused, with the reason.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account', exact: true }).click();
      const reason = page.getByTestId('signed-out-reason');
      await reason.waitFor({ timeout: 5000 });
      expect(await reason.innerText()).toContain('An admin removed your access');
      expect(new URL(page.url()).pathname).not.toBe('/signin');
    } finally {
      await context.close();
    }
  });
});
