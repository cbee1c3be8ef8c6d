/**
 * Forgotten passwords (issue 13 §3) over real HTTP: the mailed link, its single use and expiry, the
 * second factor it cannot skip, every session ending live, and an answer that says nothing about
 * whether the email exists.
 */
import type { ActivityEntryDto, AuthResultDto, PasswordResetInfoDto } from '@rolecall/contracts';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { query } from './support/db.js';
import {
  createAccount,
  enrolTotp,
  invite,
  inviteAndAccept,
  PASSWORD,
  totpAt,
  uniqueEmail,
} from './support/factories.js';
import { client, type Client } from './support/http.js';
import { next, open, type TestSocket } from './support/live.js';
import { invitationToken, linkToken, waitForLinkToken, mailsTo } from './support/outbox.js';

const NEW_PASSWORD = 'a brand new password';

let app: TestApp;
let api: Client;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  app = await startApp({
    rateLimits: { signInPerIp: 100_000, passwordResetPerIp: 100_000, linksPerIp: 100_000, totpPerPerson: 100 },
  });
  api = client(app.url);
});
afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await app?.close();
});

/** Asks for a reset and waits until the link is made and mailed (it happens after the answer). */
async function requestReset(email: string, target: TestApp = app): Promise<{ status: number; token: string | null }> {
  const reply = await client(target.url).post('/auth/password-reset', { email });
  await target.mailSettled();
  return { status: reply.status, token: linkToken(target.config.dataDir, email, '/reset-password/') };
}

async function live(token: string): Promise<TestSocket> {
  const socket = await open(app.url, token);
  sockets.push(socket);
  return socket;
}

describe('POST /auth/password-reset', () => {
  it('answers 202 alike for a known and an unknown email, and mails only the known one', async () => {
    const owner = await createAccount(api);
    const stranger = uniqueEmail('nobody');
    const known = await api.post('/auth/password-reset', { email: owner.email.toUpperCase() });
    const unknown = await api.post('/auth/password-reset', { email: stranger });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(unknown.body).toEqual(known.body);
    const headers = (reply: typeof known) => {
      const seen: string[] = [];
      // The date and the request id (fresh for every request) differ between any two answers.
      reply.headers.forEach(
        (value, name) => name !== 'date' && name !== 'x-request-id' && seen.push(`${name}: ${value}`),
      );
      return seen;
    };
    expect(headers(unknown)).toEqual(headers(known));
    await app.mailSettled();
    expect(linkToken(app.config.dataDir, owner.email, '/reset-password/')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(mailsTo(app.config.dataDir, stranger)).toHaveLength(0);
  });

  it('answers before the mail is sent, so a slow mail server cannot tell known from unknown', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let received = 0;
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => void held.then(() => (received++, callback())));
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as { port: number }).port;
    const slow = await startApp({ overrides: { smtpUrl: `smtp://127.0.0.1:${port}` } });
    try {
      const owner = await createAccount(client(slow.url));
      const reply = await client(slow.url).post('/auth/password-reset', { email: owner.email });
      expect(reply.status).toBe(202);
      // The mail server has not accepted a single message yet, and the answer is already here.
      expect(received).toBe(0);
      release();
      await slow.mailSettled();
      expect(received).toBeGreaterThanOrEqual(1);
    } finally {
      release();
      await slow.close();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });

  it('limits requests per email and per IP (429), known email or not', async () => {
    const limited = await startApp({ rateLimits: { passwordResetPerEmail: 2, passwordResetPerIp: 5 } });
    try {
      const limitedApi = client(limited.url);
      const email = uniqueEmail('nobody');
      expect((await limitedApi.post('/auth/password-reset', { email })).status).toBe(202);
      expect((await limitedApi.post('/auth/password-reset', { email })).status).toBe(202);
      const third = await limitedApi.post('/auth/password-reset', { email });
      expect(third.status).toBe(429);
      expect(third.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
      // Five per IP: the three above and two more, whatever the email.
      expect((await limitedApi.post('/auth/password-reset', { email: uniqueEmail() })).status).toBe(202);
      expect((await limitedApi.post('/auth/password-reset', { email: uniqueEmail() })).status).toBe(202);
      expect((await limitedApi.post('/auth/password-reset', { email: uniqueEmail() })).status).toBe(429);
    } finally {
      await limited.close();
    }
  });
});

describe('POST /auth/password-reset/confirm', () => {
  it('sets the password, ends every session of the person live, and logs it in each account', async () => {
    const owner = await createAccount(api);
    const other = await createAccount(api, { accountName: 'Other' });
    const member = await inviteAndAccept(api, app.config.dataDir, owner);
    // The same person joins a second account (signed in as them: their email is verified).
    expect((await invite(api, other, [member.email])).status).toBe(201);
    const second = (
      await api.post<AuthResultDto>(
        '/invitations/accept',
        { token: invitationToken(app.config.dataDir, member.email) },
        { token: member.token },
      )
    ).body;
    expect(second.member.email).toBe(member.email);
    const sockets = [await live(member.token), await live(second.token)];
    const revoked = sockets.map((socket) => next(socket, 'me.revoked'));

    const { token } = await requestReset(member.email);
    const info = await api.get<PasswordResetInfoDto>(`/auth/password-reset/${token}`);
    expect(info.body).toEqual({ email: member.email, twoFactorRequired: false, claimsAddress: false });
    const stored = await query<{ token_hash: string; expires_at: string; created_at: string }>(
      app,
      "SELECT token_hash, expires_at, created_at FROM email_links WHERE email = ? AND purpose = 'password_reset'",
      [member.email],
    );
    expect(stored[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(stored[0]!.expires_at) - Date.parse(stored[0]!.created_at)).toBe(60 * 60 * 1000);

    const done = await api.post('/auth/password-reset/confirm', { token, password: NEW_PASSWORD });
    expect(done.status).toBe(204);
    expect(await Promise.all(revoked)).toEqual([{ reason: 'password_reset' }, { reason: 'password_reset' }]);
    for (const old of [member.token, second.token]) expect((await api.get('/me', { token: old })).status).toBe(401);
    expect((await api.post('/auth/sign-in', { email: member.email, password: PASSWORD })).status).toBe(401);
    expect((await api.post('/auth/sign-in', { email: member.email, password: NEW_PASSWORD })).status).toBe(200);

    const again = await api.post('/auth/password-reset/confirm', { token, password: 'yet another password' });
    expect(again.status).toBe(410);
    expect(again.body).toMatchObject({ error: { code: 'LINK_INVALID' } });
    for (const admin of [owner, other]) {
      const entries = await api.get<{ items: ActivityEntryDto[] }>('/activity?action=person.password_reset', {
        token: admin.token,
      });
      expect(entries.body.items).toHaveLength(1);
      expect(entries.body.items[0]).toMatchObject({
        target: { type: 'person', label: member.email },
        changes: { sessionsEnded: 2 },
      });
    }
  });

  it('kills the older link when a new one is asked for, and expires a link after an hour', async () => {
    const owner = await createAccount(api);
    const first = (await requestReset(owner.email)).token;
    const second = (await requestReset(owner.email)).token;
    expect(second).not.toBe(first);
    expect((await api.post('/auth/password-reset/confirm', { token: first, password: NEW_PASSWORD })).status).toBe(410);
    app.clock.advance(60 * 60 * 1000 + 1000);
    try {
      expect((await api.post('/auth/password-reset/confirm', { token: second, password: NEW_PASSWORD })).status).toBe(
        410,
      );
    } finally {
      app.clock.advance(-(60 * 60 * 1000 + 1000));
    }
    expect((await api.post('/auth/sign-in', { email: owner.email, password: PASSWORD })).status).toBe(200);
  });

  it('asks for the second factor when 2FA is on: a link alone does not get past it', async () => {
    const owner = await createAccount(api);
    // A verified email: the reset is the person's own, not a claim.
    const verify = await waitForLinkToken(app.config.dataDir, owner.email, '/verify-email/');
    expect((await api.post('/auth/verify-email', { token: verify }, { token: owner.token })).status).toBe(204);
    const { secret, recoveryCodes } = await enrolTotp(api, owner.token, app.clock.now());
    const { token } = await requestReset(owner.email);
    expect((await api.get<PasswordResetInfoDto>(`/auth/password-reset/${token}`)).body).toMatchObject({
      twoFactorRequired: true,
      claimsAddress: false,
    });

    const missing = await api.post('/auth/password-reset/confirm', { token, password: NEW_PASSWORD });
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: { code: 'TOTP_REQUIRED' } });
    const wrong = await api.post('/auth/password-reset/confirm', { token, password: NEW_PASSWORD, totp: '000000' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: 'TOTP_INVALID' } });
    // Neither spent the link, nor changed the password.
    app.clock.advance(30_000);
    expect(
      (
        await api.post('/auth/sign-in', {
          email: owner.email,
          password: PASSWORD,
          totp: await totpAt(secret, app.clock.now()),
        })
      ).status,
    ).toBe(200);
    const ok = await api.post('/auth/password-reset/confirm', {
      token,
      password: NEW_PASSWORD,
      totp: recoveryCodes[0],
    });
    expect(ok.status).toBe(204);
    app.clock.advance(30_000);
    const signedIn = await api.post<AuthResultDto>('/auth/sign-in', {
      email: owner.email,
      password: NEW_PASSWORD,
      totp: await totpAt(secret, app.clock.now()),
    });
    expect(signedIn.status).toBe(200);
  });

  it('refuses a malformed or unknown token and a short password with the error shape', async () => {
    for (const token of ['short', 'A'.repeat(43)]) {
      const reply = await api.post('/auth/password-reset/confirm', { token, password: NEW_PASSWORD });
      expect(reply.status, token).toBe(token === 'short' ? 400 : 410);
    }
    const owner = await createAccount(api);
    const { token } = await requestReset(owner.email);
    const short = await api.post('/auth/password-reset/confirm', { token, password: 'short' });
    expect(short.status).toBe(400);
    expect(short.body).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: { fields: { password: [expect.any(String)] } } },
    });
    expect((await api.get(`/auth/password-reset/${'B'.repeat(43)}`)).status).toBe(410);
  });
});
