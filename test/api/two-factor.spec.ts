import type { AccountDto, AuthResultDto, MeDto, TotpSetupDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, enrolTotp, ifMatch, PASSWORD, totpAt, type SignedUp } from './support/factories.js';
import { activityActions } from './support/db.js';
import { client, type Client } from './support/http.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

const signIn = (email: string, totp?: string) => api.post<AuthResultDto>('/auth/sign-in', { email, password: PASSWORD, ...(totp ? { totp } : {}) });

describe('2FA enrolment', () => {
  it('answers a base32 secret, an otpauth URL and an SVG QR code', async () => {
    const owner = await createAccount(api);
    const reply = await api.post<TotpSetupDto>('/me/2fa/setup', undefined, { token: owner.token });
    expect(reply.status).toBe(200);
    expect(reply.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(reply.body.otpauthUrl).toBe(`otpauth://totp/Rolecall:${encodeURIComponent(owner.email)}?secret=${reply.body.secret}&issuer=Rolecall`);
    expect(reply.body.qrSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  });

  it('turns 2FA on only with a valid code and answers 10 distinct recovery codes', async () => {
    const owner = await createAccount(api);
    const setup = await api.post<TotpSetupDto>('/me/2fa/setup', undefined, { token: owner.token });
    const bad = await api.post('/me/2fa/confirm', { code: '000000' }, { token: owner.token });
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ error: { code: 'TOTP_INVALID' } });
    expect((await api.get<MeDto>('/me', { token: owner.token })).body.person.twoFactorEnabled).toBe(false);

    const code = await totpAt(setup.body.secret, app.clock.now());
    const good = await api.post<{ recoveryCodes: string[] }>('/me/2fa/confirm', { code }, { token: owner.token });
    expect(good.status).toBe(200);
    expect(good.body.recoveryCodes).toHaveLength(10);
    expect(new Set(good.body.recoveryCodes).size).toBe(10);
    for (const recovery of good.body.recoveryCodes) expect(recovery).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    const me = await api.get<MeDto>('/me', { token: owner.token });
    expect(me.body.person.twoFactorEnabled).toBe(true);
    expect(me.body.member.twoFactorEnabled).toBe(true);
  });

  it('records enabling and disabling in the activity chain', async () => {
    const owner = await createAccount(api);
    const { secret } = await enrolTotp(api, owner.token, app.clock.now());
    app.clock.advance(31_000);
    const off = await api.delete('/me/2fa', { code: await totpAt(secret, app.clock.now()) }, { token: owner.token });
    expect(off.status).toBe(204);
    expect(await activityActions(app, owner.account.id)).toEqual(['account.created', 'person.2fa_enabled', 'person.2fa_disabled']);
  });
});

describe('sign-in with 2FA', () => {
  it('answers TOTP_REQUIRED without a code, TOTP_INVALID with a wrong one, and signs in with the right one', async () => {
    const owner = await createAccount(api);
    const { secret } = await enrolTotp(api, owner.token, app.clock.now());
    app.clock.advance(31_000);

    const missing = await signIn(owner.email);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: { code: 'TOTP_REQUIRED' } });
    const wrong = await signIn(owner.email, '123456' === (await totpAt(secret, app.clock.now())) ? '654321' : '123456');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: 'TOTP_INVALID' } });
    const right = await signIn(owner.email, await totpAt(secret, app.clock.now()));
    expect(right.status).toBe(200);
    expect(right.body.member.id).toBe(owner.member.id);
  });

  it('does not ask for the code before the password is right', async () => {
    const owner = await createAccount(api);
    await enrolTotp(api, owner.token, app.clock.now());
    const reply = await api.post('/auth/sign-in', { email: owner.email, password: 'wrong password!' });
    expect(reply.body).toMatchObject({ error: { code: 'INVALID_CREDENTIALS' } });
  });

  it('accepts a TOTP code only once', async () => {
    const owner = await createAccount(api);
    const { secret } = await enrolTotp(api, owner.token, app.clock.now());
    app.clock.advance(31_000);
    const code = await totpAt(secret, app.clock.now());
    expect((await signIn(owner.email, code)).status).toBe(200);
    const replay = await signIn(owner.email, code);
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: { code: 'TOTP_INVALID' } });
  });

  it('accepts each recovery code once', async () => {
    const owner = await createAccount(api);
    const { recoveryCodes } = await enrolTotp(api, owner.token, app.clock.now());
    const [first, second] = recoveryCodes as [string, string];
    expect((await signIn(owner.email, first.toUpperCase())).status).toBe(200);
    const reused = await signIn(owner.email, first);
    expect(reused.body).toMatchObject({ error: { code: 'TOTP_INVALID' } });
    expect((await signIn(owner.email, second.replace('-', ''))).status).toBe(200);
  });

  it('rate-limits wrong codes per person with 429', async () => {
    const limited = await startApp({ rateLimits: { totpPerPerson: 3 } });
    const limitedApi = client(limited.url);
    try {
      const owner = await createAccount(limitedApi);
      const { secret } = await enrolTotp(limitedApi, owner.token, limited.clock.now());
      limited.clock.advance(31_000);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        statuses.push((await limitedApi.post('/auth/sign-in', { email: owner.email, password: PASSWORD, totp: '000000' })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
      const right = await limitedApi.post('/auth/sign-in', { email: owner.email, password: PASSWORD, totp: await totpAt(secret, limited.clock.now()) });
      expect(right.status).toBe(429);
    } finally {
      await limited.close();
    }
  });
});

describe('turning 2FA off', () => {
  it('needs a valid code; afterwards sign-in asks for none', async () => {
    const owner = await createAccount(api);
    const { recoveryCodes } = await enrolTotp(api, owner.token, app.clock.now());
    const refused = await api.delete('/me/2fa', { code: '111111' }, { token: owner.token });
    expect(refused.status).toBe(401);
    expect((await api.delete('/me/2fa', { code: recoveryCodes[0] }, { token: owner.token })).status).toBe(204);
    const reply = await signIn(owner.email);
    expect(reply.status).toBe(200);
  });

  it('refuses a second set-up while 2FA is on', async () => {
    const owner = await createAccount(api);
    await enrolTotp(api, owner.token, app.clock.now());
    const reply = await api.post('/me/2fa/setup', undefined, { token: owner.token });
    expect(reply.status).toBe(409);
  });

  it('is refused while an account the person is a member of requires 2FA, without spending the code', async () => {
    const owner = await createAccount(api);
    const { secret } = await enrolTotp(api, owner.token, app.clock.now());
    expect((await requireTwoFactor(owner, true)).status).toBe(200);
    app.clock.advance(31_000);
    const code = await totpAt(secret, app.clock.now());

    const refused = await api.delete('/me/2fa', { code }, { token: owner.token });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      error: { code: 'FORBIDDEN', details: { reason: 'account_requires_2fa', accounts: [{ id: owner.account.id, name: 'Acme' }] } },
    });
    expect((await api.get<MeDto>('/me', { token: owner.token })).body.person.twoFactorEnabled).toBe(true);
    expect(await activityActions(app, owner.account.id)).not.toContain('person.2fa_disabled');

    // Once the requirement is lifted, the very same code still works: the refusal did not use it up.
    expect((await requireTwoFactor(owner, false)).status).toBe(200);
    expect((await api.delete('/me/2fa', { code }, { token: owner.token })).status).toBe(204);
  });

  it("is refused from one account while another of the person's accounts requires 2FA", async () => {
    const owner = await createAccount(api, { accountName: 'Alpha' });
    const { secret } = await enrolTotp(api, owner.token, app.clock.now());
    app.clock.advance(31_000);
    const second = await api.post<AuthResultDto>('/signup', {
      accountName: 'Beta',
      name: 'Olive Owner',
      email: owner.email,
      password: PASSWORD,
      totp: await totpAt(secret, app.clock.now()),
    });
    expect(second.status).toBe(201);
    expect((await requireTwoFactor({ token: second.body.token }, true)).status).toBe(200);
    app.clock.advance(31_000);

    const refused = await api.delete('/me/2fa', { code: await totpAt(secret, app.clock.now()) }, { token: owner.token });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      error: { code: 'FORBIDDEN', details: { reason: 'account_requires_2fa', accounts: [{ id: second.body.account.id, name: 'Beta' }] } },
    });
  });
});

async function requireTwoFactor(owner: Pick<SignedUp, 'token'>, on: boolean) {
  const current = await api.get<AccountDto>('/account', { token: owner.token });
  return api.patch<AccountDto>('/account', { require2fa: on }, { token: owner.token, headers: ifMatch(current.body.version) });
}
