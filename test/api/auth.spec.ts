import { ADMIN_ROLE_ID, SYSTEM_ROLES, type AuthResultDto, type MeDto } from '@rolecall/contracts';
import { effectivePermissions } from '@rolecall/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, PASSWORD, uniqueEmail } from './support/factories.js';
import { query } from './support/db.js';
import { client, type Client } from './support/http.js';

const HOUR = 60 * 60 * 1000;

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

describe('POST /signup', () => {
  it('makes the new person owner, billing contact and Admin without agent access', async () => {
    const result = await createAccount(api, { accountName: 'Northwind', name: 'Nora North' });
    expect(result.member.isOwner).toBe(true);
    expect(result.member.isBillingContact).toBe(true);
    expect(result.member.role.id).toBe(ADMIN_ROLE_ID);
    expect(result.member.agentAccess).toBe(false);
    expect(result.member.status).toBe('active');
    expect(result.account.ownerId).toBe(result.member.id);
    expect(result.account.billingContactId).toBe(result.member.id);
    expect(result.account.plan).toBe('free');
    expect(result.account.seats).toEqual({ limit: 3, used: 1, invited: 0 });
    expect(result.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('normalises the email and answers 201 with a session cookie', async () => {
    const email = uniqueEmail('MiXeD').toUpperCase();
    const reply = await api.post<AuthResultDto>('/signup', { accountName: 'A', name: 'B', email: `  ${email} `, password: PASSWORD });
    expect(reply.status).toBe(201);
    expect(reply.body.member.email).toBe(email.toLowerCase());
    const cookie = reply.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^rolecall_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
  });

  it('gives the owner every permission of the Admin role, as libs/domain computes it', async () => {
    const owner = await createAccount(api);
    const me = await api.get<MeDto>('/me', { token: owner.token });
    expect(me.status).toBe(200);
    const expected = effectivePermissions({ status: 'active', agentAccess: false, isBillingContact: true }, SYSTEM_ROLES[0]!.permissions);
    expect(me.body.permissions.keys).toEqual(expected);
    expect(me.body.permissions.keys).not.toContain('talk.reply');
    expect(me.body.permissions.keys).toContain('users.manage');
  });

  it('refuses a short password with a field error', async () => {
    const reply = await api.post('/signup', { accountName: 'A', name: 'B', email: uniqueEmail(), password: 'short' });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: { fields: { password: [expect.stringMatching(/at least 10/)] } } } });
  });

  it('adds a second account to an existing person only with that person’s password', async () => {
    const owner = await createAccount(api);
    const wrong = await api.post('/signup', { accountName: 'Second', name: 'X', email: owner.email, password: 'not the password!' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: 'INVALID_CREDENTIALS' } });
    const right = await api.post<AuthResultDto>('/signup', { accountName: 'Second', name: 'X', email: owner.email, password: PASSWORD });
    expect(right.status).toBe(201);
    expect(right.body.account.id).not.toBe(owner.account.id);
    expect(right.body.accounts.map((a) => a.id).sort()).toEqual([owner.account.id, right.body.account.id].sort());
  });
});

describe('POST /auth/sign-in', () => {
  it('signs in with the right password and answers the member, account and accounts', async () => {
    const owner = await createAccount(api);
    const reply = await api.post<AuthResultDto>('/auth/sign-in', { email: owner.email.toUpperCase(), password: PASSWORD });
    expect(reply.status).toBe(200);
    expect(reply.body.member.id).toBe(owner.member.id);
    expect(reply.body.accounts).toEqual([{ id: owner.account.id, name: 'Acme', memberId: owner.member.id, status: 'active' }]);
    expect(reply.body.token).not.toBe(owner.token);
    expect((await api.get('/me', { token: reply.body.token })).status).toBe(200);
  });

  it('answers an unknown email exactly as a wrong password', async () => {
    const owner = await createAccount(api);
    const wrongPassword = await api.post('/auth/sign-in', { email: owner.email, password: 'wrong password here' });
    const unknownEmail = await api.post('/auth/sign-in', { email: uniqueEmail('nobody'), password: 'wrong password here' });
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    expect(unknownEmail.body).toEqual(wrongPassword.body);
    expect(wrongPassword.body).toEqual({ error: { code: 'INVALID_CREDENTIALS', message: expect.any(String) } });
  });

  it('accepts the session as a cookie as well as a bearer token', async () => {
    const owner = await createAccount(api);
    const reply = await api.get<MeDto>('/me', { cookie: `rolecall_session=${owner.token}` });
    expect(reply.status).toBe(200);
    expect(reply.body.member.id).toBe(owner.member.id);
  });

  it('refuses a missing, malformed or unknown token with 401 UNAUTHENTICATED', async () => {
    for (const options of [{}, { token: 'x' }, { token: 'A'.repeat(43) }, { headers: { authorization: 'Basic abc' } }]) {
      const reply = await api.get('/me', options);
      expect(reply.status).toBe(401);
      expect(reply.body).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    }
  });

  it('never takes a token from the query string', async () => {
    const owner = await createAccount(api);
    const reply = await api.get(`/me?token=${owner.token}&access_token=${owner.token}`);
    expect(reply.status).toBe(401);
  });
});

describe('sessions', () => {
  it('ends the session on sign-out: the next call answers 401 SESSION_REVOKED', async () => {
    const owner = await createAccount(api);
    const out = await api.post('/auth/sign-out', undefined, { token: owner.token });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/rolecall_session=;/);
    const after = await api.get('/me', { token: owner.token });
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
  });

  it('expires after 12 hours idle', async () => {
    const owner = await createAccount(api);
    app.clock.advance(11 * HOUR);
    expect((await api.get('/me', { token: owner.token })).status).toBe(200);
    app.clock.advance(11 * HOUR); // 11 h after the last use: still alive
    expect((await api.get('/me', { token: owner.token })).status).toBe(200);
    app.clock.advance(12 * HOUR + 1000);
    const expired = await api.get('/me', { token: owner.token });
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ error: { code: 'UNAUTHENTICATED', details: { reason: 'expired' } } });
  });

  it('expires 30 days after sign-in however active it is', async () => {
    const owner = await createAccount(api);
    for (let day = 0; day < 29; day += 1) {
      app.clock.advance(11 * HOUR);
      expect((await api.get('/me', { token: owner.token })).status).toBe(200);
      app.clock.advance(13 * HOUR - 11 * HOUR);
      expect((await api.get('/me', { token: owner.token })).status).toBe(200);
    }
    app.clock.advance(25 * HOUR);
    expect((await api.get('/me', { token: owner.token })).status).toBe(401);
  });

  it('lists own sessions and ends one of them', async () => {
    const owner = await createAccount(api);
    const second = await api.post<AuthResultDto>('/auth/sign-in', { email: owner.email, password: PASSWORD });
    const list = await api.get<{ items: { id: string; current: boolean }[] }>('/me/sessions', { token: owner.token });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    expect(list.body.items.filter((s) => s.current)).toHaveLength(1);
    const other = list.body.items.find((s) => !s.current)!;
    expect((await api.delete(`/me/sessions/${other.id}`, undefined, { token: owner.token })).status).toBe(204);
    expect((await api.get('/me', { token: second.body.token })).body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
    expect((await api.get('/me', { token: owner.token })).status).toBe(200);
    expect((await api.delete(`/me/sessions/${other.id}`, undefined, { token: owner.token })).status).toBe(404);
  });

  it('does not let a person end someone else’s session', async () => {
    const a = await createAccount(api);
    const b = await createAccount(api);
    const bSessions = await api.get<{ items: { id: string }[] }>('/me/sessions', { token: b.token });
    const reply = await api.delete(`/me/sessions/${bSessions.body.items[0]!.id}`, undefined, { token: a.token });
    expect(reply.status).toBe(404);
    expect((await api.get('/me', { token: b.token })).status).toBe(200);
  });

  it('stores only a hash of the token', async () => {
    const owner = await createAccount(api);
    const hashes = (await query<{ token_hash: string }>(app, 'SELECT token_hash FROM sessions')).map((r) => r.token_hash);
    expect(hashes.length).toBeGreaterThan(0);
    expect(hashes).not.toContain(owner.token);
    expect(hashes.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
  });
});

describe('POST /auth/switch-account', () => {
  it('refuses an account the person is not a member of with 403', async () => {
    const a = await createAccount(api);
    const b = await createAccount(api);
    const reply = await api.post('/auth/switch-account', { accountId: b.account.id }, { token: a.token });
    expect(reply.status).toBe(403);
    expect(reply.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const me = await api.get<MeDto>('/me', { token: a.token });
    expect(me.body.account.id).toBe(a.account.id);
  });

  it('moves the session to another account of the person', async () => {
    const first = await createAccount(api);
    const second = await api.post<AuthResultDto>('/signup', { accountName: 'Other', name: 'N', email: first.email, password: PASSWORD });
    const reply = await api.post<AuthResultDto>('/auth/switch-account', { accountId: first.account.id }, { token: second.body.token });
    expect(reply.status).toBe(200);
    expect(reply.body.account.id).toBe(first.account.id);
    const me = await api.get<MeDto>('/me', { token: second.body.token });
    expect(me.body.account.id).toBe(first.account.id);
    expect(me.body.member.id).toBe(first.member.id);
  });
});

describe('rate limits', () => {
  it('answers 429 RATE_LIMITED after 10 failed sign-ins for one email, even with the right password', async () => {
    const limited = await startApp();
    const limitedApi = client(limited.url);
    try {
      const owner = await createAccount(limitedApi);
      for (let i = 0; i < 10; i += 1) {
        expect((await limitedApi.post('/auth/sign-in', { email: owner.email, password: 'wrong password!' })).status).toBe(401);
      }
      const blocked = await limitedApi.post('/auth/sign-in', { email: owner.email, password: PASSWORD });
      expect(blocked.status).toBe(429);
      expect(blocked.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      limited.clock.advance(0); // the limiter uses real time: another email is unaffected
      const other = await createAccount(limitedApi);
      expect((await limitedApi.post('/auth/sign-in', { email: other.email, password: PASSWORD })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('limits sign-in attempts per IP', async () => {
    const limited = await startApp({ rateLimits: { signInPerIp: 5 } });
    const limitedApi = client(limited.url);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i += 1) {
        statuses.push((await limitedApi.post('/auth/sign-in', { email: uniqueEmail(), password: 'whatever123' })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    } finally {
      await limited.close();
    }
  });
});
