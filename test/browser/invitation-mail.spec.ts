import type { Browser } from 'playwright-core';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, invite, PASSWORD, uniqueEmail } from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

/**
 * The member profile says how the invitation email went (issue 14 §3, the mail outbox). The mail
 * server here takes connections and closes them at once, so every attempt fails for real; retries
 * are an hour apart (MAIL_RETRY_BASE_MS, read when the app starts) so the page shows one failure.
 */
let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;
let smtp: Server;

describe.skipIf(!browserReady)('invitation email status on the member profile', () => {
  beforeAll(async () => {
    smtp = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.address() as { port: number }).port;
    process.env['MAIL_RETRY_BASE_MS'] = String(60 * 60 * 1000);
    ({ app, browser, close } = await startProduct({ overrides: { smtpUrl: `smtp://127.0.0.1:${port}` } }));
    delete process.env['MAIL_RETRY_BASE_MS'];
  }, 60_000);
  afterAll(async () => {
    await close?.();
    await new Promise<void>((resolve) => smtp?.close(() => resolve()));
  });

  it('shows "not sent yet — retrying" with the error while the mail server fails', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { accountName: 'Bouncy', plan: 'business' });
    const email = uniqueEmail('unsent');
    const invited = await invite(api, owner, [email]);
    expect(invited.status).toBe(201);
    const { page, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    await page.goto(`${app.url}/users/${invited.body.items[0]!.id}`);
    const status = page.getByTestId('invitation-mail');
    await status.waitFor();
    expect(await status.getAttribute('data-status')).toBe('pending');
    const text = await status.innerText();
    expect(text).toMatch(/^Not sent yet — retrying in (60 minutes|1 hour) \(attempt 1 failed: \S/);
    await keepScreenshot(page, 'member-invitation-mail-retrying');
    expect(errors).toEqual([]);
  }, 30_000);
});
