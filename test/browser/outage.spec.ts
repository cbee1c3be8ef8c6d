import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, PASSWORD } from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

/**
 * What a person sees while the API cannot reach its database (issue 14 §3). The API's side (503
 * UNAVAILABLE with Retry-After while the database is cut) is proven by the API specs; here the
 * browser's requests to /api are answered 503 UNAVAILABLE by Playwright while the test says so.
 */
let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;

const BANNER = 'Rolecall can’t reach its database — retrying';

/** Answers every API call 503 UNAVAILABLE (Retry-After: 1) while `down`; counts what was answered so. */
async function faultyApi(
  page: Page,
): Promise<{ down: boolean; refused: { method: string; path: string; at: number }[] }> {
  const state = { down: false, refused: [] as { method: string; path: string; at: number }[] };
  await page.route('**/api/v1/**', async (route: Route) => {
    if (!state.down) return route.continue();
    const request = route.request();
    state.refused.push({ method: request.method(), path: new URL(request.url()).pathname, at: Date.now() });
    await route.fulfill({
      status: 503,
      headers: { 'content-type': 'application/json', 'retry-after': '1' },
      body: JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'The database is unreachable' } }),
    });
  });
  return state;
}

describe.skipIf(!browserReady)('database outage in the dashboard (Chromium)', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
  }, 60_000);
  afterAll(() => close?.());

  it('shows the banner while the API answers 503 UNAVAILABLE, retries with back-off, and fills the page in without a reload once it is back', async () => {
    const owner = await createAccount(client(app.url), { name: 'Olive Owner' });
    const { page, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    const api = await faultyApi(page);

    api.down = true;
    await page.goto(`${app.url}/users`);
    const banner = page.getByRole('status').filter({ hasText: BANNER });
    await banner.waitFor({ timeout: 5000 });
    // A mark on this document: a reload would lose it.
    await page.evaluate(() => ((window as unknown as { outageMark: string }).outageMark = 'same page'));
    await page.waitForTimeout(3500);
    await keepScreenshot(page, 'outage-banner');
    const gets = api.refused.filter((call) => call.method === 'GET');
    // Retried (the page is still waiting for its data), but not hammered: Retry-After 1 s and back-off.
    expect(gets.length).toBeGreaterThanOrEqual(3);
    expect(gets.length).toBeLessThanOrEqual(12);
    expect(await page.getByRole('cell', { name: 'Olive Owner' }).count()).toBe(0);

    api.down = false;
    await page.getByRole('cell', { name: 'Olive Owner' }).first().waitFor({ timeout: 20_000 });
    await banner.waitFor({ state: 'detached', timeout: 5000 });
    expect(await page.evaluate(() => (window as unknown as { outageMark?: string }).outageMark)).toBe('same page');
    await keepScreenshot(page, 'outage-recovered');
    expect(errors).toEqual([]);
  }, 60_000);

  it('does not send a write again by itself: the form keeps what was typed and says nothing was changed', async () => {
    const owner = await createAccount(client(app.url), { name: 'Wanda Writer' });
    const { page, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    await page.goto(`${app.url}/me`);
    const api = await faultyApi(page);
    await page.getByRole('button', { name: 'Edit your name' }).click();
    const name = page.locator('#profile-name');
    await name.fill('Wanda Renamed');

    api.down = true;
    await page.locator('#profile-name').press('Enter');
    await page.getByText('nothing was changed').waitFor({ timeout: 5000 });
    await page.getByRole('status').filter({ hasText: BANNER }).waitFor({ timeout: 5000 });
    await page.waitForTimeout(2500);
    await keepScreenshot(page, 'outage-write');
    const writes = api.refused.filter((call) => call.method !== 'GET');
    expect(writes).toEqual([{ method: 'PATCH', path: '/api/v1/me', at: expect.any(Number) }]);
    expect(await name.inputValue()).toBe('Wanda Renamed');

    // Back: the banner goes by itself (it probes /health), and sending again saves.
    api.down = false;
    await page.getByRole('status').filter({ hasText: BANNER }).waitFor({ state: 'detached', timeout: 20_000 });
    await name.press('Enter');
    await expect
      .poll(
        async () =>
          (await client(app.url).get<{ person: { name: string } }>('/me', { token: owner.token })).body.person.name,
      )
      .toBe('Wanda Renamed');
    expect(errors).toEqual([]);
  }, 60_000);
});
