import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityService } from '../../apps/api/src/database/activity.service.js';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, inviteAndAccept, ROLE, type SignedUp } from './support/factories.js';
import { client } from './support/http.js';

/**
 * Property-based bad input on SCIM 2.0 (issue 16 §2), as a careless or hostile identity provider
 * could send it: arbitrary JSON, valid users and PATCH operations with one part broken, garbage
 * filters, ids and If-Match values. Always SCIM's error format, never a 500; afterwards the owner is
 * still there and the activity chain verifies.
 */
let app: TestApp;
let owner: SignedUp;
let token = '';
let memberId = '';

beforeAll(async () => {
  app = await startApp({ rateLimits: { signInPerIp: 100_000, signInPerEmail: 100_000, acceptancePerIp: 100_000 } });
  const api = client(app.url);
  owner = await createAccount(api, { plan: 'enterprise' });
  token = (await api.post<{ token: string }>('/account/scim-token', undefined, { token: owner.token })).body.token;
  memberId = (await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor })).member.id;
});
afterAll(() => app.close());

async function scim(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${app.url}/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

const weird = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\u202e',
    '😀'.repeat(70),
    'a'.repeat(5000),
    'False',
    'True',
    'Replace',
    'members[value eq "x"]',
    '__proto__',
    'constructor',
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.record({ value: fc.string({ maxLength: 40 }) })), {
    maxLength: 4,
  }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

function broken(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc.oneof(
    fc.record({ key: fc.constantFrom(...keys), value: weird }).map(({ key, value }) => ({ ...valid, [key]: value })),
    fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key))),
    fc.jsonValue({ maxDepth: 3 }),
  );
}

const operation = fc.oneof(
  broken({ op: 'replace', path: 'active', value: false }),
  broken({ op: 'Replace', value: { active: 'False', externalId: 'x' } }),
  broken({ op: 'add', path: 'members', value: [{ value: '00000000-0000-4000-8000-000000000009' }] }),
  broken({ op: 'remove', path: 'members[value eq "nope"]' }),
  broken({ op: 'replace', path: 'name.givenName', value: 'Pat' }),
);
const patchBody = fc.oneof(
  fc.record({
    schemas: fc.constant(['urn:ietf:params:scim:api:messages:2.0:PatchOp']),
    Operations: fc.array(operation, { maxLength: 4 }),
  }),
  fc.jsonValue({ maxDepth: 3 }),
);
const userBody = broken({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName: 'fuzz@example.com',
  name: { givenName: 'F', familyName: 'Z' },
  emails: [{ value: 'fuzz@example.com', type: 'work' }],
  active: true,
  externalId: 'ext',
});
const id = () =>
  fc.oneof(
    fc.uuid(),
    fc.constant(memberId),
    fc.string({ maxLength: 40 }).map(encodeURIComponent),
    fc.constantFrom('..', '%00', ROLE.admin, ROLE.readonly),
  );
const etag = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('W/"1"', '"1"', '*', 'W/"x"', '""'),
  fc.string({ maxLength: 12 }),
);
const filter = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.constantFrom(
    'userName eq',
    'userName eq "a@b.c" or x',
    'emails[type eq "work" and value co "x"]',
    'name.familyName sw "A"',
    '((',
    'userName eq "\\"',
    'id eq 5',
    'displayName eq "Admin"',
  ),
);

interface Case {
  method: string;
  path: () => fc.Arbitrary<string>;
  body: fc.Arbitrary<unknown>;
}

const CASES: Record<string, Case> = {
  'GET /Users?filter': {
    method: 'GET',
    path: () =>
      fc
        .tuple(filter, fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }))
        .map(
          ([f, s, c]) =>
            `/Users?filter=${encodeURIComponent(f)}&startIndex=${encodeURIComponent(s)}&count=${encodeURIComponent(c)}`,
        ),
    body: fc.constant(undefined),
  },
  'POST /Users': { method: 'POST', path: () => fc.constant('/Users'), body: userBody },
  'PUT /Users/:id': { method: 'PUT', path: () => id().map((i) => `/Users/${i}`), body: userBody },
  'PATCH /Users/:id': { method: 'PATCH', path: () => id().map((i) => `/Users/${i}`), body: patchBody },
  'GET /Groups?filter': {
    method: 'GET',
    path: () => filter.map((f) => `/Groups?filter=${encodeURIComponent(f)}`),
    body: fc.constant(undefined),
  },
  'PATCH /Groups/:id': { method: 'PATCH', path: () => id().map((i) => `/Groups/${i}`), body: patchBody },
  'PUT /Groups/:id': {
    method: 'PUT',
    path: () => id().map((i) => `/Groups/${i}`),
    body: broken({ displayName: 'Editor', members: [{ value: '00000000-0000-4000-8000-000000000009' }] }),
  },
};

describe('bad input on SCIM', () => {
  for (const [name, route] of Object.entries(CASES)) {
    it(`${name}: always SCIM's error format, never a 500`, async () => {
      await fc.assert(
        fc.asyncProperty(route.path(), route.body, etag, async (path, body, ifMatch) => {
          const response = await fetch(`${app.url}/scim/v2${path}`, {
            method: route.method,
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/scim+json',
              ...(ifMatch !== undefined ? { 'if-match': ifMatch } : {}),
            },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
          const text = await response.text();
          expect(
            response.status,
            `${route.method} ${path} ${JSON.stringify(body)?.slice(0, 200)} → ${response.status} ${text.slice(0, 200)}`,
          ).toBeLessThan(500);
          if (response.status >= 400)
            expect(JSON.parse(text), text).toMatchObject({
              schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
              status: String(response.status),
            });
        }),
        { numRuns: 60 },
      );
    });
  }

  // Found by the property above in CI (seed 783649882): `{ "op": "Replace" }` with neither path nor
  // value made scim-patch return undefined, and the user PATCH answered 500. On a group, `replace
  // members` without a value emptied the role. Each operation RFC 7644 §3.5.2 calls malformed, on
  // both resources: a 400 in SCIM's format, and nothing changed.
  it('refuses malformed PATCH operations before applying any (no value, no target, a non-object value)', async () => {
    const malformed = [
      { op: 'Replace' },
      { op: 'add' },
      { op: 'replace', path: 'members' },
      { op: 'add', path: 'members' },
      { op: 'remove' },
      { op: 'replace', value: 'x' },
      { op: 'add', value: [{ value: memberId }] },
      { op: 'replace', value: null },
    ];
    // The properties above may have moved the member: give it the Editor group again, then snapshot.
    const regrouped = await scim('PATCH', `/Groups/${ROLE.editor}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'add', path: 'members', value: [{ value: memberId }] }],
    });
    expect(regrouped.status).toBe(200);
    const userBefore = await scim('GET', `/Users/${memberId}`);
    const groupBefore = await scim('GET', `/Groups/${ROLE.editor}`);
    expect(groupBefore.body).toMatchObject({
      members: expect.arrayContaining([expect.objectContaining({ value: memberId })]),
    });
    for (const resource of [`/Users/${memberId}`, `/Groups/${ROLE.editor}`]) {
      for (const operation of malformed) {
        const response = await scim('PATCH', resource, {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [operation],
        });
        expect(response.status, `${resource} ${JSON.stringify(operation)}: ${JSON.stringify(response.body)}`).toBe(400);
        expect(response.body).toMatchObject({
          schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
          status: '400',
          scimType: expect.stringMatching(/^(invalidValue|noTarget|invalidSyntax)$/),
        });
      }
    }
    expect(await scim('GET', `/Users/${memberId}`)).toEqual(userBefore);
    expect(await scim('GET', `/Groups/${ROLE.editor}`)).toEqual(groupBefore);
  });

  it('leaves the owner in place and the activity chain intact', async () => {
    const me = await client(app.url).get('/me', { token: owner.token });
    expect(me.status).toBe(200);
    const result = await app.app.get(ActivityService).verify(owner.account.id);
    expect(result.ok).toBe(true);
  });
});
