/**
 * Property-based bad input for the audit-streaming routes (issue 16 §4), in the style of
 * bad-input.spec.ts: arbitrary JSON, valid bodies with one field broken, arbitrary path segments and
 * query strings. Always the error shape, never a 500, and the activity chain still verifies.
 */
import type { WebhookEndpointDto } from '@rolecall/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityService } from '../../apps/api/src/database/activity.service.js';
import { DEFAULT_WEBHOOK_CONFIG } from '../../apps/api/src/webhooks/webhooks.config.js';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, type SignedUp } from './support/factories.js';
import { client, isErrorShape, type Client } from './support/http.js';

let app: TestApp;
let api: Client;
let owner: SignedUp;
let endpoint: WebhookEndpointDto;

// Loopback allowed, and the valid URL is the discard port of this machine: a fuzzed endpoint that
// gets created is refused at once by the kernel, nothing leaves the machine and no DNS is asked.
const URL_OK = 'http://127.0.0.1:9/fuzz';

beforeAll(async () => {
  app = await startApp({ overrides: { webhooks: { ...DEFAULT_WEBHOOK_CONFIG, allowLocal: true, timeoutMs: 300 } } });
  api = client(app.url);
  owner = await createAccount(api, { plan: 'business' });
  const created = await api.post<WebhookEndpointDto>(
    '/webhooks',
    { url: URL_OK, enabled: false },
    { token: owner.token },
  );
  expect(created.status).toBe(201);
  endpoint = created.body;
});
afterAll(() => app.close());

const weird = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\u202e',
    '😀'.repeat(60),
    'a'.repeat(5000),
    '<script>',
    'file:///etc/passwd',
    'gopher://127.0.0.1:25/',
    '*',
    'user.*.*',
    '__proto__',
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 12 }), { maxLength: 60 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

function broken(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc.oneof(
    fc.record({ key: fc.constantFrom(...keys), value: weird }).map(({ key, value }) => ({ ...valid, [key]: value })),
    fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key))),
    fc
      .record({ key: fc.string({ minLength: 1, maxLength: 10 }), value: weird })
      .map(({ key, value }) => ({ ...valid, [key]: value })),
    fc.jsonValue({ maxDepth: 3 }),
  );
}

const segment = fc.oneof(
  fc.uuid(),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('..', '%00', 'null', '-1'),
);
const queryString = fc
  .array(
    fc.tuple(
      fc.constantFrom('format', 'action', 'actor', 'member', 'from', 'to', 'cursor', 'limit', 'x'),
      fc.string({ maxLength: 30 }),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => new URLSearchParams(pairs).toString());
const ifMatchHeader = fc.oneof(
  fc.constant(() => `"${endpoint.version}"`),
  fc.string({ maxLength: 12 }).map((value) => () => value),
);

interface Case {
  method: string;
  path: fc.Arbitrary<string>;
  body: fc.Arbitrary<unknown>;
  ifMatch?: boolean;
}

const CASES: Record<string, Case> = {
  'POST /webhooks': {
    method: 'POST',
    path: fc.constant('/webhooks'),
    body: broken({ url: URL_OK, events: ['user.*'], description: 'SIEM', enabled: false }),
  },
  'PATCH /webhooks/:id': {
    method: 'PATCH',
    path: fc.constant(null).map(() => `/webhooks/${endpoint.id}`),
    body: broken({ url: URL_OK, events: ['role.updated'], description: 'x', enabled: false }),
    ifMatch: true,
  },
  'GET /webhooks/:id': { method: 'GET', path: segment.map((id) => `/webhooks/${id}`), body: fc.constant(undefined) },
  'DELETE /webhooks/:id': {
    method: 'DELETE',
    path: segment.map((id) => `/webhooks/${id}`),
    body: fc.constant(undefined),
    ifMatch: true,
  },
  'POST /webhooks/:id/rotate-secret': {
    method: 'POST',
    path: segment.map((id) => `/webhooks/${id}/rotate-secret`),
    body: fc.jsonValue({ maxDepth: 2 }),
    ifMatch: true,
  },
  'POST /webhooks/:id/retry': {
    method: 'POST',
    path: segment.map((id) => `/webhooks/${id}/retry`),
    body: fc.jsonValue({ maxDepth: 2 }),
  },
  'GET /webhooks/:id/deliveries': {
    method: 'GET',
    path: fc
      .tuple(fc.oneof(fc.constant(''), segment), queryString)
      .map(([id, query]) => `/webhooks/${id || '__ENDPOINT__'}/deliveries?${query}`),
    body: fc.constant(undefined),
  },
  'GET /activity/export': {
    method: 'GET',
    path: queryString.map((query) => `/activity/export?${query}`),
    body: fc.constant(undefined),
  },
};

describe('audit streaming: bad input', () => {
  for (const [name, route] of Object.entries(CASES)) {
    it(`${name}: always the error shape, never a 500`, async () => {
      await fc.assert(
        fc.asyncProperty(route.path, route.body, ifMatchHeader, async (rawPath, body, ifMatch) => {
          const path = rawPath.replace('__ENDPOINT__', endpoint.id);
          const headers = route.ifMatch ? { 'if-match': ifMatch() } : undefined;
          const reply = await api.request(route.method, path, body, {
            token: owner.token,
            ...(headers ? { headers } : {}),
          });
          expect(reply.status).toBeLessThan(500);
          if (reply.status >= 400) expect(isErrorShape(reply.body)).toBe(true);
          // A PATCH that went through moved the version: keep the next valid If-Match valid.
          if (reply.status === 200 && route.method === 'PATCH') endpoint = reply.body as WebhookEndpointDto;
        }),
        { numRuns: 60 },
      );
    });
  }

  it('leaves the activity chain intact', async () => {
    const result = await app.app.get(ActivityService).verify(owner.account.id);
    expect(result).toMatchObject({ ok: true, firstBadSeq: null });
    expect(result.checked).toBeGreaterThan(1);
  });
});
