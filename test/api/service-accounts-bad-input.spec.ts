/**
 * Property-based bad input for the service-account routes (issue 16 §3), in the style of
 * bad-input.spec.ts: arbitrary JSON, valid bodies with one field broken, arbitrary path segments,
 * If-Match headers and bearer tokens that look like API keys. Always the error shape, never a 500,
 * a bearer that is not a live key is always 401, and the activity chain still verifies.
 */
import {
  EDITOR_ROLE_ID,
  READONLY_ROLE_ID,
  type ApiKeyWithSecretDto,
  type ServiceAccountDto,
} from '@rolecall/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityService } from '../../apps/api/src/database/activity.service.js';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, type SignedUp } from './support/factories.js';
import { client, isErrorShape, type Client } from './support/http.js';

let app: TestApp;
let api: Client;
let owner: SignedUp;
let target: ServiceAccountDto;
let key: ApiKeyWithSecretDto;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
  owner = await createAccount(api, { plan: 'business' });
  const created = await api.post<ServiceAccountDto>(
    '/service-accounts',
    { name: 'Fuzz target', roleId: READONLY_ROLE_ID },
    { token: owner.token },
  );
  expect(created.status).toBe(201);
  target = created.body;
  const issued = await api.post<ApiKeyWithSecretDto>(`/service-accounts/${target.id}/keys`, {}, { token: owner.token });
  expect(issued.status).toBe(201);
  key = issued.body;
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
    '__proto__',
    '2001-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '2030-02-30T00:00:00Z',
    'tomorrow',
    '00000000-0000-4000-8000-000000000000',
    'owner',
  ),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 12 }), { maxLength: 20 }),
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
  fc.constantFrom('..', '%00', 'null', '-1', 'self', '__TARGET__', '__KEY__'),
);
const ifMatchHeader = fc.oneof(
  fc.constant(() => `"${target.version}"`),
  fc.string({ maxLength: 12 }).map((value) => () => value),
);

interface Case {
  method: string;
  path: fc.Arbitrary<string>;
  body: fc.Arbitrary<unknown>;
  ifMatch?: boolean;
}

const CASES: Record<string, Case> = {
  'POST /service-accounts': {
    method: 'POST',
    path: fc.constant('/service-accounts'),
    body: broken({ name: 'Deploy bot', roleId: EDITOR_ROLE_ID }),
  },
  'GET /service-accounts/:id': {
    method: 'GET',
    path: segment.map((id) => `/service-accounts/${id}`),
    body: fc.constant(undefined),
  },
  'PATCH /service-accounts/:id': {
    method: 'PATCH',
    path: fc.oneof(
      fc.constant('/service-accounts/__TARGET__'),
      segment.map((id) => `/service-accounts/${id}`),
    ),
    body: broken({ name: 'Renamed bot', roleId: READONLY_ROLE_ID }),
    ifMatch: true,
  },
  'DELETE /service-accounts/:id': {
    method: 'DELETE',
    // Never the target itself: the other cases need it.
    path: segment.filter((id) => id !== '__TARGET__').map((id) => `/service-accounts/${id}`),
    body: fc.jsonValue({ maxDepth: 2 }),
  },
  'POST /service-accounts/:id/keys': {
    method: 'POST',
    path: fc.oneof(
      fc.constant('/service-accounts/__TARGET__/keys'),
      segment.map((id) => `/service-accounts/${id}/keys`),
    ),
    body: broken({ expiresAt: '2031-01-01T00:00:00.000Z' }),
  },
  'DELETE /service-accounts/:id/keys/:keyId': {
    method: 'DELETE',
    path: fc
      .tuple(
        fc.oneof(fc.constant('__TARGET__'), segment),
        // Not the key, and not `.`/`..`: fetch resolves `<target>/keys/..` to `<target>`, a DELETE of the target.
        segment.filter((id) => id !== '__KEY__' && id !== '.' && id !== '..'),
      )
      .map(([id, keyId]) => `/service-accounts/${id}/keys/${keyId}`),
    body: fc.constant(undefined),
  },
};

const substitute = (path: string) => path.replaceAll('__TARGET__', target.id).replaceAll('__KEY__', key.id);

describe('service accounts: bad input', () => {
  for (const [name, route] of Object.entries(CASES)) {
    it(`${name}: always the error shape, never a 500`, async () => {
      await fc.assert(
        fc.asyncProperty(route.path, route.body, ifMatchHeader, async (rawPath, body, ifMatch) => {
          const headers = route.ifMatch ? { 'if-match': ifMatch() } : undefined;
          const reply = await api.request(route.method, substitute(rawPath), body, {
            token: owner.token,
            ...(headers ? { headers } : {}),
          });
          expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(500);
          if (reply.status >= 400) expect(isErrorShape(reply.body)).toBe(true);
          // A PATCH that went through moved the version: keep the next valid If-Match valid.
          if (reply.status === 200 && route.method === 'PATCH' && (reply.body as ServiceAccountDto).id === target.id) {
            target = reply.body as ServiceAccountDto;
          }
        }),
        { numRuns: 50 },
      );
    });
  }

  it('a bearer that is not a live key is 401 with the error shape, never a 500', async () => {
    const printable = fc.string({
      unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 80,
    });
    const bearer = fc.oneof(
      printable.map((rest) => `rck_${rest}`),
      fc.constantFrom(key.key.slice(0, -1), `${key.key}x`, key.key.toUpperCase(), key.prefix, `rck_${'A'.repeat(43)}`),
    );
    await fc.assert(
      fc.asyncProperty(
        bearer,
        fc.constantFrom('/users', '/account', '/service-accounts/self', '/me'),
        async (token, path) => {
          const reply = await api.get(path, { token });
          expect(reply.status, token).toBe(401);
          expect(isErrorShape(reply.body)).toBe(true);
        },
      ),
      { numRuns: 80 },
    );
    // The real key still works after all that.
    const after = await api.get('/service-accounts/self', { token: key.key });
    expect(after.status, JSON.stringify(after.body)).toBe(200);
  });

  it('leaves the activity chain intact', async () => {
    const result = await app.app.get(ActivityService).verify(owner.account.id);
    expect(result).toMatchObject({ ok: true, firstBadSeq: null });
    expect(result.checked).toBeGreaterThan(1);
  });
});
