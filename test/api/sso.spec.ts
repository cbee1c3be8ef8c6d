/**
 * Single sign-on over real HTTP: a real OpenID Connect provider (tools/dev-idp, oidc-provider 9)
 * runs in this test on a random port as Google, Microsoft and (per account) Okta; a hand-driven
 * browser follows every redirect, fills in the provider's login form and carries cookies.
 */
import type {
  AccountDto,
  ActivityEntryDto,
  AuthResultDto,
  EnforcementPreviewDto,
  MeDto,
  MemberDto,
  MemberPageDto,
  SessionDto,
  SsoProvidersDto,
} from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { query } from './support/db.js';
import {
  createAccount,
  enrolTotp,
  ifMatch,
  invite,
  inviteAndAccept,
  PASSWORD,
  ROLE,
  totpAt,
  uniqueEmail,
  type Joined,
  type SignedUp,
} from './support/factories.js';
import { client, type Client } from './support/http.js';
import { connect, disconnected, next, open, recorder, sleep, type TestSocket } from './support/live.js';
import { invitationToken } from './support/outbox.js';
import {
  APP_PUBLIC_URL,
  Browser,
  callback,
  oktaConnection,
  ssoOverrides,
  ssoSignIn,
  startTestIdp,
  strangerKey,
  type SsoAttempt,
  type TestIdp,
} from './support/oidc.js';

let app: TestApp;
let api: Client;
let idp: TestIdp;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  idp = await startTestIdp();
  app = await startApp({
    overrides: ssoOverrides(idp),
    rateLimits: { signInPerIp: 100_000, signInPerEmail: 100_000, totpPerPerson: 100_000, acceptancePerIp: 100_000 },
  });
  api = client(app.url);
});
afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await app?.close();
  await idp?.close();
});

type Provider = 'google' | 'microsoft' | 'okta';

/** A member who joined with a password, and has an identity at the IdP for the same email. */
async function member(owner: SignedUp, input: { name?: string; roleId?: string } = {}): Promise<Joined> {
  const joined = await inviteAndAccept(api, app.config.dataDir, owner, {
    roleId: input.roleId ?? ROLE.editor,
    name: input.name ?? 'Mia Member',
  });
  idp.addUser(joined.email, { name: input.name ?? 'Mia Member' });
  return joined;
}

async function account(owner: { token: string }): Promise<AccountDto> {
  const reply = await api.get<AccountDto>('/account', { token: owner.token });
  expect(reply.status).toBe(200);
  return reply.body;
}

async function patchAccount(owner: { token: string }, body: Record<string, unknown>, path = '/account') {
  return api.patch<AccountDto & EnforcementPreviewDto>(path, body, {
    token: owner.token,
    headers: ifMatch((await account(owner)).version),
  });
}

async function connectOkta(owner: SignedUp): Promise<AccountDto> {
  const reply = await api.put<AccountDto>('/account/okta', oktaConnection(idp), {
    token: owner.token,
    headers: ifMatch((await account(owner)).version),
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}

async function signIn(
  owner: SignedUp,
  who: { email: string },
  provider: Provider,
  options: { mfa?: boolean; next?: string } = {},
): Promise<SsoAttempt> {
  return ssoSignIn(app, new Browser(app), { provider, accountId: owner.account.id, email: who.email, ...options });
}

/** Signs in through the provider and expects success; answers the session token. */
async function ssoToken(
  owner: SignedUp,
  who: { email: string },
  provider: Provider,
  options: { mfa?: boolean } = {},
): Promise<string> {
  const attempt = await signIn(owner, who, provider, options);
  expect(attempt.error, `SSO sign-in of ${who.email} with ${provider}`).toBeNull();
  expect(attempt.sessionToken).toEqual(expect.any(String));
  return attempt.sessionToken!;
}

async function sessionCount(accountId: string): Promise<number> {
  const rows = await query<{ n: number | string }>(app, 'SELECT COUNT(*) AS n FROM sessions WHERE account_id = ?', [
    accountId,
  ]);
  return Number(rows[0]!.n);
}

async function newestActivity(owner: { token: string }, action: string): Promise<ActivityEntryDto> {
  const reply = await api.get<{ items: ActivityEntryDto[] }>(`/activity?action=${action}&limit=1`, {
    token: owner.token,
  });
  expect(reply.status).toBe(200);
  return reply.body.items[0]!;
}

async function live(token: string): Promise<TestSocket> {
  const socket = await open(app.url, token);
  sockets.push(socket);
  return socket;
}

describe('sign-in through a provider', () => {
  it.each(['google', 'microsoft'] as const)(
    '%s: a full code flow links the identity, makes a session and lands on `next`',
    async (provider) => {
      const owner = await createAccount(api, { plan: 'business' });
      const mia = await member(owner);
      const attempt = await signIn(owner, mia, provider, { next: '/users?role=x' });

      expect(attempt.error).toBeNull();
      expect(attempt.final.status).toBe(302);
      expect(attempt.final.location?.href).toBe(`${APP_PUBLIC_URL}/users?role=x`);
      // The authorization request: code flow with PKCE (S256), state and nonce, back to PUBLIC_URL.
      const request = attempt.authorizationUrl!.searchParams;
      expect(request.get('response_type')).toBe('code');
      expect(request.get('code_challenge_method')).toBe('S256');
      expect(request.get('code_challenge')).toMatch(/^[\w-]{43}$/);
      expect(request.get('state')).toMatch(/^[\w-]{20,}$/);
      expect(request.get('nonce')).toMatch(/^[\w-]{20,}$/);
      expect(request.get('redirect_uri')).toBe(`${APP_PUBLIC_URL}/api/v1/auth/sso/${provider}/callback`);
      // The cookie is a working session of Mia in this account, made by the provider.
      const me = await api.get<MeDto>('/me', { cookie: `rolecall_session=${attempt.sessionToken}` });
      expect(me.status).toBe(200);
      expect({ member: me.body.member.id, account: me.body.account.id }).toEqual({
        member: mia.member.id,
        account: owner.account.id,
      });
      const sessions = await api.get<{ items: SessionDto[] }>('/me/sessions', { token: attempt.sessionToken! });
      expect(sessions.body.items.find((s) => s.current)?.authMethod).toBe(provider);
      const identities = await query<{ provider: string; issuer: string; email: string }>(
        app,
        'SELECT i.provider, i.issuer, i.email FROM identities i JOIN persons p ON p.id = i.person_id WHERE p.email = ?',
        [mia.email],
      );
      expect(identities).toEqual([{ provider, issuer: idp.issuer, email: mia.email }]);
      const entry = await newestActivity(owner, 'session.signed_in');
      expect(entry).toMatchObject({
        actor: { memberId: mia.member.id },
        changes: { method: provider, mfa: false, identityLinked: true },
      });
    },
  );

  it('okta: an Enterprise account connects its own Okta, the secret stays encrypted, and the flow works', async () => {
    const owner = await createAccount(api, { plan: 'enterprise' });
    const mia = await member(owner);
    expect((await account(owner)).okta).toBeNull();
    const connected = await connectOkta(owner);
    expect(connected.okta).toEqual({ issuer: idp.issuer, clientId: 'rolecall-okta' });
    expect(JSON.stringify(connected)).not.toContain('okta-secret');

    const [row] = await query<{ okta_secret_enc: string }>(app, 'SELECT okta_secret_enc FROM accounts WHERE id = ?', [
      owner.account.id,
    ]);
    expect(row!.okta_secret_enc).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(row!.okta_secret_enc).not.toContain('okta-secret');
    const updated = await newestActivity(owner, 'account.updated');
    expect(updated.changes).toEqual({
      oktaIssuer: { before: null, after: idp.issuer },
      oktaClientId: { before: null, after: 'rolecall-okta' },
      oktaClientSecret: { changed: true },
    });

    const token = await ssoToken(owner, mia, 'okta');
    expect((await api.get<MeDto>('/me', { token })).body.member.id).toBe(mia.member.id);
  });

  it('finds a linked person by identity even after the provider changed their email', async () => {
    const owner = await createAccount(api);
    const mia = await member(owner);
    await ssoToken(owner, mia, 'google');
    const renamed = uniqueEmail('renamed');
    const sub = [...idp.users.values()].find((u) => u.email === mia.email)!.sub;
    idp.users.get(sub)!.email = renamed;
    const token = await ssoToken(owner, { email: renamed }, 'google');
    expect((await api.get<MeDto>('/me', { token })).body.member.id).toBe(mia.member.id);
    expect((await newestActivity(owner, 'session.signed_in')).changes).toEqual({ method: 'google', mfa: false });
  });

  it('lets an invited member accept the invitation through the provider (the person is made, without a password)', async () => {
    const owner = await createAccount(api);
    const email = uniqueEmail('newcomer');
    const [invited] = (await invite(api, owner, [email])).body.items;
    idp.addUser(email, { name: 'Nina Newcomer' });
    const token = await ssoToken(owner, { email }, 'google');

    const me = await api.get<MeDto>('/me', { token });
    expect(me.body.member).toMatchObject({ id: invited!.id, status: 'active', name: 'Nina Newcomer' });
    expect((await newestActivity(owner, 'invitation.accepted')).changes).toEqual({
      status: { before: 'invited', after: 'active' },
      via: 'google',
    });
    // The invitation is used up, and there is no password to sign in with.
    expect(
      (
        await api.post('/invitations/accept', {
          token: invitationToken(app.config.dataDir, email),
          name: 'X',
          password: PASSWORD,
        })
      ).status,
    ).toBe(410);
    expect((await api.post('/auth/sign-in', { email, password: PASSWORD })).body).toMatchObject({
      error: { code: 'INVALID_CREDENTIALS' },
    });
  });

  it('GET /auth/sso/providers lists what the sign-in page can offer', async () => {
    const free = await createAccount(api);
    const enterprise = await createAccount(api, { plan: 'enterprise' });
    const providers = async (accountId?: string) =>
      (await api.get<SsoProvidersDto>(`/auth/sso/providers${accountId ? `?account=${accountId}` : ''}`)).body;

    expect(await providers()).toEqual({
      authEnforcement: null,
      providers: [expect.objectContaining({ id: 'google' }), expect.objectContaining({ id: 'microsoft' })],
    });
    expect((await providers(free.account.id)).providers).toEqual([
      { id: 'google', name: 'Google', startUrl: `/api/v1/auth/sso/google/start?account=${free.account.id}` },
      { id: 'microsoft', name: 'Microsoft', startUrl: `/api/v1/auth/sso/microsoft/start?account=${free.account.id}` },
    ]);
    expect((await providers(enterprise.account.id)).providers.map((p) => p.id)).toEqual(['google', 'microsoft']);
    await connectOkta(enterprise);
    expect((await providers(enterprise.account.id)).providers.map((p) => p.id)).toEqual([
      'google',
      'microsoft',
      'okta',
    ]);
    expect((await patchAccount(enterprise, { authEnforcement: 'okta' })).status).toBe(200);
    expect(await providers(enterprise.account.id)).toMatchObject({
      authEnforcement: 'okta',
      providers: [{ id: 'okta' }],
    });
    expect((await api.get('/auth/sso/providers?account=00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('refused sign-ins: a clear sso_error and no session', () => {
  let owner: SignedUp;
  let mia: Joined;

  beforeAll(async () => {
    owner = await createAccount(api, { plan: 'business' });
    mia = await member(owner);
  });

  /** Runs `attempt` and checks it was refused with `code`, set no session cookie and made no session. */
  async function refused(code: string, attempt: () => Promise<SsoAttempt>): Promise<SsoAttempt> {
    const before = await sessionCount(owner.account.id);
    const result = await attempt();
    expect(result.final.status).toBe(302);
    expect(result.final.location?.pathname).toBe('/signin');
    expect(result.error).toBe(code);
    expect(result.sessionToken).toBeNull();
    expect(result.final.setCookies.some((line) => line.startsWith('rolecall_session='))).toBe(false);
    expect(await sessionCount(owner.account.id)).toBe(before);
    return result;
  }

  it('a tampered state', async () => {
    const result = await refused('STATE_INVALID', () =>
      ssoSignIn(app, new Browser(app), {
        provider: 'google',
        accountId: owner.account.id,
        email: mia.email,
        editCallbackUrl: (url) => url.searchParams.set('state', `${url.searchParams.get('state')}x`),
      }),
    );
    expect(result.final.location?.searchParams.get('account')).toBeNull();
  });

  it('a replayed callback (the state is single use) and a replayed code (the provider refuses it)', async () => {
    const browser = new Browser(app);
    const first = await ssoSignIn(app, browser, { provider: 'google', accountId: owner.account.id, email: mia.email });
    expect(first.error).toBeNull();
    await refused('STATE_INVALID', () => callback(browser, first.callbackUrl!));

    // The same code with a fresh flow of this browser: its state is good, the code is spent.
    const start = await browser.request(
      new URL(`${APP_PUBLIC_URL}/api/v1/auth/sso/google/start?account=${owner.account.id}`),
    );
    const replay = new URL(first.callbackUrl!);
    replay.searchParams.set('state', start.location!.searchParams.get('state')!);
    await refused('CODE_REJECTED', () => callback(browser, replay));
  });

  it('a wrong nonce', async () => {
    await refused('NONCE_MISMATCH', () =>
      ssoSignIn(app, new Browser(app), {
        provider: 'google',
        accountId: owner.account.id,
        email: mia.email,
        editAuthorizationUrl: (url) => url.searchParams.set('nonce', 'a-nonce-this-flow-never-sent'),
      }),
    );
  });

  it('an ID token for another audience', async () => {
    idp.alterIdToken = (claims) => ({ ...claims, aud: 'rolecall-microsoft' });
    try {
      await refused('TOKEN_AUDIENCE', () => signIn(owner, mia, 'google'));
    } finally {
      idp.alterIdToken = null;
    }
  });

  it('an expired ID token', async () => {
    const now = Math.floor(Date.now() / 1000);
    idp.alterIdToken = (claims) => ({ ...claims, iat: now - 600, exp: now - 120 });
    try {
      await refused('TOKEN_EXPIRED', () => signIn(owner, mia, 'google'));
    } finally {
      idp.alterIdToken = null;
    }
  });

  it('an ID token signed with another key, or from another issuer', async () => {
    idp.alterIdToken = (claims) => claims;
    idp.forgeWith = strangerKey();
    try {
      await refused('TOKEN_INVALID', () => signIn(owner, mia, 'google'));
    } finally {
      idp.forgeWith = null;
    }
    idp.alterIdToken = (claims) => ({ ...claims, iss: 'https://accounts.example.com' });
    try {
      await refused('TOKEN_INVALID', () => signIn(owner, mia, 'google'));
    } finally {
      idp.alterIdToken = null;
    }
  });

  it('an email that is not a member of the account (no silent sign-up), or only of another account', async () => {
    const stranger = uniqueEmail('stranger');
    idp.addUser(stranger);
    await refused('NOT_A_MEMBER', () => signIn(owner, { email: stranger }, 'google'));
    const elsewhere = await createAccount(api);
    const theirs = await member(elsewhere);
    await refused('NOT_A_MEMBER', () => signIn(owner, theirs, 'google'));
    expect(await query(app, 'SELECT id FROM persons WHERE email = ?', [stranger])).toEqual([]);
  });

  it('a revoked member', async () => {
    const leaver = await member(owner);
    expect(
      (
        await api.post(`/users/${leaver.member.id}/revoke`, undefined, {
          token: owner.token,
          headers: ifMatch(leaver.member.version),
        })
      ).status,
    ).toBe(200);
    await refused('NOT_A_MEMBER', () => signIn(owner, leaver, 'google'));
  });

  it('an email the provider did not verify', async () => {
    const unverified = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Uma Unverified' });
    idp.addUser(unverified.email, { emailVerified: false });
    await refused('EMAIL_UNVERIFIED', () => signIn(owner, unverified, 'google'));
  });

  it('a flow finished in another browser (login CSRF), or after 10 minutes', async () => {
    const starter = new Browser(app);
    const planted = await refused('STATE_INVALID', () =>
      ssoSignIn(app, starter, {
        provider: 'google',
        accountId: owner.account.id,
        email: mia.email,
        finishIn: new Browser(app),
      }),
    );
    // The refusal did not spend the flow: the browser that started it can still finish it.
    expect((await callback(starter, planted.callbackUrl!)).error).toBeNull();
    await refused('FLOW_EXPIRED', () =>
      ssoSignIn(app, new Browser(app), {
        provider: 'google',
        accountId: owner.account.id,
        email: mia.email,
        beforeCallback: () => app.clock.advance(10 * 60 * 1000 + 1000),
      }),
    );
  });

  it('a cancelled sign-in at the provider', async () => {
    const result = await refused('PROVIDER_DENIED', () =>
      ssoSignIn(app, new Browser(app), {
        provider: 'google',
        accountId: owner.account.id,
        email: mia.email,
        cancel: true,
      }),
    );
    expect(result.final.location?.searchParams.get('account')).toBe(owner.account.id);
  });

  it('a provider that is not set up, or an unknown account', async () => {
    await refused('PROVIDER_NOT_CONFIGURED', () => signIn(owner, mia, 'okta'));
    const unknown = await new Browser(app).request(
      new URL(`${APP_PUBLIC_URL}/api/v1/auth/sso/google/start?account=00000000-0000-4000-8000-000000000000`),
    );
    expect(unknown.location?.searchParams.get('sso_error')).toBe('ACCOUNT_NOT_FOUND');
    const bogus = await new Browser(app).request(
      new URL(`${APP_PUBLIC_URL}/api/v1/auth/sso/facebook/start?account=${owner.account.id}`),
    );
    expect(bogus.location?.searchParams.get('sso_error')).toBe('PROVIDER_NOT_CONFIGURED');
    const noState = await new Browser(app).request(
      new URL(`${APP_PUBLIC_URL}/api/v1/auth/sso/google/callback?code=abc`),
    );
    expect(noState.location?.searchParams.get('sso_error')).toBe('STATE_INVALID');
  });

  it('never redirects off the dashboard: `next` must be a local path', async () => {
    for (const next of ['https://evil.example.com/', '//evil.example.com/x', '/\\evil.example.com']) {
      const attempt = await signIn(owner, mia, 'google', { next });
      expect(attempt.error).toBeNull();
      expect(attempt.final.location?.href).toBe(`${APP_PUBLIC_URL}/`);
    }
  });
});

describe('SSO enforcement', () => {
  it('refuses password sign-in with SSO_REQUIRED, naming the provider', async () => {
    const owner = await createAccount(api);
    const mia = await member(owner);
    expect((await patchAccount(owner, { authEnforcement: 'google' })).status).toBe(200);
    const reply = await api.post('/auth/sign-in', { email: mia.email, password: PASSWORD });
    expect(reply.status).toBe(403);
    expect(reply.body).toMatchObject({
      error: {
        code: 'SSO_REQUIRED',
        details: {
          provider: 'google',
          accountId: owner.account.id,
          startUrl: `/api/v1/auth/sso/google/start?account=${owner.account.id}`,
        },
      },
    });
    // A wrong password still gets the usual answer: nothing is revealed before the password matches.
    expect((await api.post('/auth/sign-in', { email: mia.email, password: 'wrong password!' })).body).toMatchObject({
      error: { code: 'INVALID_CREDENTIALS' },
    });
    // Through the provider it works, and other providers are refused.
    await ssoToken(owner, mia, 'google');
    expect((await signIn(owner, mia, 'microsoft')).error).toBe('PROVIDER_NOT_ALLOWED');
  });

  it("keeps the owner's password + 2FA as break-glass, and logs each such sign-in", async () => {
    const owner = await createAccount(api);
    expect((await patchAccount(owner, { authEnforcement: 'google' })).status).toBe(200);
    const without2fa = await api.post('/auth/sign-in', { email: owner.email, password: PASSWORD });
    expect(without2fa.status).toBe(403);
    expect(without2fa.body).toMatchObject({
      error: { code: 'SSO_REQUIRED', details: { provider: 'google', reason: 'two_factor_required' } },
    });

    const { secret } = await enrolTotp(api, owner.token, app.clock.now());
    app.clock.advance(31_000);
    expect((await api.post('/auth/sign-in', { email: owner.email, password: PASSWORD })).body).toMatchObject({
      error: { code: 'TOTP_REQUIRED' },
    });
    const reply = await api.post<AuthResultDto>('/auth/sign-in', {
      email: owner.email,
      password: PASSWORD,
      totp: await totpAt(secret, app.clock.now()),
    });
    expect(reply.status).toBe(200);
    expect((await api.get<MeDto>('/me', { token: reply.body.token })).status).toBe(200);
    const entry = await newestActivity(owner, 'session.signed_in');
    expect(entry).toMatchObject({
      actor: { memberId: owner.member.id },
      changes: { method: 'password', breakGlass: true },
    });
  });

  it('dry run lists exactly who would be locked out; turning it on ends every other session at once, SSO sessions stay', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const ada = await member(owner, { name: 'Ada Admin', roleId: ROLE.admin });
    const ben = await member(owner, { name: 'Ben Google' });
    const cy = await member(owner, { name: 'Cy Microsoft' });
    const benSso = await ssoToken(owner, ben, 'google');
    const cySso = await ssoToken(owner, cy, 'microsoft');
    await invite(api, owner, [uniqueEmail('pending')]);
    const revokedOne = await member(owner, { name: 'Rex Revoked' });
    await api.post(`/users/${revokedOne.member.id}/revoke`, undefined, {
      token: owner.token,
      headers: ifMatch(revokedOne.member.version),
    });

    // Nothing enforced: no member is linked or pending.
    const before = await api.get<MemberPageDto>('/users?limit=200', { token: owner.token });
    expect(new Set(before.body.items.map((m) => m.enforcedAuth))).toEqual(new Set([null]));
    expect((await api.get<MemberPageDto>('/users?enforcedAuth=pending', { token: owner.token })).body.total).toBe(0);

    const { version, activitySeq } = await account(owner);
    const preview = await api.patch<EnforcementPreviewDto>(
      '/account?dryRun=true',
      { authEnforcement: 'google' },
      { token: owner.token, headers: ifMatch(version) },
    );
    expect(preview.status).toBe(200);
    expect(preview.body).toEqual({
      lockedOut: [
        { id: ada.member.id, name: 'Ada Admin', email: ada.email },
        { id: cy.member.id, name: 'Cy Microsoft', email: cy.email },
        { id: owner.member.id, name: 'Olive Owner', email: owner.email },
      ],
      wouldFail: null,
    });
    const after = await account(owner);
    expect({ version: after.version, enforcement: after.authEnforcement, seq: after.activitySeq }).toEqual({
      version,
      enforcement: 'any',
      seq: activitySeq,
    });

    // Live: every session but the owner's and those made through Google is ended at once.
    const [ownerSocket, adaSocket, benPasswordSocket, benSsoSocket, cyPasswordSocket, cySsoSocket] = await Promise.all(
      [owner.token, ada.token, ben.token, benSso, cy.token, cySso].map((token) => live(token)),
    );
    const revokedSockets = [adaSocket!, benPasswordSocket!, cyPasswordSocket!, cySsoSocket!];
    const revocations = revokedSockets.map((socket) => next(socket, 'me.revoked'));
    const gone = revokedSockets.map((socket) => disconnected(socket));
    const enforced = await api.patch<AccountDto>(
      '/account',
      { authEnforcement: 'google' },
      { token: owner.token, headers: ifMatch(version) },
    );
    expect(enforced.status).toBe(200);
    expect(enforced.body.authEnforcement).toBe('google');
    expect(await Promise.all(revocations)).toEqual(revokedSockets.map(() => ({ reason: 'sso_enforced' })));
    await Promise.all(gone);
    await sleep(100);
    expect([ownerSocket!.connected, benSsoSocket!.connected]).toEqual([true, true]);

    for (const token of [ada.token, ben.token, cy.token, cySso]) {
      expect((await api.get('/me', { token })).body).toMatchObject({
        error: { code: 'SESSION_REVOKED', details: { reason: 'sso_enforced' } },
      });
    }
    expect((await api.get('/me', { token: owner.token })).status).toBe(200);
    expect((await api.get('/me', { token: benSso })).status).toBe(200);
    expect((await newestActivity(owner, 'account.updated')).changes).toEqual({
      authEnforcement: { before: 'any', after: 'google' },
      sessionsEnded: 4,
    });

    // Member JSON and the list filter follow the enforced provider.
    const members = (await api.get<MemberPageDto>('/users?limit=200', { token: owner.token })).body.items;
    const stateOf = (id: string) => members.find((m) => m.id === id)?.enforcedAuth;
    expect([stateOf(ben.member.id), stateOf(ada.member.id), stateOf(cy.member.id), stateOf(owner.member.id)]).toEqual([
      'linked',
      'pending',
      'pending',
      'pending',
    ]);
    const linked = await api.get<MemberPageDto>('/users?enforcedAuth=linked', { token: owner.token });
    expect(linked.body.items.map((m: MemberDto) => m.id)).toEqual([ben.member.id]);
    const pending = await api.get<MemberPageDto>('/users?enforcedAuth=pending&limit=200', { token: owner.token });
    expect(pending.body.items.map((m) => m.id)).not.toContain(ben.member.id);
    expect(pending.body.items.map((m) => m.id)).toEqual(
      expect.arrayContaining([ada.member.id, cy.member.id, owner.member.id]),
    );
    expect(pending.body.total + linked.body.total).toBe(before.body.total);
  });

  it('leaves the owner out of the dry-run list once they have 2FA, and needs the provider set up', async () => {
    const owner = await createAccount(api, { plan: 'enterprise' });
    const version = (await account(owner)).version;
    expect(
      (
        await api.patch<EnforcementPreviewDto>(
          '/account?dryRun=true',
          { authEnforcement: 'microsoft' },
          { token: owner.token, headers: ifMatch(version) },
        )
      ).body.lockedOut.map((m) => m.id),
    ).toEqual([owner.member.id]);
    await enrolTotp(api, owner.token, app.clock.now());
    expect(
      (
        await api.patch<EnforcementPreviewDto>(
          '/account?dryRun=true',
          { authEnforcement: 'microsoft' },
          { token: owner.token, headers: ifMatch(version) },
        )
      ).body,
    ).toEqual({ lockedOut: [], wouldFail: null });
    const okta = await patchAccount(owner, { authEnforcement: 'okta' });
    expect(okta.status).toBe(409);
    expect(okta.body).toMatchObject({ error: { code: 'CONFLICT', details: { provider: 'okta' } } });
    // Its dry run answers 200 with the same refusal inside (issue 15).
    const oktaPreview = await patchAccount(owner, { authEnforcement: 'okta' }, '/account?dryRun=true');
    expect(oktaPreview.status).toBe(200);
    expect(oktaPreview.body).toMatchObject({ wouldFail: (okta.body as unknown as { error: object }).error });
    const freePlan = await createAccount(api);
    expect((await patchAccount(freePlan, { authEnforcement: 'microsoft' }, '/account?dryRun=true')).body).toMatchObject(
      { error: { code: 'PLAN_FEATURE_UNAVAILABLE' } },
    );
  });

  it('a password session cannot move into an enforcing account; a password sign-in lands where a password is accepted', async () => {
    const enforcing = await createAccount(api, { plan: 'business', accountName: 'Enforcing' });
    const person = await createAccount(api, { accountName: 'Own' });
    expect((await invite(api, enforcing, [person.email])).status).toBe(201);
    const accepted = await api.post<AuthResultDto>(
      '/invitations/accept',
      { token: invitationToken(app.config.dataDir, person.email) },
      { token: person.token },
    );
    expect(accepted.status).toBe(200);
    expect((await patchAccount(enforcing, { authEnforcement: 'google' })).status).toBe(200);

    const signedIn = await api.post<AuthResultDto>('/auth/sign-in', { email: person.email, password: PASSWORD });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.account.id).toBe(person.account.id);
    expect(
      (await api.post('/auth/sign-in', { email: person.email, password: PASSWORD, accountId: enforcing.account.id }))
        .body,
    ).toMatchObject({ error: { code: 'SSO_REQUIRED' } });
    const moved = await api.post(
      '/auth/switch-account',
      { accountId: enforcing.account.id },
      { token: signedIn.body.token },
    );
    expect(moved.status).toBe(403);
    expect(moved.body).toMatchObject({ error: { code: 'SSO_REQUIRED', details: { provider: 'google' } } });
    expect((await api.get<MeDto>('/me', { token: signedIn.body.token })).body.account.id).toBe(person.account.id);
  });

  it("a member's first sign-in through the enforced provider turns their row to `linked` live", async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const mia = await member(owner, { name: 'Mia Member' });
    expect((await patchAccount(owner, { authEnforcement: 'google' })).status).toBe(200);
    const admin = await live(owner.token);
    const upserted = next(admin, 'user.upserted', (data) => data.member.id === mia.member.id);
    await ssoToken(owner, mia, 'google');
    const { member: row, seq } = await upserted;
    expect(row.enforcedAuth).toBe('linked');
    expect(seq).toBe((await newestActivity(owner, 'session.signed_in')).seq);
    // A later sign-in links nothing new and announces nothing.
    const quiet = next(admin, 'user.upserted', (data) => data.member.id === mia.member.id, 800);
    await ssoToken(owner, mia, 'google');
    await expect(quiet).rejects.toThrow('no user.upserted');
  });

  it('an invitation accepted through the enforced provider is pushed once, as committed: active and `linked`', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    expect((await patchAccount(owner, { authEnforcement: 'google' })).status).toBe(200);
    const email = uniqueEmail('enforced-join');
    const [invited] = (await invite(api, owner, [email])).body.items;
    idp.addUser(email, { name: 'Ella Enforced' });
    const admin = await live(owner.token);
    const pushes = recorder(admin);
    const joined = next(admin, 'user.upserted', (data) => data.member.id === invited!.id);
    const token = await ssoToken(owner, { email }, 'google');
    const { member: row, seq } = await joined;
    // The member as the acceptance's transaction left it: the identity it linked included.
    expect(row).toMatchObject({ status: 'active', enforcedAuth: 'linked', name: 'Ella Enforced' });
    expect((await api.get<MemberDto>(`/users/${invited!.id}`, { token: owner.token })).body).toMatchObject(row);
    expect(seq).toBe((await newestActivity(owner, 'invitation.accepted')).seq);
    expect((await api.get<MeDto>('/me', { token })).body.member.id).toBe(invited!.id);
    await sleep(300);
    expect(
      pushes.events.filter(
        (e) => e.event === 'user.upserted' && (e.data as { member: MemberDto }).member.id === invited!.id,
      ),
    ).toHaveLength(1);
  });

  it('an Okta session stays in its account', async () => {
    const enterprise = await createAccount(api, { plan: 'enterprise' });
    await connectOkta(enterprise);
    const person = await createAccount(api, { accountName: 'Elsewhere' });
    idp.addUser(person.email);
    await invite(api, enterprise, [person.email]);
    const token = await ssoToken(enterprise, person, 'okta');
    const moved = await api.post('/auth/switch-account', { accountId: person.account.id }, { token });
    expect(moved.status).toBe(403);
    expect(moved.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it("under Okta enforcement the list filter matches the account's own Okta issuer (provider and issuer both bound)", async () => {
    const owner = await createAccount(api, { plan: 'enterprise', name: 'Olive Owner' });
    await connectOkta(owner);
    const linkedOne = await member(owner, { name: 'Lena Linked' });
    const pendingOne = await member(owner, { name: 'Paul Pending' });
    await ssoToken(owner, linkedOne, 'okta');
    const enforced = await patchAccount(owner, { authEnforcement: 'okta' });
    expect(enforced.status, JSON.stringify(enforced.body)).toBe(200);

    const ids = async (query: string) => {
      const page = (await api.get<MemberPageDto>(`/users?${query}`, { token: owner.token })).body;
      return { ids: page.items.map((m) => m.id).sort(), total: page.total };
    };
    expect(await ids('enforcedAuth=linked')).toEqual({ ids: [linkedOne.member.id], total: 1 });
    expect(await ids('enforcedAuth=pending')).toEqual({
      ids: [owner.member.id, pendingOne.member.id].sort(),
      total: 2,
    });
    // With a prefix too: both search branches bind the identity condition.
    expect(await ids('enforcedAuth=linked&q=lena')).toEqual({ ids: [linkedOne.member.id], total: 1 });
    expect(await ids(`enforcedAuth=linked&q=${encodeURIComponent(linkedOne.email.slice(0, 6))}`)).toEqual({
      ids: [linkedOne.member.id],
      total: 1,
    });
    expect(await ids('enforcedAuth=pending&q=lena')).toEqual({ ids: [], total: 0 });
  });
});

describe('required 2FA', () => {
  it('limits a member without 2FA to enrolment until they turn it on', async () => {
    const owner = await createAccount(api);
    await enrolTotp(api, owner.token, app.clock.now());
    const mia = await member(owner);
    expect((await patchAccount(owner, { require2fa: true })).status).toBe(200);

    const signedIn = await api.post<AuthResultDto>('/auth/sign-in', { email: mia.email, password: PASSWORD });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.twoFactorEnrolmentRequired).toBe(true);
    const token = signedIn.body.token;
    const limited = await api.get<MeDto>('/me', { token });
    expect(limited.status).toBe(200);
    expect(limited.body.twoFactorEnrolmentRequired).toBe(true);
    // The owner (with 2FA) is not limited.
    expect((await api.get<MeDto>('/me', { token: owner.token })).body.twoFactorEnrolmentRequired).toBe(false);
    for (const [method, path] of [
      ['GET', '/account'],
      ['GET', '/permissions'],
      ['GET', '/me/sessions'],
      ['PATCH', '/me'],
    ] as const) {
      const reply = await api.request(method, path, method === 'PATCH' ? { name: 'x' } : undefined, { token });
      expect({ path, status: reply.status, body: reply.body }).toMatchObject({
        path,
        status: 403,
        body: { error: { code: 'FORBIDDEN', details: { reason: 'two_factor_required' } } },
      });
    }
    // The session that existed before the setting changed is limited the same way, live included.
    expect((await api.get('/account', { token: mia.token })).status).toBe(403);
    await expect(
      new Promise((resolve, reject) => {
        const socket = connect(app.url, token);
        sockets.push(socket);
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (error) => reject(error));
      }),
    ).rejects.toThrow('FORBIDDEN');

    await enrolTotp(api, token, app.clock.now());
    expect((await api.get<MeDto>('/me', { token })).body.twoFactorEnrolmentRequired).toBe(false);
    expect((await api.get('/account', { token })).status).toBe(200);
    expect((await api.get('/permissions', { token })).status).toBe(200);
    expect((await live(token)).connected).toBe(true);
  });

  it('lets a limited session sign out', async () => {
    const owner = await createAccount(api);
    const mia = await member(owner);
    await enrolTotp(api, owner.token, app.clock.now());
    expect((await patchAccount(owner, { require2fa: true })).status).toBe(200);
    expect((await api.post('/auth/sign-out', undefined, { token: mia.token })).status).toBe(204);
    expect((await api.get('/me', { token: mia.token })).body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
  });

  it('counts an SSO sign-in only when its amr shows a second factor', async () => {
    const owner = await createAccount(api);
    await enrolTotp(api, owner.token, app.clock.now());
    const mia = await member(owner);
    expect((await patchAccount(owner, { require2fa: true })).status).toBe(200);

    const plain = await ssoToken(owner, mia, 'google');
    expect((await api.get('/account', { token: plain })).body).toMatchObject({
      error: { code: 'FORBIDDEN', details: { reason: 'two_factor_required' } },
    });
    expect((await api.get<MeDto>('/me', { token: plain })).body.twoFactorEnrolmentRequired).toBe(true);
    const strong = await ssoToken(owner, mia, 'google', { mfa: true });
    expect((await api.get('/account', { token: strong })).status).toBe(200);
    expect((await api.get<MeDto>('/me', { token: strong })).body.twoFactorEnrolmentRequired).toBe(false);
    expect((await newestActivity(owner, 'session.signed_in')).changes).toEqual({ method: 'google', mfa: true });
    const rows = await query<{ mfa: boolean | number }>(
      app,
      'SELECT mfa FROM sessions WHERE account_id = ? AND auth_method = ? ORDER BY created_at',
      [owner.account.id, 'google'],
    );
    expect(rows.map((r) => Boolean(r.mfa))).toEqual([false, true]);
  });
});

describe('PUT /account/okta', () => {
  it('is Enterprise only, needs If-Match and account.manage, and a secret the first time', async () => {
    const business = await createAccount(api, { plan: 'business' });
    expect(
      (
        await api.put('/account/okta', oktaConnection(idp), {
          token: business.token,
          headers: ifMatch((await account(business)).version),
        })
      ).body,
    ).toMatchObject({ error: { code: 'PLAN_FEATURE_UNAVAILABLE' } });

    const owner = await createAccount(api, { plan: 'enterprise' });
    const editor = await member(owner);
    const version = (await account(owner)).version;
    expect((await api.put('/account/okta', oktaConnection(idp), { token: owner.token })).status).toBe(428);
    expect(
      (await api.put('/account/okta', oktaConnection(idp), { token: editor.token, headers: ifMatch(version) })).status,
    ).toBe(403);
    const { clientSecret: _secret, ...withoutSecret } = oktaConnection(idp);
    const missing = await api.put('/account/okta', withoutSecret, { token: owner.token, headers: ifMatch(version) });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ error: { details: { fields: { clientSecret: ['Required'] } } } });
    const badIssuer = await api.put(
      '/account/okta',
      { ...oktaConnection(idp), issuer: 'ftp://okta.example.com' },
      { token: owner.token, headers: ifMatch(version) },
    );
    expect(badIssuer.status).toBe(400);

    const connected = await connectOkta(owner);
    // Changing only the client id keeps the stored secret, and the sign-in still works.
    const renamed = await api.put<AccountDto>(
      '/account/okta',
      { ...withoutSecret, clientId: 'rolecall-okta' },
      { token: owner.token, headers: ifMatch(connected.version) },
    );
    expect(renamed.status).toBe(200);
    expect(renamed.body.version).toBe(connected.version);
    await ssoToken(owner, editor, 'okta');
  });
});
