import { createPrivateKey, generateKeyPairSync, sign, type JsonWebKey } from 'node:crypto';
import { clientFor, startIdp, type Idp, type IdpUser, type ProviderName } from '../../../tools/dev-idp/idp.js';
import type { TestApp } from './app.js';

/**
 * SSO test support: the dev identity provider (tools/dev-idp, a real oidc-provider) started in the
 * test on a random port, a way to alter the ID tokens it issues (re-signed with its own key, so
 * only the altered claim is wrong), and a small browser that follows the redirects by hand
 * (`redirect: 'manual'`), submits the provider's login form and keeps each host's cookies.
 */

/** Rolecall's `PUBLIC_URL` in these tests: the browser maps this host to the app's random port. */
export const APP_PUBLIC_URL = 'http://rolecall.test';

type IdClaims = Record<string, unknown> & { aud?: unknown; exp?: number; iat?: number; nonce?: unknown };

export interface TestIdp extends Idp {
  /** When set, every ID token the token endpoint answers is decoded, passed through this and signed again. */
  alterIdToken: ((claims: IdClaims) => IdClaims) | null;
  /** When set, every UserInfo answer (oidc-provider's `/me`) is passed through this; if it throws, UserInfo answers 503. */
  alterUserInfo: ((claims: Record<string, unknown>) => Record<string, unknown>) | null;
  /** Counts the UserInfo requests answered. */
  userInfoRequests: number;
  /** Signs altered tokens with this key instead (same `kid`): a bad signature. */
  forgeWith: JsonWebKey | null;
  /** Adds (or replaces) a user with password `password`; answers its `sub`. */
  addUser(email: string, options?: Partial<IdpUser>): string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function resign(token: string, alter: (claims: IdClaims) => IdClaims, key: JsonWebKey): string {
  const [header, payload] = token.split('.') as [string, string];
  const claims = alter(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as IdClaims);
  const input = `${header}.${b64(claims)}`;
  const signature = sign('sha256', Buffer.from(input), createPrivateKey({ key: key as never, format: 'jwk' }));
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * Starts the dev IdP whose clients send the browser back to `APP_PUBLIC_URL`. `conformIdTokenClaims`:
 * email and name only from UserInfo, as OIDC Core §5.4 prescribes (oidc-provider's default).
 */
export async function startTestIdp(options: { conformIdTokenClaims?: boolean } = {}): Promise<TestIdp> {
  const idp = (await startIdp({ port: 0, appUrl: APP_PUBLIC_URL, users: [], ...options })) as TestIdp;
  idp.alterIdToken = null;
  idp.alterUserInfo = null;
  idp.userInfoRequests = 0;
  idp.forgeWith = null;
  let n = 0;
  idp.addUser = (email, options = {}) => {
    const sub = options.sub ?? `user-${++n}-${email.split('@')[0]}`;
    idp.users.set(sub, {
      sub,
      email,
      name: options.name ?? 'Sam Single-Sign-On',
      password: 'password',
      emailVerified: options.emailVerified ?? true,
    });
    return sub;
  };
  idp.provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/me' && ctx.status === 200) {
      idp.userInfoRequests++;
      try {
        if (idp.alterUserInfo) ctx.body = idp.alterUserInfo(ctx.body as Record<string, unknown>);
      } catch {
        // An alteration that throws stands for a UserInfo endpoint that is down.
        ctx.status = 503;
        ctx.body = { error: 'temporarily_unavailable' };
      }
      return;
    }
    const body = ctx.body as { id_token?: unknown } | null;
    if (ctx.path !== '/token' || !idp.alterIdToken || typeof body?.id_token !== 'string') return;
    ctx.body = { ...body, id_token: resign(body.id_token, idp.alterIdToken, idp.forgeWith ?? idp.privateJwk) };
  });
  return idp;
}

/** Another RSA key, for forged signatures. */
export const strangerKey = (): JsonWebKey =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

/** The app's Google/Microsoft configuration pointing at the IdP. */
export function ssoOverrides(idp: Idp) {
  return {
    publicUrl: APP_PUBLIC_URL,
    sso: { google: idp.client('google'), microsoft: idp.client('microsoft'), allowHttpIssuers: true, secretsKey: null },
  };
}

export const oktaConnection = (idp: Idp) => ({ issuer: idp.issuer, ...clientFor('okta') });

export interface Hop {
  readonly status: number;
  /** Absolute, resolved against the request URL (logical host). */
  readonly location: URL | null;
  readonly body: string;
  readonly setCookies: string[];
}

/** A browser: one cookie jar per logical host, manual redirects, the app reached through `APP_PUBLIC_URL`. */
export class Browser {
  private readonly jar = new Map<string, Map<string, { value: string; path: string }>>();

  constructor(private readonly app: TestApp) {}

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name)?.value;
  }

  dropCookie(host: string, name: string): void {
    this.jar.get(host)?.delete(name);
  }

  async request(url: URL, init: { method?: string; form?: URLSearchParams } = {}): Promise<Hop> {
    const actual = url.origin === APP_PUBLIC_URL ? new URL(url.pathname + url.search, this.app.url) : url;
    const cookies = [...(this.jar.get(url.host)?.entries() ?? [])]
      .filter(([, c]) => url.pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
    const headers: Record<string, string> = {};
    if (cookies) headers['cookie'] = cookies;
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(actual, {
      method: init.method ?? 'GET',
      headers,
      body: init.form?.toString(),
      redirect: 'manual',
    });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) this.store(url.host, line);
    const location = response.headers.get('location');
    return {
      status: response.status,
      location: location ? new URL(location, url) : null,
      body: await response.text(),
      setCookies,
    };
  }

  private store(host: string, line: string): void {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    const attr = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
    const cookies = this.jar.get(host) ?? this.jar.set(host, new Map()).get(host)!;
    const expires = attr('expires');
    if (attr('max-age') === '0' || (expires && new Date(expires).getTime() < Date.now()) || value === '')
      cookies.delete(name);
    else cookies.set(name, { value, path: attr('path') ?? '/' });
  }
}

export interface SsoAttempt {
  /** The provider's authorization URL `start` redirected to. */
  readonly authorizationUrl: URL | null;
  /** The callback URL the provider sent the browser to (on `APP_PUBLIC_URL`). */
  readonly callbackUrl: URL | null;
  /** Rolecall's final answer: a redirect to the dashboard or to `/signin?sso_error=`. */
  readonly final: Hop;
  /** `sso_error` of the final redirect, or null. */
  readonly error: string | null;
  /** The `rolecall_session` cookie the callback set, or null. */
  readonly sessionToken: string | null;
}

export interface SsoSignIn {
  provider: ProviderName;
  accountId: string;
  /** The IdP login: email (password `password`) and whether to report MFA in `amr`. */
  email: string;
  mfa?: boolean;
  next?: string;
  /** Cancel on the provider's login page instead of signing in. */
  cancel?: boolean;
  /** Alter the authorization request on its way to the provider. */
  editAuthorizationUrl?: (url: URL) => void;
  /** Alter the provider's answer on its way back to Rolecall. */
  editCallbackUrl?: (url: URL) => void;
  /** Runs between the provider's answer and the callback (e.g. move the app's clock). */
  beforeCallback?: () => void | Promise<void>;
  /** The browser that finishes the flow (default: the one that started it). */
  finishIn?: Browser;
}

/** Runs a whole authorization code flow over HTTP: start → provider → login form → callback. */
export async function ssoSignIn(app: TestApp, browser: Browser, input: SsoSignIn): Promise<SsoAttempt> {
  const start = new URL(`${APP_PUBLIC_URL}/api/v1/auth/sso/${input.provider}/start`);
  start.searchParams.set('account', input.accountId);
  if (input.next) start.searchParams.set('next', input.next);
  const started = await browser.request(start);
  if (started.status !== 302 || !started.location) throw new Error(`start answered ${started.status}`);
  if (started.location.origin === APP_PUBLIC_URL) return finished(null, null, started);
  const authorizationUrl = started.location;
  input.editAuthorizationUrl?.(authorizationUrl);

  let hop = await browser.request(authorizationUrl);
  let url = authorizationUrl;
  for (let steps = 0; steps < 10; steps++) {
    if (hop.location?.origin === APP_PUBLIC_URL) break;
    if (hop.status >= 300 && hop.status < 400 && hop.location) {
      url = hop.location;
      hop = await browser.request(url);
      continue;
    }
    const form = /<form method="post" action="([^"]+\/login)"/.exec(hop.body);
    if (hop.status !== 200 || !form) throw new Error(`the provider answered ${hop.status}: ${hop.body.slice(0, 300)}`);
    const action = new URL(
      form[1]!.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))),
      url,
    );
    if (input.cancel) {
      hop = await browser.request(new URL(action.pathname.replace(/\/login$/, '/abort'), action), {
        method: 'POST',
        form: new URLSearchParams(),
      });
      continue;
    }
    const fields = new URLSearchParams({ email: input.email, password: 'password' });
    if (input.mfa) fields.set('mfa', '1');
    url = action;
    hop = await browser.request(action, { method: 'POST', form: fields });
  }
  const callbackUrl = hop.location;
  if (!callbackUrl || callbackUrl.origin !== APP_PUBLIC_URL)
    throw new Error(`the provider never sent the browser back (last ${hop.status} ${hop.body.slice(0, 200)})`);
  input.editCallbackUrl?.(callbackUrl);
  await input.beforeCallback?.();
  const final = await (input.finishIn ?? browser).request(callbackUrl);
  return finished(authorizationUrl, callbackUrl, final);
}

/** Sends a callback URL (again) through a browser: a replay. */
export async function callback(browser: Browser, callbackUrl: URL): Promise<SsoAttempt> {
  return finished(null, callbackUrl, await browser.request(callbackUrl));
}

function finished(authorizationUrl: URL | null, callbackUrl: URL | null, final: Hop): SsoAttempt {
  const session = final.setCookies.find(
    (line) => line.startsWith('rolecall_session=') && !line.startsWith('rolecall_session=;'),
  );
  return {
    authorizationUrl,
    callbackUrl,
    final,
    error: final.location?.searchParams.get('sso_error') ?? null,
    sessionToken: session ? session.slice('rolecall_session='.length).split(';')[0]! : null,
  };
}
