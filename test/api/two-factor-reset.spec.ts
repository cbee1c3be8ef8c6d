/**
 * An admin resets a member's 2FA (issue 13 §3): `DELETE /users/:id/2fa` with If-Match. The member
 * enrols again at the next sign-in; the password stops working until a new one is chosen through
 * the mailed link, so the reset cannot be turned into a way past the second factor by someone who
 * knows the old password; the owner's 2FA is the owner's alone.
 */
import type { ActivityEntryDto, AuthResultDto, MeDto, MemberDetailDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { query } from './support/db.js';
import { createAccount, enrolTotp, ifMatch, invite, inviteAndAccept, PASSWORD, ROLE, totpAt, type Joined, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { next, open, type TestSocket } from './support/live.js';
import { invitationToken, waitForLinkToken } from './support/outbox.js';

const NEW_PASSWORD = 'my phone fell in the lake';

let app: TestApp;
let api: Client;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  app = await startApp({ rateLimits: { signInPerIp: 100_000, linksPerIp: 100_000 } });
  api = client(app.url);
});
afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await app?.close();
});

/** A member of `owner`'s account who turned 2FA on. */
async function member(owner: SignedUp, roleId: string = ROLE.editor): Promise<Joined & { secret: string }> {
  const joined = await inviteAndAccept(api, app.config.dataDir, owner, { roleId });
  const { secret } = await enrolTotp(api, joined.token, app.clock.now());
  return { ...joined, secret };
}

async function version(admin: { token: string }, id: string): Promise<number> {
  const reply = await api.get<MemberDetailDto>(`/users/${id}`, { token: admin.token });
  return reply.body.version;
}

async function reset(admin: { token: string }, id: string, headers?: Record<string, string>) {
  return api.delete(`/users/${id}/2fa`, undefined, { token: admin.token, headers: headers ?? ifMatch(await version(admin, id)) });
}

describe('DELETE /users/:id/2fa', () => {
  it('resets the member: sessions here end live, the password waits for the mailed link, then they enrol again', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const admin = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.admin });
    const bob = await member(owner);
    // Bob is also a member of another account, signed in there with 2FA: that session stays.
    const elsewhere = await createAccount(api, { accountName: 'Elsewhere' });
    expect((await invite(api, elsewhere, [bob.email])).status).toBe(201);
    const joined = await api.post<AuthResultDto>('/invitations/accept', { token: invitationToken(app.config.dataDir, bob.email) }, { token: bob.token });
    expect(joined.status).toBe(200);
    app.clock.advance(30_000);
    const elsewhereSession = await api.post<AuthResultDto>('/auth/sign-in', { email: bob.email, password: PASSWORD, totp: await totpAt(bob.secret, app.clock.now()), accountId: elsewhere.account.id });
    expect(elsewhereSession.status).toBe(200);

    const socket = await open(app.url, bob.token);
    sockets.push(socket);
    const revoked = next(socket, 'me.revoked');
    const before = await version(admin, bob.member.id);
    const done = await reset(admin, bob.member.id);
    expect(done.status, JSON.stringify(done.body)).toBe(204);
    expect(await revoked).toEqual({ reason: 'two_factor_reset' });
    expect((await api.get('/me', { token: bob.token })).status).toBe(401);
    expect((await api.get('/me', { token: elsewhereSession.body.token })).status).toBe(200);
    const after = await api.get<MemberDetailDto>(`/users/${bob.member.id}`, { token: admin.token });
    expect(after.body).toMatchObject({ twoFactorEnabled: false, version: before });

    const [entry] = (await api.get<{ items: ActivityEntryDto[] }>('/activity?action=person.2fa_reset', { token: owner.token })).body.items;
    expect(entry).toMatchObject({ target: { type: 'member', id: bob.member.id }, changes: { sessionsEnded: 1, passwordResetRequired: true } });
    const rows = await query<{ totp_secret: string | null; recovery_codes: string | null }>(app, 'SELECT totp_secret, recovery_codes FROM persons WHERE email = ?', [bob.email]);
    expect(rows[0]).toEqual({ totp_secret: null, recovery_codes: null });

    // The old password alone no longer signs in — whoever knows it, from anywhere.
    const old = await api.post('/auth/sign-in', { email: bob.email, password: PASSWORD });
    expect(old.status).toBe(403);
    expect(old.body).toMatchObject({ error: { code: 'FORBIDDEN', details: { reason: 'password_reset_required' } } });
    const wrong = await api.post('/auth/sign-in', { email: bob.email, password: 'not the password' });
    expect(wrong.status).toBe(401);

    // The mailed link: no second factor asked (there is none now), a new password.
    const token = await waitForLinkToken(app.config.dataDir, bob.email, '/reset-password/');
    expect((await api.get(`/auth/password-reset/${token}`)).body).toEqual({ email: bob.email, twoFactorRequired: false, claimsAddress: false });
    expect((await api.post('/auth/password-reset/confirm', { token, password: NEW_PASSWORD })).status).toBe(204);
    const signedIn = await api.post<AuthResultDto & { twoFactorEnrolmentRequired?: boolean }>('/auth/sign-in', { email: bob.email, password: NEW_PASSWORD, accountId: owner.account.id });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.twoFactorEnrolmentRequired).toBe(true);
    const me = await api.get<MeDto>('/me', { token: signedIn.body.token });
    expect(me.body.twoFactorEnrolmentRequired).toBe(true);
    const blocked = await api.get('/account', { token: signedIn.body.token });
    expect(blocked.status).toBe(403);
    expect(blocked.body).toMatchObject({ error: { details: { reason: 'two_factor_required' } } });
    await enrolTotp(api, signedIn.body.token, app.clock.now());
    expect((await api.get('/account', { token: signedIn.body.token })).status).toBe(200);
    expect((await api.get<MeDto>('/me', { token: signedIn.body.token })).body.twoFactorEnrolmentRequired).toBe(false);
  });

  it('refuses the owner’s 2FA to an admin, one’s own, and a member without 2FA', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    await enrolTotp(api, owner.token, app.clock.now());
    app.clock.advance(30_000);
    const admin = await member(owner, ROLE.admin);
    const plain = await inviteAndAccept(api, app.config.dataDir, owner);

    const ownerReset = await reset(admin, owner.member.id);
    expect(ownerReset.status).toBe(409);
    expect(ownerReset.body).toMatchObject({ error: { code: 'OWNER_PROTECTED' } });
    const self = await reset(admin, admin.member.id);
    expect(self.status).toBe(403);
    expect(self.body).toMatchObject({ error: { code: 'SELF_ACTION_FORBIDDEN' } });
    const ownSelf = await reset(owner, owner.member.id);
    expect(ownSelf.status).toBe(403);
    const none = await reset(admin, plain.member.id);
    expect(none.status).toBe(409);
    expect(none.body).toMatchObject({ error: { code: 'CONFLICT' } });
    // Nothing happened to the owner.
    expect((await api.get<MeDto>('/me', { token: owner.token })).body.person.twoFactorEnabled).toBe(true);
  });

  it('needs users.manage and If-Match, and stays inside the tenant', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const bob = await member(owner);
    const editor = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    expect((await reset(editor, bob.member.id)).status).toBe(403);
    const missing = await reset(owner, bob.member.id, {});
    expect(missing.status).toBe(428);
    const stale = await reset(owner, bob.member.id, ifMatch(999));
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ error: { code: 'VERSION_MISMATCH', details: { current: { id: bob.member.id } } } });
    const stranger = await createAccount(api);
    const other = await reset(stranger, bob.member.id, ifMatch(1));
    expect(other.status).toBe(404);
    expect((await api.get<MeDto>('/me', { token: bob.token })).body.person.twoFactorEnabled).toBe(true);
  });
});
