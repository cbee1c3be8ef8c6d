// A real OpenID Connect provider (oidc-provider 9) for developing and testing Rolecall's single
// sign-on without Google, Microsoft or Okta: `npm run dev:idp`, and the SSO tests start one in
// process. It has a plain login form (email, password, "I used a second factor") instead of
// oidc-provider's devInteractions, so the `amr` of the ID token can be chosen, and it works headless
// over HTTP. Consent is granted on login (these are first-party clients).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

/** The providers Rolecall knows; each gets a client here, all on one issuer. */
export const PROVIDERS = ['google', 'microsoft', 'okta'];

/** Test users. Every password is `password`. */
export const DEFAULT_USERS = [
  { sub: 'alice', email: 'alice@example.com', name: 'Alice Anders', password: 'password', emailVerified: true },
  { sub: 'bob', email: 'bob@example.com', name: 'Bob Brown', password: 'password', emailVerified: true },
  { sub: 'carol', email: 'carol@example.com', name: 'Carol Chen', password: 'password', emailVerified: true },
  { sub: 'dave', email: 'dave@example.com', name: 'Dave Unverified', password: 'password', emailVerified: false },
];

/** The client of each provider: `rolecall-<provider>` / `<provider>-secret`. */
export function clientFor(provider) {
  return { clientId: `rolecall-${provider}`, clientSecret: `${provider}-secret` };
}

const escapeHtml = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, { client, error, email }) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rolecall dev IdP — sign in</title>
<style>body{font:16px system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}label{display:block;margin:.8rem 0 .2rem}input[type=email],input[type=password]{width:100%;padding:.4rem}button{margin-top:1rem;padding:.5rem 1rem}.error{color:#b00020}</style>
</head><body>
<h1>Dev identity provider</h1>
<p>Signing in to <strong>${escapeHtml(client)}</strong>. Test users: alice@, bob@, carol@ and dave@example.com (unverified email); password <code>password</code>.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
  <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email ?? '')}">
  <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
  <label><input name="mfa" type="checkbox" value="1"> I used a second factor (the ID token's <code>amr</code> says <code>mfa</code>)</label>
  <button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button type="submit">Cancel</button></form>
</body></html>`;
}

function readForm(request) {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => {
      body += chunk;
      if (body.length > 10_000) request.destroy(new Error('form too large'));
    });
    request.on('end', () => resolve(new URLSearchParams(body)));
    request.on('error', reject);
  });
}

function send(response, status, html) {
  response.statusCode = status;
  response.setHeader('Content-Type', 'text/html; charset=utf-8');
  response.setHeader('Cache-Control', 'no-store');
  response.end(html);
}

/**
 * Starts the provider.
 * @param {object} [options]
 * @param {number} [options.port] 0 for a random port (tests); default 3100.
 * @param {string} [options.host] default 127.0.0.1.
 * @param {string} [options.appUrl] Rolecall's PUBLIC_URL: the clients' redirect URIs are `<appUrl>/api/v1/auth/sso/<provider>/callback`.
 * @param {Array<object>} [options.users]
 * @param {object} [options.privateJwk] an RSA private JWK to sign with (default: a new one).
 * @param {boolean} [options.conformIdTokenClaims] true: as OIDC Core §5.4 prescribes for the code flow
 *   (oidc-provider's own default), the `email`/`profile` claims come only from the UserInfo endpoint,
 *   the ID token carries `sub`, `amr` and the protocol claims. Default false: like Google, Microsoft
 *   and Okta, the ID token carries them too.
 */
export async function startIdp(options = {}) {
  const host = options.host ?? '127.0.0.1';
  const appUrl = (options.appUrl ?? 'http://localhost:3000').replace(/\/+$/, '');
  const users = new Map((options.users ?? DEFAULT_USERS).map((user) => [user.sub, { ...user }]));
  const privateJwk = options.privateJwk ?? {
    ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
    kid: 'dev-idp-1',
    alg: 'RS256',
    use: 'sig',
  };

  // Listen first: the issuer needs the port, the provider needs the issuer.
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3100, host, resolve);
  });
  const issuer = `http://${host}:${server.address().port}`;

  const provider = new Provider(issuer, {
    clients: PROVIDERS.map((name) => ({
      client_id: clientFor(name).clientId,
      client_secret: clientFor(name).clientSecret,
      redirect_uris: [`${appUrl}/api/v1/auth/sso/${name}/callback`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })),
    async findAccount(_ctx, sub) {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, email: user.email, email_verified: user.emailVerified !== false, name: user.name }),
      };
    },
    // `amr` rides on the openid scope so the ID token always says how the person signed in (pwd, or pwd + mfa).
    claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['name'] },
    // Google, Microsoft and Okta put the scope's claims in the ID token too (the default here); a
    // conforming provider answers them from UserInfo only, which Rolecall then asks (issue 16 §1).
    conformIdTokenClaims: options.conformIdTokenClaims ?? false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: { keys: [privateJwk] },
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Error</title><h1>${escapeHtml(out.error)}</h1><p>${escapeHtml(out.error_description ?? '')}</p>`;
    },
  });

  async function interaction(request, response, uid, action) {
    const details = await provider.interactionDetails(request, response);
    if (details.uid !== uid) return send(response, 400, 'Interaction mismatch');
    const client = details.params.client_id;
    if (action === 'abort') {
      return provider.interactionFinished(
        request,
        response,
        { error: 'access_denied', error_description: 'The person cancelled' },
        { mergeWithLastSubmission: false },
      );
    }
    if (action === 'login' && request.method === 'POST') {
      const form = await readForm(request);
      const email = (form.get('email') ?? '').trim().toLowerCase();
      const user = [...users.values()].find((u) => u.email === email);
      if (!user || user.password !== form.get('password'))
        return send(response, 200, loginPage(uid, { client, email, error: 'Wrong email or password' }));
      const grant = new provider.Grant({ accountId: user.sub, clientId: client });
      grant.addOIDCScope(String(details.params.scope ?? 'openid'));
      const grantId = await grant.save();
      const amr = form.get('mfa') ? ['pwd', 'mfa'] : ['pwd'];
      return provider.interactionFinished(
        request,
        response,
        { login: { accountId: user.sub, amr }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    }
    if (details.prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: client });
      grant.addOIDCScope(String(details.params.scope ?? 'openid'));
      const grantId = await grant.save();
      return provider.interactionFinished(
        request,
        response,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
    }
    return send(response, 200, loginPage(uid, { client }));
  }

  // Built per request (Koa composes its middleware in callback()), so middleware added later with
  // provider.use() — the tests alter ID tokens that way — takes part too.
  server.on('request', (request, response) => {
    const match = /^\/interaction\/([\w-]+)(?:\/(login|abort))?$/.exec(new URL(request.url, issuer).pathname);
    if (!match) return provider.callback()(request, response);
    interaction(request, response, match[1], match[2]).catch((error) => {
      if (!response.headersSent) send(response, 400, `<h1>Sign-in failed</h1><p>${escapeHtml(error.message)}</p>`);
    });
  });

  return {
    issuer,
    provider,
    users,
    privateJwk,
    /** The provider settings Rolecall needs for `name`: issuer, client id and secret. */
    client: (name) => ({ issuer, ...clientFor(name) }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
