import type { AuthResultDto, MeDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/api/src/config.js';
import { startApp, type TestApp } from './support/app.js';
import { activityActions, query } from './support/db.js';
import { createAccount, PASSWORD, type SignedUp } from './support/factories.js';
import { client, isErrorShape, type Client, type Reply } from './support/http.js';

/** A second browser origin the deployment trusts, as `ALLOWED_ORIGINS` lists it. */
const PARTNER = 'https://partner.example';
const EVIL = 'https://evil.example';

let app: TestApp;
let api: Client;
/** The app's own origin (`PUBLIC_URL`'s), the one its dashboard calls from. */
let ownOrigin: string;

beforeAll(async () => {
  app = await startApp({ overrides: { allowedOrigins: loadConfig({ ALLOWED_ORIGINS: PARTNER }).allowedOrigins } });
  api = client(app.url);
  ownOrigin = app.config.allowedOrigins[0]!;
});
afterAll(() => app.close());

const cookieOf = (owner: SignedUp) => `rolecall_session=${owner.token}`;

/** What a cross-site `<form enctype="text/plain" method="post">` sends: the victim's cookie, no Authorization. */
function formPost(path: string, cookie: string | undefined, headers: Record<string, string>): Promise<Reply> {
  return api.request('POST', path, undefined, {
    ...(cookie ? { cookie } : {}),
    raw: '{"ignored":"=x"}',
    headers: { 'content-type': 'text/plain', ...headers },
  });
}

function expectCrossSiteRefusal(reply: Reply): void {
  expect(reply.status).toBe(403);
  expect(isErrorShape(reply.body)).toBe(true);
  expect(reply.body).toMatchObject({ error: { code: 'FORBIDDEN', details: { reason: 'cross_site_request' } } });
}

async function expectSignedIn(owner: SignedUp): Promise<void> {
  const me = await api.get<MeDto>('/me', { cookie: cookieOf(owner) });
  expect(me.status).toBe(200);
  expect(me.body.person.email).toBe(owner.email);
}

async function pendingTotpSecret(owner: SignedUp): Promise<string | null> {
  const [row] = await query<{ totp_pending_secret: string | null }>(app, 'SELECT totp_pending_secret FROM persons WHERE email = ?', [owner.email]);
  return row!.totp_pending_secret;
}

describe('cookie-authenticated requests from another site', () => {
  it('refuses a cross-site text/plain POST to sign-out: the session keeps working', async () => {
    const owner = await createAccount(api);
    const reply = await formPost('/auth/sign-out', cookieOf(owner), { origin: EVIL, 'sec-fetch-site': 'cross-site' });
    expectCrossSiteRefusal(reply);
    expect(reply.headers.get('set-cookie')).toBeNull();
    await expectSignedIn(owner);
    expect(await activityActions(app, owner.account.id)).not.toContain('session.signed_out');
  });

  it('refuses a cross-site POST to /me/2fa/setup: no pending secret is written', async () => {
    const owner = await createAccount(api);
    const reply = await formPost('/me/2fa/setup', cookieOf(owner), { origin: EVIL });
    expectCrossSiteRefusal(reply);
    expect(JSON.stringify(reply.body)).not.toContain('otpauth');
    expect(await pendingTotpSecret(owner)).toBeNull();
  });

  it('refuses Sec-Fetch-Site cross-site or same-site when there is no Origin', async () => {
    const owner = await createAccount(api);
    expectCrossSiteRefusal(await formPost('/auth/sign-out', cookieOf(owner), { 'sec-fetch-site': 'cross-site' }));
    // A sibling subdomain is same-site: SameSite=Lax sends the cookie along, so it needs refusing too.
    expectCrossSiteRefusal(await formPost('/auth/sign-out', cookieOf(owner), { 'sec-fetch-site': 'same-site' }));
    await expectSignedIn(owner);
  });

  it('refuses Origin: null (sandboxed frames, data: URLs, some redirects)', async () => {
    const owner = await createAccount(api);
    expectCrossSiteRefusal(await formPost('/me/2fa/setup', cookieOf(owner), { origin: 'null' }));
    expect(await pendingTotpSecret(owner)).toBeNull();
  });

  it('refuses every unsafe method, not only POST', async () => {
    const owner = await createAccount(api);
    const reply = await api.patch('/me', { name: 'Mallory' }, { cookie: cookieOf(owner), headers: { origin: EVIL } });
    expectCrossSiteRefusal(reply);
    expect((await api.get<MeDto>('/me', { cookie: cookieOf(owner) })).body.person.name).toBe('Olive Owner');
  });

  it('does not count a cookie sent beside an Authorization header that is not a bearer token, nor skip the check for an empty one', async () => {
    // Such a request passes the origin check (only a script on an allowed origin, or no browser, can set
    // Authorization), so the cookie must not authenticate it.
    const owner = await createAccount(api);
    const reply = await api.post('/me/2fa/setup', undefined, { cookie: cookieOf(owner), headers: { origin: EVIL, authorization: 'Basic eDp5' } });
    expect(reply.status).toBe(401);
    // An empty Authorization header is no header: the cookie would count, so the origin is checked.
    expectCrossSiteRefusal(await api.post('/me/2fa/setup', undefined, { cookie: cookieOf(owner), headers: { origin: EVIL, authorization: '' } }));
    expect(await pendingTotpSecret(owner)).toBeNull();
  });
});

describe('requests that pass', () => {
  it("accepts the app's own origin (the dashboard), and signs out", async () => {
    const owner = await createAccount(api);
    const setup = await api.post<{ secret: string }>('/me/2fa/setup', undefined, { cookie: cookieOf(owner), headers: { origin: ownOrigin, 'sec-fetch-site': 'same-origin' } });
    expect(setup.status).toBe(200);
    expect(await pendingTotpSecret(owner)).toBe(setup.body.secret);
    const out = await api.post('/auth/sign-out', undefined, { cookie: cookieOf(owner), headers: { origin: ownOrigin } });
    expect(out.status).toBe(204);
    expect((await api.get('/me', { cookie: cookieOf(owner) })).status).toBe(401);
  });

  it('accepts an origin listed in ALLOWED_ORIGINS (a CORS call: the browser says cross-site)', async () => {
    const owner = await createAccount(api);
    const reply = await api.patch<MeDto['person']>('/me', { name: 'Pat Partner' }, { cookie: cookieOf(owner), headers: { origin: PARTNER, 'sec-fetch-site': 'cross-site' } });
    expect(reply.status).toBe(200);
    expect((await api.get<MeDto>('/me', { cookie: cookieOf(owner) })).body.person.name).toBe('Pat Partner');
  });

  it('leaves bearer-token clients alone, whatever their Origin', async () => {
    const owner = await createAccount(api);
    const setup = await api.post('/me/2fa/setup', undefined, { token: owner.token, headers: { origin: EVIL, 'sec-fetch-site': 'cross-site' } });
    expect(setup.status).toBe(200);
    expect(await pendingTotpSecret(owner)).not.toBeNull();
  });

  it('accepts a request with neither Origin nor Sec-Fetch-Site (curl, server-side clients)', async () => {
    const owner = await createAccount(api);
    expect((await formPost('/me/2fa/setup', cookieOf(owner), {})).status).toBe(200);
    expect(await pendingTotpSecret(owner)).not.toBeNull();
  });

  it('accepts Sec-Fetch-Site same-origin or none when there is no Origin', async () => {
    const owner = await createAccount(api);
    expect((await formPost('/me/2fa/setup', cookieOf(owner), { 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expect((await formPost('/me/2fa/setup', cookieOf(owner), { 'sec-fetch-site': 'none' })).status).toBe(200);
  });

  it('leaves safe methods alone: GET, HEAD and OPTIONS from another site, SSO and the OpenAPI page', async () => {
    const owner = await createAccount(api);
    const foreign = { origin: EVIL, 'sec-fetch-site': 'cross-site' };
    expect((await api.get('/me', { cookie: cookieOf(owner), headers: foreign })).status).toBe(200);
    // A signed-in HEAD, not `HEAD /health`: readiness answers 503 when a probe takes over 500 ms (CI
    // once, under load), which says nothing about CSRF (a refusal here is 403).
    expect((await api.request('HEAD', '/me', undefined, { cookie: cookieOf(owner), headers: foreign })).status).toBe(200);
    expect((await api.request('OPTIONS', '/me', undefined, { headers: { ...foreign, 'access-control-request-method': 'POST' } })).status).not.toBe(403);
    const providers = await api.get(`/auth/sso/providers?account=${owner.account.id}`, { headers: foreign });
    expect(providers.status).toBe(200);
    expect((await fetch(`${app.url}/api/docs`, { headers: foreign })).status).toBe(200);
  });
});

describe('login CSRF', () => {
  it('refuses a cross-site sign-in, sign-up or invitation accept: no session cookie is set', async () => {
    const victim = await createAccount(api);
    const credentials = { email: victim.email, password: PASSWORD };
    // What a form can send (text/plain) …
    const form = await formPost('/auth/sign-in', undefined, { origin: EVIL });
    expectCrossSiteRefusal(form);
    // … and a JSON body, should a parser ever accept the form's shape.
    const signIn = await api.post<AuthResultDto>('/auth/sign-in', credentials, { headers: { origin: EVIL } });
    expectCrossSiteRefusal(signIn);
    expect(signIn.headers.get('set-cookie')).toBeNull();
    const signUp = await api.post('/signup', { accountName: 'Evil', name: 'Eve', email: 'eve@evil.example', password: PASSWORD }, { headers: { 'sec-fetch-site': 'cross-site' } });
    expectCrossSiteRefusal(signUp);
    expect(signUp.headers.get('set-cookie')).toBeNull();
    const accept = await api.post('/invitations/accept', { token: 'x'.repeat(43), name: 'Eve', password: PASSWORD }, { headers: { origin: EVIL } });
    expectCrossSiteRefusal(accept);
  });

  it('signs in from the own origin as before', async () => {
    const owner = await createAccount(api);
    const reply = await api.post('/auth/sign-in', { email: owner.email, password: PASSWORD }, { headers: { origin: ownOrigin } });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('set-cookie')).toMatch(/^rolecall_session=/);
  });
});
