import fc from 'fast-check';
import type { RoleDto, RoleListDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, ifMatch, ROLE, type SignedUp } from './support/factories.js';
import { client, isErrorShape, type Client } from './support/http.js';

/**
 * Property-based bad input on every role route: arbitrary JSON, valid bodies with one field
 * broken, garbage ids, query strings and If-Match headers. Always the error shape, never a 500;
 * afterwards the roles are intact and the activity chain verifies.
 */
let app: TestApp;
let api: Client;
let owner: SignedUp;
let role: RoleDto;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
  owner = await createAccount(api, { plan: 'business' });
  role = (await api.post<RoleDto>('/roles', { name: 'Target', description: 'x', icon: 'star', permissions: ['reports.view'] }, { token: owner.token })).body;
});
afterAll(() => app.close());

const weird = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\u202e', '😀'.repeat(70), 'a'.repeat(3000), 'users.manage', 'people.*', '__proto__', 'constructor'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('users.manage', 'talk.reply', 'people.fly')), { maxLength: 5 }),
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

const segment = fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }).map(encodeURIComponent), fc.constantFrom('order', '..', '%00', ROLE.admin));
const ifMatchHeader = fc.oneof(fc.constant(undefined), fc.constantFrom('"1"', '1', 'W/"1"', '*', '"abc"', '""', '"99999999999"'), fc.string({ maxLength: 12 }));
const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?dryRun=true', '?dryRun=maybe', '?reassignTo=nope', `?reassignTo=${ROLE.readonly}&dryRun=true`, '?dryRun=true&dryRun=false', '?extra=1'),
  fc.string({ maxLength: 20 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
);

const validRole = { name: 'Fuzzed', description: 'd', icon: 'bolt', permissions: ['people.view'] };

interface RouteCase {
  method: string;
  path: () => fc.Arbitrary<string>;
  body: fc.Arbitrary<unknown>;
}

const CASES: Record<string, RouteCase> = {
  'GET /permissions': { method: 'GET', path: () => query.map((q) => `/permissions${q}`), body: fc.constant(undefined) },
  'GET /roles': { method: 'GET', path: () => query.map((q) => `/roles${q}`), body: fc.constant(undefined) },
  'GET /roles/:id': { method: 'GET', path: () => segment.map((id) => `/roles/${id}`), body: fc.constant(undefined) },
  'POST /roles': { method: 'POST', path: () => fc.constant('/roles'), body: broken(validRole) },
  'PATCH /roles/:id': { method: 'PATCH', path: () => fc.tuple(fc.oneof(segment, fc.constant(role.id)), query).map(([id, q]) => `/roles/${id}${q}`), body: broken(validRole) },
  'DELETE /roles/:id': { method: 'DELETE', path: () => fc.tuple(fc.oneof(segment, fc.constant(role.id)), query).map(([id, q]) => `/roles/${id}${q}`), body: fc.constant(undefined) },
  // Issue 17 §4–5: the preview (logs an entry) and the duplicate (the plan's limit is soon reached: 403, never 500).
  'POST /roles/:id/preview': { method: 'POST', path: () => fc.tuple(fc.oneof(segment, fc.constant(role.id)), query).map(([id, q]) => `/roles/${id}/preview${q}`), body: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 })) },
  'POST /roles/:id/duplicate': { method: 'POST', path: () => fc.tuple(fc.oneof(segment, fc.constant(role.id)), query).map(([id, q]) => `/roles/${id}/duplicate${q}`), body: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 })) },
  'PUT /roles/order': { method: 'PUT', path: () => fc.constant('/roles/order'), body: broken({ roleIds: [ROLE.admin] }) },
};

describe('bad input on role routes', () => {
  for (const [name, route] of Object.entries(CASES)) {
    it(`${name}: always the error shape, never a 500`, async () => {
      await fc.assert(
        fc.asyncProperty(route.path(), route.body, ifMatchHeader, async (path, body, header) => {
          const reply = await api.request(route.method, path, body, { token: owner.token, headers: header === undefined ? {} : { 'if-match': header } });
          expect(reply.status).toBeLessThan(500);
          if (reply.status >= 400) expect(isErrorShape(reply.body)).toBe(true);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('leaves the system roles and the chain intact', async () => {
    const list = await api.get<RoleListDto>('/roles', { token: owner.token });
    expect(list.body.items.slice(0, 3).map((r) => r.name)).toEqual(['Admin', 'Editor', 'Read only']);
    expect((await api.get<{ ok: boolean }>('/activity/verify', { token: owner.token })).body.ok).toBe(true);
    const current = (await api.get<RoleDto>(`/roles/${role.id}`, { token: owner.token }));
    if (current.status === 200) expect(current.body.permissions.every((k) => !k.endsWith('.manage') || k === 'talk.manage')).toBe(true);
    expect((await api.patch(`/roles/${ROLE.admin}`, { name: 'x' }, { token: owner.token, headers: ifMatch(1) })).status).toBe(409);
  });
});
