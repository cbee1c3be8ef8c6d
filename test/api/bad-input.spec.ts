import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityService } from '../../apps/api/src/database/activity.service.js';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, PASSWORD, type SignedUp } from './support/factories.js';
import { client, isErrorShape, type Client } from './support/http.js';
import { waitForLinkToken } from './support/outbox.js';

/**
 * Property-based bad input: every route of the foundation gets arbitrary JSON, valid bodies with
 * one field broken (wrong type, missing, huge, odd unicode, extra), and arbitrary path segments.
 * It must always answer in the error shape and never with a 500, and the activity chain must
 * still verify afterwards.
 */
let app: TestApp;
let api: Client;
let owner: SignedUp;
let verifyToken = '';
let resetToken = '';

beforeAll(async () => {
  app = await startApp({
    rateLimits: {
      signInPerIp: 100_000,
      signInPerEmail: 100_000,
      totpPerPerson: 100_000,
      passwordResetPerIp: 100_000,
      passwordResetPerEmail: 100_000,
      verifyEmailPerPerson: 100_000,
      linksPerIp: 100_000,
    },
  });
  api = client(app.url);
  owner = await createAccount(api);
  // Live mailed links of another sign-up: the valid shapes the fuzzer breaks (used up by the first valid call).
  const holder = await createAccount(api, { accountName: 'Link holder' });
  verifyToken = await waitForLinkToken(app.config.dataDir, holder.email, '/verify-email/');
  expect((await api.post('/auth/password-reset', { email: holder.email })).status).toBe(202);
  resetToken = await waitForLinkToken(app.config.dataDir, holder.email, '/reset-password/');
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
    "'; DROP TABLE persons; --",
    '__proto__',
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** A valid body with one field replaced, removed, or an extra field added. */
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

interface RouteCase {
  method: string;
  path: fc.Arbitrary<string>;
  body: fc.Arbitrary<unknown>;
  auth: 'none' | 'owner' | 'throwaway';
}

const fixed = (path: string) => fc.constant(path);
/** An arbitrary built when the property runs (after `beforeAll` made the live tokens it needs). */
const lazy = (make: () => fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.constant(null).chain(() => make());
const segment = fc.oneof(
  fc.uuid(),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('..', '%00', 'null', '-1'),
);

const ROUTES: Record<string, RouteCase> = {
  'POST /signup': {
    method: 'POST',
    path: fixed('/signup'),
    body: broken({ accountName: 'Acme', name: 'Ann', email: 'fuzz@example.com', password: PASSWORD, plan: 'free' }),
    auth: 'none',
  },
  'POST /auth/sign-in': {
    method: 'POST',
    path: fixed('/auth/sign-in'),
    body: broken({ email: 'fuzz@example.com', password: PASSWORD, totp: '123456' }),
    auth: 'none',
  },
  'POST /auth/sign-out': {
    method: 'POST',
    path: fixed('/auth/sign-out'),
    body: fc.jsonValue({ maxDepth: 2 }),
    auth: 'throwaway',
  },
  'POST /auth/switch-account': {
    method: 'POST',
    path: fixed('/auth/switch-account'),
    body: broken({ accountId: '00000000-0000-4000-8000-000000000000' }),
    auth: 'owner',
  },
  'GET /me': { method: 'GET', path: fixed('/me'), body: fc.constant(undefined), auth: 'owner' },
  'PATCH /me': { method: 'PATCH', path: fixed('/me'), body: broken({ name: 'Ann' }), auth: 'owner' },
  'GET /me/sessions': { method: 'GET', path: fixed('/me/sessions'), body: fc.constant(undefined), auth: 'owner' },
  'DELETE /me/sessions/:id': {
    method: 'DELETE',
    path: segment.map((id) => `/me/sessions/${id}`),
    body: fc.constant(undefined),
    auth: 'owner',
  },
  'POST /me/2fa/setup': {
    method: 'POST',
    path: fixed('/me/2fa/setup'),
    body: fc.jsonValue({ maxDepth: 2 }),
    auth: 'owner',
  },
  'POST /me/2fa/confirm': {
    method: 'POST',
    path: fixed('/me/2fa/confirm'),
    body: broken({ code: '123456' }),
    auth: 'owner',
  },
  'DELETE /me/2fa': { method: 'DELETE', path: fixed('/me/2fa'), body: broken({ code: '123456' }), auth: 'owner' },
  'GET /health': { method: 'GET', path: fixed('/health'), body: fc.constant(undefined), auth: 'none' },
  'GET /auth/verify-email/:token': {
    method: 'GET',
    path: segment.map((token) => `/auth/verify-email/${token}`),
    body: fc.constant(undefined),
    auth: 'none',
  },
  'POST /auth/verify-email': {
    method: 'POST',
    path: fixed('/auth/verify-email'),
    body: lazy(() => broken({ token: verifyToken, password: PASSWORD })),
    auth: 'none',
  },
  'POST /me/verify-email': {
    method: 'POST',
    path: fixed('/me/verify-email'),
    body: fc.jsonValue({ maxDepth: 2 }),
    auth: 'owner',
  },
  'POST /auth/password-reset': {
    method: 'POST',
    path: fixed('/auth/password-reset'),
    body: broken({ email: 'fuzz@example.com' }),
    auth: 'none',
  },
  'GET /auth/password-reset/:token': {
    method: 'GET',
    path: segment.map((token) => `/auth/password-reset/${token}`),
    body: fc.constant(undefined),
    auth: 'none',
  },
  'POST /auth/password-reset/confirm': {
    method: 'POST',
    path: fixed('/auth/password-reset/confirm'),
    body: lazy(() => broken({ token: resetToken, password: PASSWORD, totp: '123456' })),
    auth: 'none',
  },
};

describe('bad input', () => {
  for (const [name, route] of Object.entries(ROUTES)) {
    it(`${name}: always the error shape, never a 500`, async () => {
      await fc.assert(
        fc.asyncProperty(route.path, route.body, async (path, body) => {
          const token =
            route.auth === 'owner'
              ? owner.token
              : route.auth === 'throwaway'
                ? await createThrowawaySession()
                : undefined;
          const reply = await api.request(route.method, path, body, token ? { token } : {});
          expect(reply.status).toBeLessThan(500);
          if (reply.status >= 400) expect(isErrorShape(reply.body)).toBe(true);
        }),
        { numRuns: route.auth === 'throwaway' ? 15 : 60 },
      );
    });
  }

  it('leaves the activity chain intact', async () => {
    const result = await app.app.get(ActivityService).verify(owner.account.id);
    expect(result.ok).toBe(true);
    expect(result.checked).toBeGreaterThan(0);
  });
});

async function createThrowawaySession(): Promise<string> {
  const reply = await api.post<{ token: string }>('/auth/sign-in', { email: owner.email, password: PASSWORD });
  return reply.body.token;
}
