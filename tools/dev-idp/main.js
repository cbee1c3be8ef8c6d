// `npm run dev:idp`: the local OpenID Connect provider for developing single sign-on.
// IDP_PORT (default 3100) and PUBLIC_URL (Rolecall's, default http://localhost:3000) are read from the environment.
import { clientFor, DEFAULT_USERS, PROVIDERS, startIdp } from './idp.js';

const port = Number(process.env.IDP_PORT ?? 3100);
const appUrl = process.env.PUBLIC_URL ?? 'http://localhost:3000';
const idp = await startIdp({ port, host: '127.0.0.1', appUrl });

const env = [
  'SSO_ALLOW_HTTP=true',
  ...PROVIDERS.filter((p) => p !== 'okta').flatMap((p) => {
    const { clientId, clientSecret } = clientFor(p);
    const prefix = p.toUpperCase();
    return [
      `${prefix}_ISSUER=${idp.issuer}`,
      `${prefix}_CLIENT_ID=${clientId}`,
      `${prefix}_CLIENT_SECRET=${clientSecret}`,
    ];
  }),
];
const okta = clientFor('okta');
console.log(`Dev identity provider on ${idp.issuer} (discovery: ${idp.issuer}/.well-known/openid-configuration)
Redirect URIs: ${appUrl}/api/v1/auth/sso/<google|microsoft|okta>/callback

Start Rolecall with:
  ${env.join(' \\\n  ')} \\
  npm start

Okta is per account (Enterprise plan): PUT /api/v1/account/okta
  { "issuer": "${idp.issuer}", "clientId": "${okta.clientId}", "clientSecret": "${okta.clientSecret}" }

Users (password "password"): ${DEFAULT_USERS.map((u) => u.email + (u.emailVerified ? '' : ' (unverified email)')).join(', ')}
Press Ctrl+C to stop.`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    void idp.close().then(() => process.exit(0));
  });
}
