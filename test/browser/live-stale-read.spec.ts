/**
 * A read of `GET /auth/session` that left before a change and came back after the change's live
 * push must not undo it. The live store reads the session again on every connection; when a role
 * change committed while that read was on its way, `me.updated` (the new role's name) and
 * `me.permissions` arrived first and the older answer then replaced them: the page showed the old
 * role for good (scim.spec, twice under load). Here the read is held deterministically: its answer is
 * fetched before the change and delivered after the page has shown it.
 */
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import {
  createAccount,
  ifMatch,
  inviteAndAccept,
  PASSWORD,
  revokeMember,
  ROLE,
  type SignedUp,
} from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, newPage, signIn, startProduct } from './support/browser.js';

/**
 * From here, the page's boot-time reads pass: app.html's preload and the fetch that takes it over
 * (hooks.client.ts), neither of which asks for JSON — under load Chromium may send both rather than
 * share one, and holding the second hid the page's heading for good (CI, once). The first read the
 * app's API client makes (`Accept: application/json`: the live store's, on connect) is answered by
 * the server at once, and that answer is held until `release()`.
 */
async function holdFirstSessionRead(
  page: Page,
): Promise<{ held: Promise<void>; release: () => void; delivered: Promise<void> }> {
  let holding = false;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let onHeld!: () => void;
  const held = new Promise<void>((resolve) => (onHeld = resolve));
  let onDelivered!: () => void;
  const delivered = new Promise<void>((resolve) => (onDelivered = resolve));
  await page.route('**/api/v1/auth/session', async (route: Route) => {
    if (holding || route.request().headers()['accept'] !== 'application/json') return route.continue();
    holding = true;
    const response = await route.fetch();
    onHeld();
    await released;
    await route.fulfill({ response });
    onDelivered();
  });
  return { held, release, delivered };
}

/** Lets the page apply what just reached it: a frame, and a moment after it. */
async function settle(page: Page, ms = 100): Promise<void> {
  await page.evaluate((wait) => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, wait))), ms);
}

describe.skipIf(!browserReady)('a stale session read after a live change', () => {
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

  /**
   * An editor of the account on `/me`, whose live store's read of the session on connecting was
   * answered (the session still stood) and is held (`read`).
   */
  async function meWithHeldRead(name: string) {
    const member = await inviteAndAccept(client(app.url), app.config.dataDir, owner, { roleId: ROLE.editor, name });
    const { page, context } = await newPage(browser);
    await signIn(page, app.url, member.email, PASSWORD);
    const read = await holdFirstSessionRead(page);
    await page.goto(`${app.url}/me`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await read.held;
    return { member, page, context, read };
  }

  it('keeps the role the live push brought when an older read of the session comes back after it', async () => {
    const api = client(app.url);
    const { member: mia, page, context, read } = await meWithHeldRead('Mia Member');
    try {
      const roleOnPage = () =>
        page
          .locator('.row', { has: page.locator('dt', { hasText: /^Role$/ }) })
          .locator('.value')
          .innerText();
      expect(await roleOnPage()).toBe('Editor');

      const current = await api.get<{ version: number }>(`/users/${mia.member.id}`, { token: owner.token });
      const changed = await api.patch(
        `/users/${mia.member.id}`,
        { roleId: ROLE.readonly },
        { token: owner.token, headers: ifMatch(current.body.version) },
      );
      expect(changed.status).toBe(200);
      await expect.poll(roleOnPage, { timeout: 5000 }).toBe('Read only');

      read.release();
      await read.delivered;
      // The older answer has reached the page; give it the frames to apply it.
      await settle(page);
      expect(await roleOnPage()).toBe('Read only');
    } finally {
      await context.close();
    }
  });

  it('keeps a revoked session ended, with its reason, when a read of the session from before the revocation comes back after it', async () => {
    const api = client(app.url);
    const { member: rita, page, context, read } = await meWithHeldRead('Rita Revoked');
    try {
      expect(await revokeMember(api, owner.token, rita.member.id)).toBe(200);
      const reason = page.getByTestId('signed-out-reason');
      await reason.waitFor({ timeout: 5000 });

      // The read from before the revocation arrives now: it must not sign the tab back in (which
      // cleared the reason and reconnected, to be refused), whatever the page does next.
      read.release();
      await read.delivered;
      await settle(page, 500);
      expect(await reason.isVisible()).toBe(true);
      expect(await reason.innerText()).toContain('An admin removed your access');
      expect(new URL(page.url()).pathname).toBe('/me');
    } finally {
      await context.close();
    }
  });
});
