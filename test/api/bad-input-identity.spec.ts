import fc from 'fast-check';
import type { WebhookEndpointDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityService } from '../../apps/api/src/activity/activity.service.js';
import { startApp, type TestApp } from './support/app.js';
import { query as sql } from './support/db.js';
import { createAccount, ifMatch, type SignedUp } from './support/factories.js';
import { client, isErrorShape, type Client } from './support/http.js';

/**
 * Property-based bad input on the routes of issue 16 (audit streaming, activity export; SCIM and
 * service accounts below): arbitrary JSON, valid bodies with one field broken, garbage ids, query
 * strings and If-Match headers. Always the spec's error shape (SCIM's under /scim/v2), never a 500;
 * afterwards the activity chain still verifies.
 */
let app: TestApp;
let api: Client;
let owner: SignedUp;
let webhook: WebhookEndpointDto;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
  owner = await createAccount(api, { plan: 'enterprise' });
  // A public address (no DNS needed), then pointed at TEST-NET-1 so nothing leaves the machine; paused.
  const created = await api.post<WebhookEndpointDto>('/webhooks', { url: 'https://93.184.215.14/fuzz', enabled: false }, { token: owner.token });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await sql(app, 'UPDATE webhook_endpoints SET url = ? WHERE id = ?', ['https://192.0.2.1/fuzz', created.body.id]);
  webhook = created.body;
});
afterAll(() => app.close());

const weird = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\u202e', '😀'.repeat(70), 'a'.repeat(5000), 'http://127.0.0.1/', 'https://169.254.169.254/latest', 'file:///etc/passwd', 'user.*', '*', '__proto__'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('user.*', '*', '..', 'role.updated')), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

function broken(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc.oneof(
    fc.record({ key: fc.constantFrom(...keys), value: weird }).map(({ key, value }) => ({ ...valid, [key]: value })),
    fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key))),
    fc.record({ key: fc.string({ minLength: 1, maxLength: 10 }), value: weird }).map(({ key, value }) => ({ ...valid, [key]: value })),
    fc.jsonValue({ maxDepth: 3 }),
  );
}

const segment = fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }).map(encodeURIComponent), fc.constantFrom('..', '%00', 'null', '-1', '1e309'));
const ifMatchHeader = fc.oneof(fc.constant(undefined), fc.constantFrom('"1"', '1', 'W/"1"', '*', '"abc"', '""', '"99999999999"'), fc.string({ maxLength: 12 }));
const queryString = (valid: string[]) =>
  fc.oneof(
    fc.constant(''),
    fc.constantFrom(...valid),
    fc.string({ maxLength: 30 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
    fc.record({ key: fc.constantFrom('format', 'actor', 'member', 'action', 'from', 'to', 'cursor', 'limit', 'filter', 'startIndex', 'count'), value: fc.string({ maxLength: 30 }) }).map(
      ({ key, value }) => `?${key}=${encodeURIComponent(value)}`,
    ),
  );

interface RouteCase {
  method: string;
  path: () => fc.Arbitrary<string>;
  body: fc.Arbitrary<unknown>;
  ifMatch?: boolean;
}

const noBody = fc.constant(undefined);

/** Routes of issue 16, by `METHOD /path` as the route table names them. */
const ROUTES: Record<string, RouteCase> = {
  'GET /webhooks': { method: 'GET', path: () => queryString(['?x=1']).map((q) => `/webhooks${q}`), body: noBody },
  'POST /webhooks': {
    method: 'POST',
    path: () => fc.constant('/webhooks'),
    body: broken({ url: 'https://192.0.2.1/hook', events: ['user.*'], description: 'SIEM', enabled: false }),
  },
  'GET /webhooks/:id': { method: 'GET', path: () => segment.map((id) => `/webhooks/${id}`), body: noBody },
  'PATCH /webhooks/:id': {
    method: 'PATCH',
    path: () => fc.oneof(segment, fc.constant(webhook.id)).map((id) => `/webhooks/${id}`),
    body: broken({ url: 'https://192.0.2.1/other', events: null, description: 'd', enabled: false }),
    ifMatch: true,
  },
  'DELETE /webhooks/:id': { method: 'DELETE', path: () => segment.map((id) => `/webhooks/${id}`), body: noBody, ifMatch: true },
  'POST /webhooks/:id/rotate-secret': {
    method: 'POST',
    path: () => fc.oneof(segment, fc.constant(webhook.id)).map((id) => `/webhooks/${id}/rotate-secret`),
    body: fc.jsonValue({ maxDepth: 2 }),
    ifMatch: true,
  },
  'POST /webhooks/:id/retry': { method: 'POST', path: () => fc.oneof(segment, fc.constant(webhook.id)).map((id) => `/webhooks/${id}/retry`), body: fc.jsonValue({ maxDepth: 2 }) },
  'GET /webhooks/:id/deliveries': {
    method: 'GET',
    path: () =>
      fc.tuple(fc.oneof(segment, fc.constant(webhook.id)), queryString(['?limit=0', '?limit=201', '?cursor=abc', '?cursor=99999999999999999999', '?limit=2&cursor=1'])).map(
        ([id, q]) => `/webhooks/${id}/deliveries${q}`,
      ),
    body: noBody,
  },
  'GET /activity/export': {
    method: 'GET',
    path: () =>
      queryString(['?format=xml', '?format=csv&from=yesterday', '?to=2026-13-45', '?action=user.revoked&action=', '?actor=not-a-uuid', '?format=ndjson&format=csv']).map(
        (q) => `/activity/export${q}`,
      ),
    body: noBody,
  },
};

describe('bad input on the identity and audit routes (issue 16)', () => {
  for (const [name, route] of Object.entries(ROUTES)) {
    it(`${name}: always the error shape, never a 500`, async () => {
      await fc.assert(
        fc.asyncProperty(route.path(), route.body, ifMatchHeader, async (path, body, etag) => {
          const headers = route.ifMatch && etag !== undefined ? { 'if-match': etag } : undefined;
          const reply = await api.request(route.method, path, body, { token: owner.token, ...(headers ? { headers } : {}) });
          expect(reply.status, `${route.method} ${path} → ${reply.status} ${JSON.stringify(reply.body)?.slice(0, 200)}`).toBeLessThan(500);
          if (reply.status >= 400) expect(isErrorShape(reply.body), JSON.stringify(reply.body)).toBe(true);
        }),
        { numRuns: 40 },
      );
    });
  }

  it('leaves the webhook it was given usable and the activity chain intact', async () => {
    const current = await api.get<WebhookEndpointDto>(`/webhooks/${webhook.id}`, { token: owner.token });
    if (current.status === 200) {
      const patched = await api.patch(`/webhooks/${webhook.id}`, { description: 'still here' }, { token: owner.token, headers: ifMatch(current.body.version) });
      expect(patched.status).toBe(200);
    } else {
      // The fuzzer may have deleted it with a matching If-Match: then it is gone cleanly.
      expect(current.status).toBe(404);
    }
    const result = await app.app.get(ActivityService).verify(owner.account.id);
    expect(result.ok).toBe(true);
    expect(result.checked).toBeGreaterThan(0);
  });
});
