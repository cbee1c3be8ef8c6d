import type { WebhookEndpointDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WEBHOOK_CONFIG } from '../../apps/api/src/webhooks/webhooks.config.js';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';

/**
 * Numbers in a query that reach a database integer. PostgreSQL's `integer` stops at 2,147,483,647
 * and refuses a larger parameter (22003), where SQLite takes it: a cursor of 12 digits answered 500 on
 * PostgreSQL only (CI, stop 27). Every such number is checked against the column's range before the
 * query, so both databases answer the same 400 (or, for SCIM paging, the empty page RFC 7644 asks for).
 */
let app: TestApp;
let api: Client;
let owner: SignedUp;
let endpoint: WebhookEndpointDto;
let scimToken = '';

const PAST_INT4 = ['2147483648', '999999999999', '999999999999999'];

beforeAll(async () => {
  app = await startApp({ overrides: { webhooks: { ...DEFAULT_WEBHOOK_CONFIG, allowLocal: true, timeoutMs: 300 } } });
  api = client(app.url);
  owner = await createAccount(api, { plan: 'enterprise' });
  endpoint = (
    await api.post<WebhookEndpointDto>(
      '/webhooks',
      { url: 'http://127.0.0.1:9/x', enabled: false },
      { token: owner.token },
    )
  ).body;
  scimToken = (await api.post<{ token: string }>('/account/scim-token', undefined, { token: owner.token })).body.token;
});
afterAll(() => app.close());

describe('a number past the database integer in a query', () => {
  // Both seq cursors: the activity log's and an endpoint's deliveries'.
  const cursorRoutes = () => ['/activity', `/webhooks/${endpoint.id}/deliveries`];
  it.each(PAST_INT4)(
    'GET /activity and /webhooks/:id/deliveries with cursor=%s are refused as an invalid cursor',
    async (cursor) => {
      for (const path of cursorRoutes()) {
        const reply = await api.get(`${path}?cursor=${cursor}`, { token: owner.token });
        expect(reply.status, `${path}: ${JSON.stringify(reply.body)}`).toBe(400);
        expect(reply.body).toEqual({
          error: {
            code: 'VALIDATION_FAILED',
            message: expect.any(String),
            details: { fields: { cursor: ['Invalid cursor'] } },
          },
        });
      }
    },
  );

  it('GET /activity?cursor=2147483647 (the largest seq) still pages from the top', async () => {
    const reply = await api.get<{ items: unknown[] }>('/activity?cursor=2147483647', { token: owner.token });
    expect(reply.status).toBe(200);
    expect(reply.body.items.length).toBeGreaterThan(0);
  });

  it.each(['Users', 'Groups'])('SCIM /%s pages past any number of rows with an empty page', async (resource) => {
    for (const query of [
      'startIndex=1e300',
      'startIndex=Infinity',
      'startIndex=99999999999999999999',
      'count=1e300&startIndex=9e18',
    ]) {
      const response = await fetch(`${app.url}/scim/v2/${resource}?${query}`, {
        headers: { authorization: `Bearer ${scimToken}` },
      });
      const body = (await response.json()) as { Resources?: unknown[]; totalResults?: number };
      expect(response.status, `${query}: ${JSON.stringify(body)}`).toBe(200);
      expect(body.Resources ?? []).toEqual([]);
      expect(body.totalResults).toBeGreaterThan(0);
    }
  });
});
