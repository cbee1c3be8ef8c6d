import { resolve } from 'node:path';

/** Everything the API reads from its environment (SPEC §3), resolved once at start-up. */
export interface AppConfig {
  readonly port: number;
  readonly dataDir: string;
  /** `postgres://…` → PostgreSQL; unset → SQLite at `$DATA_DIR/rolecall.sqlite`. */
  readonly databaseUrl: string | null;
  readonly redisUrl: string | null;
  /** Prefix of every Redis key and channel, so several deployments (or test runs) can share one Redis. */
  readonly redisPrefix: string;
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
  readonly logRequests: boolean;
}

export interface RateLimitConfig {
  /** Failed sign-ins per email in the window. */
  readonly signInPerEmail: number;
  /** Sign-in attempts per IP in the window. */
  readonly signInPerIp: number;
  /** Wrong second-factor codes per person in the window. */
  readonly totpPerPerson: number;
  /** Invitation requests (each up to 50 emails) per account. */
  readonly invitationsPerAccount: number;
  /** Invitation look-ups and accepts per IP. */
  readonly acceptancePerIp: number;
  readonly windowSeconds: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  signInPerEmail: 10,
  signInPerIp: 100,
  totpPerPerson: 5,
  invitationsPerAccount: 100,
  acceptancePerIp: 100,
  windowSeconds: 15 * 60,
};

const HOUR = 60 * 60 * 1000;

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const port = Number(env['PORT'] ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${env['PORT']}"`);
  const databaseUrl = env['DATABASE_URL'] || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error('DATABASE_URL must start with postgres:// (leave it unset for the embedded SQLite database)');
  }
  const publicUrl = (env['PUBLIC_URL'] || `http://localhost:${port}`).replace(/\/+$/, '');
  return {
    port,
    dataDir: resolve(env['DATA_DIR'] || './data'),
    databaseUrl,
    redisUrl: env['REDIS_URL'] || null,
    redisPrefix: env['REDIS_PREFIX'] || 'rolecall',
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
    logRequests: env['LOG_REQUESTS'] === 'true',
    ...overrides,
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
