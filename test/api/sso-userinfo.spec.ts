/**
 * Issue 16 §1: sign-in against an OpenID provider configured as OIDC Core §5.4 prescribes for the
 * code flow — `email`, `email_verified` and `name` answered from the UserInfo endpoint, not put in the
 * ID token (oidc-provider's default, `conformIdTokenClaims: true`). Both configurations × all three
 * providers: the invited member signs in either way, and UserInfo is asked only when the ID token
 * lacks the claims. A UserInfo answer about another subject is refused.
 */
import type { AccountDto, MeDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, ifMatch, invite, uniqueEmail, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { Browser, oktaConnection, ssoOverrides, ssoSignIn, startTestIdp, type TestIdp } from './support/oidc.js';

type Provider = 'google' | 'microsoft' | 'okta';
const PROVIDERS: Provider[] = ['google', 'microsoft', 'okta'];

describe.each([
  { configuration: 'claims in the ID token (Google, Microsoft, Okta)', conform: false },
  { configuration: 'claims only from UserInfo (OIDC Core §5.4, oidc-provider default)', conform: true },
])('SSO sign-in with $configuration', ({ conform }) => {
  let app: TestApp;
  let api: Client;
  let idp: TestIdp;

  beforeAll(async () => {
    idp = await startTestIdp({ conformIdTokenClaims: conform });
    app = await startApp({
      overrides: ssoOverrides(idp),
      rateLimits: { signInPerIp: 100_000, signInPerEmail: 100_000, acceptancePerIp: 100_000 },
    });
    api = client(app.url);
  });
  afterAll(async () => {
    await app?.close();
    await idp?.close();
  });

  /** An Enterprise account (Okta is per account) with its own Okta connected to the IdP. */
  async function enterprise(): Promise<SignedUp> {
    const owner = await createAccount(api, { plan: 'enterprise' });
    const account = await api.get<AccountDto>('/account', { token: owner.token });
    const connected = await api.put('/account/okta', oktaConnection(idp), {
      token: owner.token,
      headers: ifMatch(account.body.version),
    });
    expect(connected.status, JSON.stringify(connected.body)).toBe(200);
    return owner;
  }

  it.each(PROVIDERS)('%s: an invited member accepts through the provider, named as the provider says', async (provider) => {
    const owner = await enterprise();
    const email = uniqueEmail(`ui-${provider}`);
    const [invited] = (await invite(api, owner, [email])).body.items;
    idp.addUser(email, { name: 'Ursula Userinfo' });
    const asked = idp.userInfoRequests;

    const attempt = await ssoSignIn(app, new Browser(app), { provider, accountId: owner.account.id, email });

    expect(attempt.error, `${provider} sign-in of ${email}`).toBeNull();
    const me = await api.get<MeDto>('/me', { token: attempt.sessionToken! });
    expect(me.body.member).toMatchObject({ id: invited!.id, status: 'active', name: 'Ursula Userinfo' });
    // UserInfo only when the ID token lacks the claims.
    expect(idp.userInfoRequests - asked).toBe(conform ? 1 : 0);
  });

  it('refuses an unverified email whichever place it comes from', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const email = uniqueEmail('ui-unverified');
    await invite(api, owner, [email]);
    idp.addUser(email, { emailVerified: false });
    const attempt = await ssoSignIn(app, new Browser(app), { provider: 'google', accountId: owner.account.id, email });
    expect(attempt.error).toBe('EMAIL_UNVERIFIED');
    expect(attempt.sessionToken).toBeNull();
  });

  // Only a conforming provider is asked for UserInfo.
  if (conform) it('refuses a UserInfo answer about another subject (its sub must equal the ID token’s)', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const email = uniqueEmail('ui-mixup');
    await invite(api, owner, [email]);
    idp.addUser(email);
    idp.alterUserInfo = (claims) => ({ ...claims, sub: 'someone-else' });
    try {
      const attempt = await ssoSignIn(app, new Browser(app), { provider: 'microsoft', accountId: owner.account.id, email });
      expect(attempt.error).toBe('TOKEN_INVALID');
      expect(attempt.sessionToken).toBeNull();
    } finally {
      idp.alterUserInfo = null;
    }
  });

  if (conform) it('a UserInfo endpoint that fails leaves the sign-in undecidable: a clear error, no session', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const email = uniqueEmail('ui-down');
    await invite(api, owner, [email]);
    idp.addUser(email);
    idp.alterUserInfo = () => {
      throw new Error('userinfo is down');
    };
    try {
      const attempt = await ssoSignIn(app, new Browser(app), { provider: 'google', accountId: owner.account.id, email });
      expect(attempt.error).toBe('PROVIDER_UNAVAILABLE');
      expect(attempt.sessionToken).toBeNull();
    } finally {
      idp.alterUserInfo = null;
    }
  });
});
