/**
 * Lock-out as a weapon (issue 13 §4): wrong passwords count per (email, IP) and per IP; failures at
 * one email from everywhere only slow its sign-ins down, so nobody can lock the owner out from
 * somewhere else. The API trusts X-Forwarded-For from loopback, so each request here can come "from"
 * an address of its own.
 */
import type { AuthResultDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, enrolTotp, PASSWORD, totpAt } from './support/factories.js';
import { client, type Client } from './support/http.js';

const ATTACKER = '203.0.113.7';
const OWNER_IP = '198.51.100.9';
const STEP_MS = 300;

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp({ rateLimits: { signInPerEmail: 10, signInPerIp: 1000, signInSlowdown: { after: 10, stepMs: STEP_MS, maxMs: 2 * STEP_MS } } });
  api = client(app.url);
});
afterAll(() => app.close());

const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

async function signIn(body: Record<string, unknown>, ip: string) {
  const started = performance.now();
  const reply = await api.post<AuthResultDto>('/auth/sign-in', body, from(ip));
  return { ...reply, ms: performance.now() - started };
}

describe('failed sign-ins', () => {
  it('cannot lock the owner out: ten wrong passwords from one IP refuse that IP only', async () => {
    const owner = await createAccount(api);
    const { secret } = await enrolTotp(api, owner.token, app.clock.now());
    for (let i = 0; i < 10; i++) {
      const wrong = await signIn({ email: owner.email, password: `wrong password ${i}` }, ATTACKER);
      expect(wrong.status).toBe(401);
    }
    const attackerAgain = await signIn({ email: owner.email, password: PASSWORD }, ATTACKER);
    expect(attackerAgain.status).toBe(429);
    expect(attackerAgain.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });

    app.clock.advance(30_000);
    const owners = await signIn({ email: owner.email, password: PASSWORD, totp: await totpAt(secret, app.clock.now()) }, OWNER_IP);
    expect(owners.status, JSON.stringify(owners.body)).toBe(200);
    expect(owners.body.member.id).toBe(owner.member.id);
  });

  it('slows every sign-in of an email that failed often from anywhere, the right password included', async () => {
    const owner = await createAccount(api);
    // Ten failures from ten addresses: no single IP reaches its limit.
    for (let i = 0; i < 10; i++) {
      expect((await signIn({ email: owner.email, password: 'not it at all' }, `192.0.2.${i + 1}`)).status).toBe(401);
    }
    const slowed = await signIn({ email: owner.email, password: PASSWORD }, OWNER_IP);
    expect(slowed.status).toBe(200);
    expect(slowed.ms).toBeGreaterThanOrEqual(STEP_MS);
    const wrongToo = await signIn({ email: owner.email, password: 'not it either' }, OWNER_IP);
    expect(wrongToo.status).toBe(401);
    expect(wrongToo.ms).toBeGreaterThanOrEqual(STEP_MS);
  });

  it('still refuses an IP that tries too many emails (per-IP limit)', async () => {
    const limited = await startApp({ rateLimits: { signInPerIp: 3 } });
    try {
      const limitedApi = client(limited.url);
      for (let i = 0; i < 3; i++) expect((await limitedApi.post('/auth/sign-in', { email: `x${i}@example.com`, password: 'whatever it is' }, from(ATTACKER))).status).toBe(401);
      expect((await limitedApi.post('/auth/sign-in', { email: 'y@example.com', password: 'whatever it is' }, from(ATTACKER))).status).toBe(429);
      expect((await limitedApi.post('/auth/sign-in', { email: 'y@example.com', password: 'whatever it is' }, from(OWNER_IP))).status).toBe(401);
    } finally {
      await limited.close();
    }
  });
});
