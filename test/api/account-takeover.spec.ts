/**
 * Pre-account hijacking (issue 13 §1; Sudhodanan & Paverd, USENIX Security 2022): somebody signs up
 * with another person's email before they do. An unverified email is owned by nobody: whoever proves
 * the mailbox — the verification link, an invitation, a password reset, or a provider that vouches
 * for the email — takes the person over, and the squatter's sessions and credentials end.
 */
import type { ActivityEntryDto, AuthResultDto, InvitationInfoDto, MeDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { query } from './support/db.js';
import { createAccount, enrolTotp, invite, ROLE, uniqueEmail, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { disconnected, next, open, type TestSocket } from './support/live.js';
import { invitationToken, linkToken, waitForLinkToken } from './support/outbox.js';
import { Browser, ssoOverrides, ssoSignIn, startTestIdp, type TestIdp } from './support/oidc.js';

const SQUATTER_PASSWORD = 'the squatter knows this one';
const VICTIM_PASSWORD = 'the real owner chose this';

let app: TestApp;
let api: Client;
let idp: TestIdp;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  idp = await startTestIdp();
  app = await startApp({
    overrides: ssoOverrides(idp),
    rateLimits: { signInPerIp: 100_000, signInPerEmail: 100_000, acceptancePerIp: 100_000, linksPerIp: 100_000 },
  });
  api = client(app.url);
});
afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await app?.close();
  await idp?.close();
});

/** The squatter signs up first with the victim's address, turns 2FA on, and keeps a live socket. */
async function squat(email: string, options: { totp?: boolean } = {}): Promise<{ signedUp: SignedUp; socket: TestSocket }> {
  const signedUp = await createAccount(api, { email, password: SQUATTER_PASSWORD, accountName: 'Squat Inc', name: 'Not The Victim' });
  if (options.totp) await enrolTotp(api, signedUp.token, app.clock.now());
  const socket = await open(app.url, signedUp.token);
  sockets.push(socket);
  return { signedUp, socket };
}

/** The victim's company invites the victim's address as an Editor. */
async function victimCompany(email: string): Promise<SignedUp> {
  const company = await createAccount(api, { accountName: 'Victim Corp', plan: 'business' });
  const invited = await invite(api, company, [email], { roleId: ROLE.editor });
  expect(invited.status).toBe(201);
  return company;
}

async function personOf(email: string) {
  const [row] = await query<{ id: string; email_verified: boolean | number; password_hash: string | null; totp_secret: string | null }>(
    app,
    'SELECT id, email_verified, password_hash, totp_secret FROM persons WHERE email = ?',
    [email],
  );
  return row!;
}

async function actions(token: string, action: string): Promise<ActivityEntryDto[]> {
  const reply = await api.get<{ items: ActivityEntryDto[] }>(`/activity?action=${action}`, { token });
  expect(reply.status).toBe(200);
  return reply.body.items;
}

/** What the squatter can still do afterwards: nothing. */
async function expectSquatterLockedOut(squatter: SignedUp, company: SignedUp, socket: TestSocket, revoked: Promise<{ reason: string }>) {
  expect(await revoked).toEqual({ reason: 'email_claimed' });
  await disconnected(socket);
  const me = await api.get('/me', { token: squatter.token });
  expect(me.status).toBe(401);
  expect(me.body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
  for (const accountId of [company.account.id, squatter.account.id, undefined]) {
    const again = await api.post('/auth/sign-in', { email: squatter.email, password: SQUATTER_PASSWORD, ...(accountId ? { accountId } : {}) });
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ error: { code: 'INVALID_CREDENTIALS' } });
  }
}

describe('squatter + invitation accepted with a password', () => {
  it('hands the person to whoever holds the invitation, and locks the squatter out', async () => {
    const email = uniqueEmail('victim');
    const { signedUp: squatter, socket } = await squat(email, { totp: true });
    const company = await victimCompany(email);
    const token = invitationToken(app.config.dataDir, email);

    const info = await api.get<InvitationInfoDto>(`/invitations/${token}`);
    expect(info.body).toMatchObject({ existingPerson: false, unverifiedPerson: true });

    const revoked = next(socket, 'me.revoked');
    const accepted = await api.post<AuthResultDto>('/invitations/accept', { token, name: 'Vera Victim', password: VICTIM_PASSWORD });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(accepted.body.member).toMatchObject({ email, status: 'active', name: 'Vera Victim', twoFactorEnabled: false });
    await expectSquatterLockedOut(squatter, company, socket, revoked);

    const person = await personOf(email);
    expect(Boolean(person.email_verified)).toBe(true);
    expect(person.totp_secret).toBeNull();

    // The real owner signs in with the password they chose, into the company and into Squat Inc
    // (accounts the squatter made stay with the person: the mailbox's owner now owns them).
    const signedIn = await api.post<AuthResultDto>('/auth/sign-in', { email, password: VICTIM_PASSWORD, accountId: company.account.id });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.accounts.map((a) => a.id).sort()).toEqual([company.account.id, squatter.account.id].sort());
    const me = await api.get<MeDto>('/me', { token: signedIn.body.token });
    expect(me.body.person).toMatchObject({ email, emailVerified: true, twoFactorEnabled: false });

    // Logged in each account the person belongs to.
    const [inCompany] = await actions(company.token, 'person.email_claimed');
    expect(inCompany).toMatchObject({ action: 'person.email_claimed', target: { type: 'person', label: email } });
    expect(inCompany!.changes).toMatchObject({ via: 'invitation', sessionsEnded: 1, twoFactorRemoved: true, passwordRemoved: true });
    const ownToken = (await api.post<AuthResultDto>('/auth/sign-in', { email, password: VICTIM_PASSWORD, accountId: squatter.account.id })).body.token;
    expect(await actions(ownToken, 'person.email_claimed')).toHaveLength(1);
    const verify = await api.get<{ ok: boolean }>('/activity/verify', { token: ownToken });
    expect(verify.body.ok).toBe(true);
  });

  it('still asks a verified person to sign in first (today’s rule)', async () => {
    const email = uniqueEmail('verified');
    const first = await createAccount(api, { email });
    const verified = await api.post('/auth/verify-email', { token: await waitForLinkToken(app.config.dataDir, email, '/verify-email/') }, { token: first.token });
    expect(verified.status).toBe(204);
    await victimCompany(email);
    const token = invitationToken(app.config.dataDir, email);
    const info = await api.get<InvitationInfoDto>(`/invitations/${token}`);
    expect(info.body).toMatchObject({ existingPerson: true, unverifiedPerson: false });
    const refused = await api.post('/invitations/accept', { token, name: 'Someone Else', password: 'a fresh password' });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: { code: 'UNAUTHENTICATED', details: { reason: 'sign_in_required' } } });
    expect((await api.get('/me', { token: first.token })).status).toBe(200);
  });

  it('lets the unverified person accept while signed in as themselves, without a claim', async () => {
    const email = uniqueEmail('self');
    const own = await createAccount(api, { email });
    await victimCompany(email);
    const token = invitationToken(app.config.dataDir, email);
    const accepted = await api.post<AuthResultDto>('/invitations/accept', { token }, { token: own.token });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect((await api.get('/me', { token: own.token })).status).toBe(200);
    expect(Boolean((await personOf(email)).email_verified)).toBe(true);
    expect(await actions(own.token, 'person.email_claimed')).toHaveLength(0);
  });
});

describe('proofs of one mailbox at once', () => {
  // On PostgreSQL the invitation (its account locked first) and the links (the person first, then
  // every account of the person) deadlocked, and, retried together, deadlocked again: a 500 (CI, stop
  // 27). Every proof now takes the mailbox's lock before anything else.
  it('lets exactly one of an invitation, a verification link and a reset link take the login over (10 rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const email = uniqueEmail('race');
      await squat(email);
      await victimCompany(email);
      const invitation = invitationToken(app.config.dataDir, email);
      const link = await waitForLinkToken(app.config.dataDir, email, '/verify-email/');
      expect((await api.post('/auth/password-reset', { email })).status).toBe(202);
      const reset = await waitForLinkToken(app.config.dataDir, email, '/reset-password/');
      const passwords = ['alpha password one', 'beta password two', 'gamma password three'];
      const replies = await Promise.all([
        api.post('/invitations/accept', { token: invitation, name: 'Alpha', password: passwords[0] }),
        api.post('/auth/verify-email', { token: link, password: passwords[1] }),
        api.post('/auth/password-reset/confirm', { token: reset, password: passwords[2] }),
      ]);
      const statuses = replies.map((reply) => reply.status).join(', ');
      const won = replies.map((reply) => reply.status < 300);
      expect(won.filter(Boolean), `round ${round}: ${statuses}`).toHaveLength(1);
      for (const loser of replies.filter((_, i) => !won[i]))
        expect([401, 409, 410], `round ${round}: ${statuses}`).toContain(loser.status);
      for (const [i, password] of passwords.entries()) {
        expect((await api.post('/auth/sign-in', { email, password })).status, `round ${round}, password ${i}`).toBe(
          won[i] ? 200 : 401,
        );
      }
    }
  }, 90_000); // 10 rounds of three argon2 hashes and three sign-ins each: ~9 s quiet, ~27 s on a loaded machine
});

describe('squatter + single sign-on', () => {
  it('never links the provider identity to the squatter: the sign-in claims the person', async () => {
    const email = uniqueEmail('sso-victim');
    const { signedUp: squatter, socket } = await squat(email);
    const company = await victimCompany(email);
    idp.addUser(email, { name: 'Vera Victim' });

    const revoked = next(socket, 'me.revoked');
    const attempt = await ssoSignIn(app, new Browser(app), { provider: 'google', accountId: company.account.id, email });
    expect(attempt.error).toBeNull();
    expect(attempt.sessionToken).toEqual(expect.any(String));
    await expectSquatterLockedOut(squatter, company, socket, revoked);

    const me = await api.get<MeDto>('/me', { token: attempt.sessionToken! });
    expect(me.body.member).toMatchObject({ email, status: 'active', role: { id: ROLE.editor } });
    expect(me.body.person).toMatchObject({ emailVerified: true });
    const person = await personOf(email);
    expect(person.password_hash).toBeNull();
    const [entry] = await actions(company.token, 'person.email_claimed');
    expect(entry!.changes).toMatchObject({ via: 'google', passwordRemoved: true });
  });
});

describe('email verification', () => {
  it('starts unverified, mails a link, and confirms it for the person signed in', async () => {
    const email = uniqueEmail('fresh');
    const owner = await createAccount(api, { email });
    expect((await api.get<MeDto>('/me', { token: owner.token })).body.person.emailVerified).toBe(false);
    const token = await waitForLinkToken(app.config.dataDir, email, '/verify-email/');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await api.get('/auth/verify-email/' + token)).body).toEqual({ email });
    const stored = await query<{ token_hash: string }>(app, 'SELECT token_hash FROM email_links WHERE email = ?', [email]);
    expect(stored[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0]!.token_hash).not.toContain(token!);

    expect((await api.post('/auth/verify-email', { token }, { cookie: `rolecall_session=${owner.token}` })).status).toBe(204);
    expect((await api.get<MeDto>('/me', { token: owner.token })).body.person.emailVerified).toBe(true);
    const again = await api.post('/auth/verify-email', { token }, { token: owner.token });
    expect(again.status).toBe(410);
    expect(again.body).toMatchObject({ error: { code: 'LINK_INVALID' } });
    expect(await actions(owner.token, 'person.email_verified')).toHaveLength(1);
  });

  it('hands the person to whoever opens the link without being them, who must choose the password', async () => {
    const email = uniqueEmail('link-victim');
    const { signedUp: squatter, socket } = await squat(email);
    const token = await waitForLinkToken(app.config.dataDir, email, '/verify-email/');
    const needsPassword = await api.post('/auth/verify-email', { token });
    expect(needsPassword.status).toBe(400);
    expect(needsPassword.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: { fields: { password: [expect.any(String)] } } } });
    expect((await api.get('/me', { token: squatter.token })).status).toBe(200);

    const revoked = next(socket, 'me.revoked');
    expect((await api.post('/auth/verify-email', { token, password: VICTIM_PASSWORD })).status).toBe(204);
    expect(await revoked).toEqual({ reason: 'email_claimed' });
    expect((await api.get('/me', { token: squatter.token })).status).toBe(401);
    const signedIn = await api.post<AuthResultDto>('/auth/sign-in', { email, password: VICTIM_PASSWORD });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.account.id).toBe(squatter.account.id);
  });

  it('resends a link on request (the old one dies), refuses once verified, and limits the rate', async () => {
    const limited = await startApp({ rateLimits: { verifyEmailPerPerson: 2 } });
    try {
      const limitedApi = client(limited.url);
      const email = uniqueEmail('resend');
      const owner = await createAccount(limitedApi, { email });
      const first = await waitForLinkToken(limited.config.dataDir, email, '/verify-email/');
      expect((await limitedApi.post('/me/verify-email', undefined, { token: owner.token })).status).toBe(204);
      await limited.mailSettled();
      const second = linkToken(limited.config.dataDir, email, '/verify-email/');
      expect(second).not.toBe(first);
      expect((await limitedApi.get(`/auth/verify-email/${first}`)).status).toBe(410);
      expect((await limitedApi.post('/me/verify-email', undefined, { token: owner.token })).status).toBe(204);
      const third = await limitedApi.post('/me/verify-email', undefined, { token: owner.token });
      expect(third.status).toBe(429);
      expect(third.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      await limited.mailSettled();
      expect((await limitedApi.post('/auth/verify-email', { token: linkToken(limited.config.dataDir, email, '/verify-email/') }, { token: owner.token })).status).toBe(204);
      const done = await limitedApi.post('/me/verify-email', undefined, { token: owner.token });
      expect(done.status).toBe(409);
    } finally {
      await limited.close();
    }
  });

  it('expires the link after 24 hours', async () => {
    const email = uniqueEmail('late');
    const owner = await createAccount(api, { email });
    const token = await waitForLinkToken(app.config.dataDir, email, '/verify-email/');
    app.clock.advance(24 * 60 * 60 * 1000 + 1000);
    try {
      const late = await api.post('/auth/verify-email', { token }, { token: owner.token });
      expect(late.status).toBe(410);
    } finally {
      app.clock.advance(-(24 * 60 * 60 * 1000 + 1000));
    }
  });
});

describe('squatter + password reset', () => {
  it('lets the mailbox take the login over without the squatter’s second factor', async () => {
    const email = uniqueEmail('reset-victim');
    const { signedUp: squatter, socket } = await squat(email, { totp: true });
    expect((await api.post('/auth/password-reset', { email })).status).toBe(202);
    const token = await waitForLinkToken(app.config.dataDir, email, '/reset-password/');
    const info = await api.get(`/auth/password-reset/${token}`);
    expect(info.body).toEqual({ email, twoFactorRequired: false, claimsAddress: true });

    const revoked = next(socket, 'me.revoked');
    expect((await api.post('/auth/password-reset/confirm', { token, password: VICTIM_PASSWORD })).status).toBe(204);
    expect(await revoked).toEqual({ reason: 'email_claimed' });
    expect((await api.get('/me', { token: squatter.token })).status).toBe(401);
    const signedIn = await api.post<AuthResultDto>('/auth/sign-in', { email, password: VICTIM_PASSWORD });
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    const [entry] = await actions(signedIn.body.token, 'person.email_claimed');
    expect(entry!.changes).toMatchObject({ via: 'password_reset', twoFactorRemoved: true });
  });
});
