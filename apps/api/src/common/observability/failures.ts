import { QueryFailedError } from 'typeorm';
import { DomainError } from '../domain-error.js';
import { databaseFailure } from '../database-errors.js';
import { countDatabaseError, countRedisError, type DatabaseErrorKind, type RedisErrorKind } from './metrics.js';

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The driver's code of a failed statement (TypeORM keeps it on `driverError`). */
function driverCode(error: QueryFailedError): string {
  const driver = (error as { driverError?: { code?: unknown } }).driverError;
  const code = driver?.code ?? (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

/**
 * The metric kind of a failed database operation, or null when the error is not the database's (a
 * domain refusal thrown inside a transaction, an entity not found). Outages follow the durability
 * classification (`database-errors.ts`, the same that answers 503/507).
 */
export function databaseErrorKind(error: unknown): DatabaseErrorKind | null {
  // Already turned into the answer (STORAGE_FULL, UNAVAILABLE) and counted on its way up.
  if (error instanceof DomainError) return null;
  const failure = databaseFailure(error);
  if (failure) return failure;
  if (!(error instanceof QueryFailedError)) return null;
  const code = driverCode(error);
  if (code === '40P01' || code === '40001') return 'deadlock';
  if (code.startsWith('SQLITE_CONSTRAINT') || code.startsWith('23')) return 'constraint';
  if (code === '57014') return 'timeout';
  return 'other';
}

/** Counts a failed read or transaction in `rolecall_database_errors_total` (nothing for non-database errors). */
export function recordDatabaseError(error: unknown): void {
  const kind = databaseErrorKind(error);
  if (kind) countDatabaseError(kind);
}

const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function redisErrorKind(error: unknown): RedisErrorKind {
  const failure = error as { code?: unknown; name?: unknown; errors?: unknown } | null;
  const code = typeof failure?.code === 'string' ? failure.code : '';
  const message = errorMessage(error);
  if (code === 'ETIMEDOUT' || /timeout/i.test(message) || failure?.name === 'TimeoutError') return 'timeout';
  if (CONNECTION_CODES.has(code) || Array.isArray(failure?.errors) || /socket|connect|closed|ECONN/i.test(message))
    return 'connection';
  return 'command';
}

/**
 * Counts a Redis failure by kind in `rolecall_redis_errors_total`. Logging is the Redis channel's
 * (live/redis-bridge.ts: one line per connection and kind per interval).
 */
export function recordRedisError(error: unknown): void {
  countRedisError(redisErrorKind(error));
}
