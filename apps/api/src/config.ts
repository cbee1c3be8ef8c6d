import { closeSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { observabilityConfig, type ObservabilityConfig } from './common/observability/observability.config.js';
import { webhookConfig, type WebhookConfig } from './webhooks/webhooks.config.js';

/** Everything the API reads from its environment (SPEC §3), resolved once at start-up. */
export interface AppConfig {
  readonly port: number;
  readonly dataDir: string;
  /** `postgres://…` → PostgreSQL; unset → SQLite at `$DATA_DIR/rolecall.sqlite`. */
  readonly databaseUrl: string | null;
  /**
   * `PG_PREPARED_STATEMENTS` (`on`, the default, or `off`): PostgreSQL statements with parameters run
   * as named prepared statements of their connection (database/prepared-statements.ts says when to turn it off).
   */
  readonly postgresPreparedStatements: boolean;
  readonly redisUrl: string | null;
  /** Prefix of every Redis key and channel, so several deployments (or test runs) can share one Redis. */
  readonly redisPrefix: string;
  /** `REDIS_ADAPTER`: the Socket.IO adapter — `classic` (PUBLISH/SUBSCRIBE) or `sharded` (Redis ≥ 7 SPUBLISH/SSUBSCRIBE, needed on Redis Cluster). */
  readonly redisAdapter: 'classic' | 'sharded';
  readonly smtpUrl: string | null;
  readonly publicUrl: string;
  /** Browser origins allowed to call the API and open sockets; `PUBLIC_URL`'s origin is always allowed. */
  readonly allowedOrigins: readonly string[];
  /** Folder of the built dashboard; `null` serves no dashboard. */
  readonly webRoot: string | null;
  /** Sessions: idle and absolute expiry (SPEC §4). */
  readonly sessionIdleMs: number;
  readonly sessionAbsoluteMs: number;
  readonly rateLimits: RateLimitConfig;
  /** Abuse limits of the live layer (Socket.IO): per socket, per session, per client IP. */
  readonly liveLimits: LiveLimitConfig;
  /**
   * scrypt's cost for new password hashes (common/passwords.ts): `PASSWORD_COST`, not read from the
   * environment. Only tests lower it (test/api/support/app.ts), through `loadConfig`'s overrides.
   */
  readonly passwordCost: ScryptCost;
  /** Logs and metrics: LOG_LEVEL, LOG_FORMAT, LOG_REQUESTS, METRICS_TOKEN (common/observability/observability.config.ts). */
  readonly observability: ObservabilityConfig;
  /** Single sign-on (OpenID Connect relying party); Okta is configured per account instead. */
  readonly sso: SsoConfig;
  /** Webhook deliveries (audit streaming): WEBHOOKS_ALLOW_LOCAL, timeouts and back-off (webhooks/webhooks.config.ts). */
  readonly webhooks: WebhookConfig;
}

/** An application-level OpenID Connect client: the issuer to discover and this app's registration there. */
export interface OidcClientConfig {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface SsoConfig {
  /** `GOOGLE_CLIENT_ID` / `GOOGLE_CLIENT_SECRET` / `GOOGLE_ISSUER`; null when no client id is set. */
  readonly google: OidcClientConfig | null;
  /** `MICROSOFT_CLIENT_ID` / `MICROSOFT_CLIENT_SECRET` / `MICROSOFT_ISSUER`; null when no client id is set. */
  readonly microsoft: OidcClientConfig | null;
  /** `SSO_ALLOW_HTTP=true`: accept `http://` issuers (the local development provider, tests). */
  readonly allowHttpIssuers: boolean;
  /** `SECRETS_KEY`: 32 bytes, base64 — encrypts secrets at rest (Okta client secrets); unset → a key file in `$DATA_DIR`. */
  readonly secretsKey: Buffer | null;
}

export const DEFAULT_GOOGLE_ISSUER = 'https://accounts.google.com';
export const DEFAULT_MICROSOFT_ISSUER = 'https://login.microsoftonline.com/common/v2.0';

function oidcClient(env: NodeJS.ProcessEnv, prefix: 'GOOGLE' | 'MICROSOFT', defaultIssuer: string, allowHttp: boolean): OidcClientConfig | null {
  const clientId = env[`${prefix}_CLIENT_ID`];
  if (!clientId) return null;
  const clientSecret = env[`${prefix}_CLIENT_SECRET`];
  if (!clientSecret) throw new Error(`${prefix}_CLIENT_SECRET must be set with ${prefix}_CLIENT_ID`);
  const issuer = (env[`${prefix}_ISSUER`] || defaultIssuer).replace(/\/+$/, '');
  const protocol = URL.canParse(issuer) ? new URL(issuer).protocol : null;
  if (protocol !== 'https:' && !(protocol === 'http:' && allowHttp)) {
    throw new Error(`${prefix}_ISSUER must be an https:// URL (http:// only with SSO_ALLOW_HTTP=true), got "${issuer}"`);
  }
  return { issuer, clientId, clientSecret };
}

function secretsKey(value: string | undefined): Buffer | null {
  if (!value) return null;
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32) throw new Error('SECRETS_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
  return key;
}

export interface RateLimitConfig {
  /**
   * Failed sign-ins per email from one IP in the window; past it that IP is refused for that email.
   * Failures per email from every IP together only slow sign-in down (see `signInSlowdown`), never
   * refuse it: an attacker must not be able to lock the owner out.
   */
  readonly signInPerEmail: number;
  /** Sign-in attempts per IP in the window. */
  readonly signInPerIp: number;
  /**
   * Failures per email across every IP: past `after` failures each sign-in of that email waits
   * `stepMs` × 2^(failures − after), at most `maxMs` — the right password included, so the delay
   * tells nothing.
   */
  readonly signInSlowdown: { readonly after: number; readonly stepMs: number; readonly maxMs: number };
  /** Password-reset requests per email, and per IP, in the window (the answer is 202 either way). */
  readonly passwordResetPerEmail: number;
  readonly passwordResetPerIp: number;
  /** Verification mails a person may ask for again (`POST /me/verify-email`) in the window. */
  readonly verifyEmailPerPerson: number;
  /** Uses of mailed links (verify, reset confirm, and their look-ups) per IP in the window. */
  readonly linksPerIp: number;
  /** Wrong second-factor codes per person in the window. */
  readonly totpPerPerson: number;
  /** Invitation requests (each up to 50 emails) per account. */
  readonly invitationsPerAccount: number;
  /** Invitation look-ups and accepts per IP. */
  readonly acceptancePerIp: number;
  /** Requests with a wrong SCIM token per IP (issue 16): a guesser is refused; Okta/Entra with the right token never count. */
  readonly scimFailuresPerIp: number;
  readonly windowSeconds: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  signInPerEmail: 10,
  signInPerIp: 100,
  signInSlowdown: { after: 10, stepMs: 250, maxMs: 4000 },
  passwordResetPerEmail: 3,
  passwordResetPerIp: 20,
  verifyEmailPerPerson: 3,
  linksPerIp: 100,
  totpPerPerson: 5,
  invitationsPerAccount: 100,
  acceptancePerIp: 100,
  scimFailuresPerIp: 20,
  windowSeconds: 15 * 60,
};

/** Live layer limits (apps/api/src/live/live-limits.ts; numbers and reasons in the README, "The live layer"). */
export interface LiveLimitConfig {
  /** Per socket, a token bucket: this many events at once (the bucket), refilled at `eventsPerSecond`. */
  readonly eventBurst: number;
  readonly eventsPerSecond: number;
  /**
   * Events over the limit are answered `RATE_LIMITED` (or dropped without an ack) and still cost a
   * token; once a socket owes this many tokens it is disconnected.
   */
  readonly refusalsBeforeDisconnect: number;
  /** After one of its sockets was disconnected for flooding, a session may not connect again for this long. */
  readonly cooldownSeconds: number;
  /** Simultaneous sockets of one session, on all nodes together; the new one is refused with `RATE_LIMITED`. */
  readonly socketsPerSession: number;
  /** Handshakes per client IP in the window (counted in Redis when it is configured). */
  readonly handshakesPerIp: number;
  readonly handshakeWindowSeconds: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimitConfig = {
  eventBurst: 40,
  eventsPerSecond: 5,
  refusalsBeforeDisconnect: 20,
  cooldownSeconds: 60,
  socketsPerSession: 20,
  handshakesPerIp: 120,
  handshakeWindowSeconds: 60,
};

/** scrypt's cost parameters: N (CPU and memory, a power of 2), r (block size), p (parallelism). */
export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Production's: N = 2^15, r = 8, p = 1 (32 MiB and ~60 ms of one core here per hash). */
export const PASSWORD_COST: ScryptCost = { N: 1 << 15, r: 8, p: 1 };

const HOUR = 60 * 60 * 1000;

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const port = Number(env['PORT'] ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${env['PORT']}"`);
  const databaseUrl = env['DATABASE_URL'] || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error('DATABASE_URL must start with postgres:// (leave it unset for the embedded SQLite database)');
  }
  const publicUrl = (env['PUBLIC_URL'] || `http://localhost:${port}`).replace(/\/+$/, '');
  const allowHttpIssuers = env['SSO_ALLOW_HTTP'] === 'true';
  return {
    port,
    dataDir: resolve(env['DATA_DIR'] || './data'),
    databaseUrl,
    postgresPreparedStatements: onOff(env['PG_PREPARED_STATEMENTS'], 'PG_PREPARED_STATEMENTS'),
    redisUrl: env['REDIS_URL'] || null,
    redisPrefix: env['REDIS_PREFIX'] || 'rolecall',
    redisAdapter: redisAdapterKind(env['REDIS_ADAPTER']),
    smtpUrl: env['SMTP_URL'] || null,
    publicUrl,
    allowedOrigins: [
      new URL(publicUrl).origin,
      ...(env['ALLOWED_ORIGINS'] ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    ],
    webRoot: env['WEB_ROOT'] ?? resolve(import.meta.dirname, '../../web/build'),
    sessionIdleMs: 12 * HOUR,
    sessionAbsoluteMs: 30 * 24 * HOUR,
    rateLimits: DEFAULT_RATE_LIMITS,
    liveLimits: DEFAULT_LIVE_LIMITS,
    passwordCost: PASSWORD_COST,
    observability: observabilityConfig(env),
    sso: {
      google: oidcClient(env, 'GOOGLE', DEFAULT_GOOGLE_ISSUER, allowHttpIssuers),
      microsoft: oidcClient(env, 'MICROSOFT', DEFAULT_MICROSOFT_ISSUER, allowHttpIssuers),
      allowHttpIssuers,
      secretsKey: secretsKey(env['SECRETS_KEY']),
    },
    webhooks: webhookConfig(env),
    ...overrides,
  };
}

function onOff(value: string | undefined, name: string): boolean {
  if (!value || value === 'on') return true;
  if (value === 'off') return false;
  throw new Error(`${name} must be "on" or "off", got "${value}"`);
}

function redisAdapterKind(value: string | undefined): 'classic' | 'sharded' {
  if (!value || value === 'classic' || value === 'sharded') return value === 'sharded' ? 'sharded' : 'classic';
  throw new Error(`REDIS_ADAPTER must be "classic" or "sharded", got "${value}"`);
}

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Files in DATA_DIR that must stay writable when they exist (the SQLite database and its WAL). */
const DATA_FILES = ['rolecall.sqlite', 'rolecall.sqlite-wal', 'rolecall.sqlite-shm'];

function dataDirCause(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'missing';
    case 'ENOTDIR':
      return 'not a directory';
    case 'EROFS':
      return 'read-only file system';
    case 'EACCES':
      return 'permission denied';
    case 'EPERM':
      return 'operation not permitted (permission denied, or the file is immutable)';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Start-up check of DATA_DIR (the SQLite database, the mail outbox, the secrets key): null when it is
 * a directory this process can write to, otherwise one line naming the path and the cause. A missing
 * DATA_DIR is created only when it is the default `./data` (`createIfMissing`), so that `npm start`
 * works on a fresh clone; a DATA_DIR set explicitly must exist already — a missing one is more often
 * a volume that was not mounted or a typo than a wish for a new, empty database.
 */
export function dataDirProblem(dataDir: string, options: { createIfMissing: boolean }): string | null {
  const refuse = (cause: string, path = dataDir) =>
    `DATA_DIR ${dataDir} cannot be used: ${path === dataDir ? '' : `${path}: `}${cause}. Rolecall keeps its database, mail outbox and keys there; fix it and start again.`;
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dataDir).isDirectory();
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT' || !options.createIfMissing) {
      const cause = dataDirCause(error);
      return refuse(cause === 'missing' ? `missing (create it, or mount its volume; only the default ./data is created for you)` : cause);
    }
    try {
      mkdirSync(dataDir);
      isDirectory = true;
    } catch (mkdirError) {
      return refuse(`missing, and it could not be created in ${dirname(dataDir)}: ${dataDirCause(mkdirError)}`);
    }
  }
  if (!isDirectory) return refuse('not a directory');
  // access(W_OK) says yes to root on a read-only mount or an immutable directory: try for real.
  const probe = join(dataDir, `.rolecall-write-check-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    rmSync(probe);
  } catch (error) {
    return refuse(dataDirCause(error));
  }
  for (const file of DATA_FILES) {
    const path = join(dataDir, file);
    try {
      closeSync(openSync(path, 'r+'));
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT') return refuse(dataDirCause(error), path);
    }
  }
  return null;
}
