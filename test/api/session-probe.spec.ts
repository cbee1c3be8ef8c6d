/**
 * `GET /auth/session` (issue 15): `GET /me` for the dashboard's public pages — 200 with the
 * signed-in person, or 200 `{ signedIn: false }` where `GET /me` answers 401, so a signed-out
 * browser logs no failed request. It must not let anything through that `GET /me` refuses.
 */
import type { MeDto, SessionProbeDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, ifMatch, inviteAndAccept, ROLE } from './support/factories.js';
import { client, type Client } from './support/http.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

describe('GET /auth/session', () => {
  it('answers 200 { signedIn: false } without a session, where GET /me answers 401', async () => {
    expect((await api.get('/me')).status).toBe(401);
    const probe = await api.get<SessionProbeDto>('/auth/session');
    expect(probe.status).toBe(200);
    expect(probe.body).toEqual({ signedIn: false });
    const garbage = await api.get<SessionProbeDto>('/auth/session', { cookie: `rolecall_session=${'x'.repeat(43)}` });
    expect(garbage.status).toBe(200);
    expect(garbage.body).toEqual({ signedIn: false });
    // The dead cookie is dropped.
    expect(garbage.headers.get('set-cookie')).toMatch(/^rolecall_session=;/);
  });

  it('answers the signed-in person exactly as GET /me does, by cookie or bearer token', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const me = await api.get<MeDto>('/me', { token: owner.token });
    const byBearer = await api.get<SessionProbeDto>('/auth/session', { token: owner.token });
    expect(byBearer.status).toBe(200);
    expect(byBearer.body).toEqual({ signedIn: true, me: me.body });
    const byCookie = await api.get<SessionProbeDto>('/auth/session', { cookie: `rolecall_session=${owner.token}` });
    expect(byCookie.body).toEqual({ signedIn: true, me: me.body });
    expect(byCookie.headers.get('set-cookie')).toBeNull();
  });

  it('answers { signedIn: false } once the session is signed out or the member revoked', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const member = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    expect((await api.get<SessionProbeDto>('/auth/session', { token: member.token })).body).toMatchObject({
      signedIn: true,
    });
    const revoke = await api.post(`/users/${member.member.id}/revoke`, undefined, {
      token: owner.token,
      headers: ifMatch(member.member.version),
    });
    expect(revoke.status).toBe(200);
    expect((await api.get('/me', { token: member.token })).status).toBe(401);
    expect((await api.get<SessionProbeDto>('/auth/session', { token: member.token })).body).toEqual({
      signedIn: false,
    });

    expect((await api.post('/auth/sign-out', undefined, { token: owner.token })).status).toBe(204);
    expect((await api.get<SessionProbeDto>('/auth/session', { token: owner.token })).body).toEqual({ signedIn: false });
  });
});
