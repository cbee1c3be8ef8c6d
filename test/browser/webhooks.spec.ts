/**
 * Audit streaming in Chromium (issue 16 §4): an admin adds a webhook endpoint on the Account page, its
 * secret is shown once (and is the one deliveries are signed with), the delivery log shows a failing
 * receiver, retry now delivers once it recovers, an endpoint disabled after a day of failures says so
 * and can be enabled again; the Activity page exports the current filter as NDJSON that verifies.
 * Screenshot: docs/webhooks.png.
 */
import type { WebhookPayload } from '@rolecall/contracts';
import { createReadStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WEBHOOK_CONFIG } from '../../apps/api/src/webhooks/webhooks.config.js';
import { verifyExport } from '../../tools/verify-export/verify.js';
import type { TestApp } from '../api/support/app.js';
import { query } from '../api/support/db.js';
import { createAccount, type SignedUp } from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

const DOCS = resolve(import.meta.dirname, '../../docs');

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;
let owner: SignedUp;
let receiver: Server;
let receiverUrl = '';
let failing = true;
const received: { body: string; headers: Record<string, string>; ok: boolean }[] = [];

describe.skipIf(!browserReady)('audit streaming in Chromium', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct({
      overrides: {
        webhooks: {
          ...DEFAULT_WEBHOOK_CONFIG,
          allowLocal: true,
          retryBaseMs: 60_000,
          retryMaxMs: 60_000,
          timeoutMs: 500,
          pollMs: 100,
        },
      },
    }));
    owner = await createAccount(client(app.url), {
      plan: 'business',
      name: 'Olive Owner',
      accountName: 'Acme Streaming',
    });
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
        received.push({ body: Buffer.concat(chunks).toString('utf8'), headers, ok: !failing });
        response.writeHead(failing ? 500 : 204).end();
      });
    });
    await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/siem`;
  }, 60_000);

  afterAll(async () => {
    receiver?.closeAllConnections();
    await new Promise((done) => receiver?.close(done));
    await close?.();
  });

  it('adds an endpoint, shows its secret once, shows failures, retries now, and notices a disabled endpoint', async () => {
    const { context, page, errors } = await newPage(browser);
    try {
      await signIn(page, app.url, owner.email, owner.password);
      await page.goto(`${app.url}/account`);
      const card = page.getByTestId('webhooks');
      await card.getByLabel('Endpoint URL').fill(receiverUrl);
      await card.getByLabel(/^Description/).fill('Splunk HEC (staging)');
      await card.getByRole('button', { name: 'Add endpoint' }).click();
      const secretBox = card.getByTestId('webhook-secret');
      const secret = (await secretBox.locator('code').textContent())!.trim();
      expect(secret).toMatch(/^whsec_/);

      // The receiver answers 500: the first delivery (the endpoint's own webhook.created) fails.
      await expect.poll(() => received.length, { timeout: 10_000 }).toBeGreaterThan(0);
      // The secret on screen is the one the delivery was signed with.
      expect(() => new Webhook(secret).verify(received[0]!.body, received[0]!.headers)).not.toThrow();
      await card.getByRole('button', { name: 'I’ve stored it' }).click();
      await expect.poll(() => secretBox.count()).toBe(0);
      await page.reload();
      const endpoint = card.getByTestId('webhook-endpoint').first();
      await expect
        .poll(() => endpoint.getByTestId('webhook-status').textContent(), { timeout: 10_000 })
        .toBe('Failing');
      await endpoint.getByRole('button', { name: 'Deliveries' }).click();
      await expect.poll(() => endpoint.getByTestId('webhook-deliveries').textContent()).toContain('HTTP 500');

      // The receiver recovers; the back-off is a minute long, so only "Retry now" delivers now.
      failing = false;
      await endpoint.getByRole('button', { name: 'Retry now' }).click();
      await expect.poll(() => received.some((r) => r.ok), { timeout: 10_000 }).toBe(true);
      await expect.poll(() => endpoint.getByTestId('webhook-status').textContent(), { timeout: 10_000 }).toBe('Active');
      const delivered = JSON.parse(received.find((r) => r.ok)!.body) as WebhookPayload;
      expect(delivered.type).toBe('webhook.created');

      // A second endpoint that failed for a day (its state written as the worker leaves it).
      failing = true;
      const second = await client(app.url).post<{ id: string }>(
        '/webhooks',
        { url: `${receiverUrl}/old`, description: 'Old collector', enabled: false },
        { token: owner.token },
      );
      expect(second.status).toBe(201);
      await query(
        app,
        "UPDATE webhook_endpoints SET disabled_reason = 'failures', last_error = 'HTTP 503', failing_since = ? WHERE id = ?",
        [new Date(Date.now() - 25 * 3600_000).toISOString(), second.body.id],
      );
      await page.reload();
      const notice = card.getByTestId('webhook-disabled-notice');
      await expect
        .poll(() => notice.textContent())
        .toMatch(/after a day of failed deliveries \(last error: HTTP 503\)\. Nothing was skipped/);
      await endpoint.getByRole('button', { name: 'Deliveries' }).click();
      await card.scrollIntoViewIfNeeded();
      mkdirSync(DOCS, { recursive: true });
      await card.screenshot({ path: resolve(DOCS, 'webhooks.png') });
      await keepScreenshot(page, 'webhooks');

      const disabled = card.getByTestId('webhook-endpoint').filter({ hasText: 'Old collector' });
      await disabled.getByRole('button', { name: 'Enable' }).click();
      await expect
        .poll(() => disabled.getByTestId('webhook-status').textContent(), { timeout: 10_000 })
        .not.toBe('Disabled');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('exports the activity of the current filter as NDJSON that verifies offline', async () => {
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, app.url, owner.email, owner.password);
      await page.goto(`${app.url}/activity`);
      const link = page.getByTestId('export-ndjson');
      expect(await link.getAttribute('href')).toBe('/api/v1/activity/export?format=ndjson');
      await page.getByLabel('Action').selectOption('session.signed_in');
      await expect
        .poll(() => link.getAttribute('href'))
        .toBe('/api/v1/activity/export?format=ndjson&action=session.signed_in');
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      expect(download.suggestedFilename()).toMatch(/^activity-\d{4}-\d{2}-\d{2}\.ndjson$/);
      const path = await download.path();
      const lines = readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { action: string });
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(new Set(lines.map((l) => l.action))).toEqual(new Set(['session.signed_in']));
      const result = await verifyExport(createReadStream(path));
      expect(result).toMatchObject({ ok: true, count: lines.length, fromStart: false });
    } finally {
      await context.close();
    }
  });
});
