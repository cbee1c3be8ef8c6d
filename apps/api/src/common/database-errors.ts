import { DomainError } from './domain-error.js';

/**
 * What a database failure means for the request that met it:
 * - `storage_full`: the database cannot grow (SQLite's SQLITE_FULL, PostgreSQL's disk_full 53100): 507 STORAGE_FULL;
 * - `unavailable`: the database cannot be reached or cannot serve right now (connection refused, reset
 *   or terminated, a pool connect timeout, SQLite locked past its busy timeout or unable to open or
 *   read its file): 503 UNAVAILABLE with Retry-After;
 * - `null`: anything else (a bug, a constraint): handled as before.
 */
export type DatabaseFailure = 'storage_full' | 'unavailable';

/** Seconds a client is told to wait (`Retry-After`) after a 503 for an unreachable database. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/** PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const PG_DISK_FULL = '53100';
const PG_UNAVAILABLE = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend, a fast shutdown)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, in recovery)
  '53300', // too_many_connections
]);
const SOCKET_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * node-postgres and pg-pool report a lost or unobtainable connection with an Error without a code;
 * these are their messages (pg 8 `client.js`, pg-pool 3 `index.js`).
 */
const LOST_CONNECTION = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout", "Connection terminated"
  /^timeout exceeded when trying to connect$/,
  /is not queryable$/, // "Client has encountered a connection error and is not queryable"
  /^Client was closed and is not queryable$/,
  /^Cannot use a pool after calling end on the pool$/,
];

/** better-sqlite3 reports extended result codes (`SQLITE_IOERR_WRITE`); the primary code is the prefix. */
const SQLITE_UNAVAILABLE = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
  'SQLITE_READONLY',
  'SQLITE_NOTADB',
];

function classifyOne(error: { code?: unknown; message?: unknown }): DatabaseFailure | null {
  const code = typeof error.code === 'string' ? error.code : '';
  if (code === PG_DISK_FULL || code === 'ENOSPC' || code === 'SQLITE_FULL' || code.startsWith('SQLITE_FULL_'))
    return 'storage_full';
  if (PG_UNAVAILABLE.has(code) || /^08[0-9A-Z]{3}$/.test(code) || SOCKET_ERRORS.has(code)) return 'unavailable';
  if (SQLITE_UNAVAILABLE.some((primary) => code === primary || code.startsWith(`${primary}_`))) return 'unavailable';
  const message = typeof error.message === 'string' ? error.message : '';
  if (!code && LOST_CONNECTION.some((pattern) => pattern.test(message))) return 'unavailable';
  return null;
}

/**
 * Classifies a failure by the error itself, the driver error TypeORM wraps (`QueryFailedError.driverError`)
 * and its `cause` chain (a few levels; an AggregateError's errors too: a refused connection to
 * `localhost` fails on ::1 and 127.0.0.1).
 */
export function databaseFailure(error: unknown, depth = 0): DatabaseFailure | null {
  if (typeof error !== 'object' || error === null || depth > 4) return null;
  const failure = error as {
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  const own = classifyOne(failure);
  if (own) return own;
  for (const inner of [failure.driverError, failure.cause, ...(Array.isArray(failure.errors) ? failure.errors : [])]) {
    const found = databaseFailure(inner, depth + 1);
    if (found) return found;
  }
  return null;
}

/**
 * A database failure as the caller should see it — out of space → STORAGE_FULL (507), unreachable →
 * UNAVAILABLE (503, Retry-After) — with the driver error as its cause; anything else unchanged.
 * Database does this for every read and transaction; the error filter for failures that did not
 * come through it.
 */
export function databaseDomainError(error: unknown): unknown {
  const failure = databaseFailure(error);
  if (!failure) return error;
  const domainError =
    failure === 'storage_full'
      ? new DomainError(
          'STORAGE_FULL',
          'The database is out of space, so nothing was saved. Ask your administrator to free disk space.',
        )
      : new DomainError(
          'UNAVAILABLE',
          'The database cannot be reached right now, so nothing was saved. Try again in a few seconds.',
          {
            retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
          },
        );
  return Object.assign(domainError, { cause: error });
}
