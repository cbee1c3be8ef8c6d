import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from '@rolecall/contracts';
import type { Response } from 'express';
import { databaseDomainError, databaseFailure } from './database-errors.js';
import { outageLog } from './observability/outage-log.js';
import { DomainError } from './domain-error.js';

/** HTTP statuses Nest or Express may raise on their own, mapped to the spec's codes. */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'VALIDATION_FAILED';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'CONFLICT';
    case 412:
      return 'VERSION_MISMATCH';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 428:
      return 'PRECONDITION_REQUIRED';
    case 429:
      return 'RATE_LIMITED';
    default:
      return status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED';
  }
}

/** Turns any failure into `{ error: { code, message, details? } }` with a fitting status. */
export function toErrorBody(exception: unknown): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  if (exception instanceof DomainError) {
    const body: ErrorBody = { error: { code: exception.code, message: exception.message } };
    if (exception.details) body.error.details = exception.details;
    const headers: Record<string, string> = {};
    const retryAfter = exception.details?.['retryAfterSeconds'];
    if (typeof retryAfter === 'number') headers['Retry-After'] = String(retryAfter);
    return { status: ERROR_STATUS[exception.code], body, headers };
  }
  // A database failure that did not come through Database: the same STORAGE_FULL / UNAVAILABLE answer.
  const databaseError = databaseDomainError(exception);
  if (databaseError !== exception) return toErrorBody(databaseError);
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code = codeForStatus(status);
    const message =
      status === 404 ? 'No such route' : status >= 500 ? 'Something went wrong on our side' : exception.message;
    const body: ErrorBody = { error: { code, message } };
    // Nest's own 400s (e.g. an undecodable path parameter) still name what was wrong.
    if (code === 'VALIDATION_FAILED') body.error.details = { fields: { _: [message] } };
    return { status, body };
  }
  if (isUniqueViolation(exception)) {
    return {
      status: 409,
      body: { error: { code: 'CONFLICT', message: 'That already exists (another request made it first)' } },
    };
  }
  const bodyParserError = exception as { type?: string; status?: number } | null;
  if (bodyParserError?.type === 'entity.too.large') {
    return { status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large' } } };
  }
  if (bodyParserError?.type === 'entity.parse.failed') {
    return {
      status: 400,
      body: {
        error: {
          code: 'VALIDATION_FAILED',
          message: 'The request body is not valid JSON',
          details: { fields: { _: ['Malformed JSON'] } },
        },
      },
    };
  }
  if (typeof bodyParserError?.status === 'number' && bodyParserError.status >= 400 && bodyParserError.status < 500) {
    const status = bodyParserError.status;
    return { status, body: { error: { code: codeForStatus(status), message: 'The request could not be read' } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'Something went wrong on our side' } } };
}

/** A unique index refused a write: a race lost against a concurrent request (PostgreSQL 23505, SQLite UNIQUE). */
function isUniqueViolation(exception: unknown): boolean {
  const error = exception as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = error?.driverError?.code ?? error?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const response = host.switchToHttp().getResponse<Response>();
    const { status, body, headers } = toErrorBody(exception);
    if (status === 503 || status === 507) this.logOutage(body.error.code, exception);
    else if (status >= 500)
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    if (response.headersSent) return;
    for (const [name, value] of Object.entries(headers ?? {})) response.setHeader(name, value);
    response.status(status).json(body);
  }

  /** An expected outage (503, 507): one line per kind per interval, without a stack (common/observability/outage-log.ts). */
  private logOutage(code: string, exception: unknown): void {
    const cause = (exception as { cause?: unknown } | null)?.cause ?? exception;
    const failure = databaseFailure(cause);
    const kind =
      failure === 'storage_full'
        ? 'database.storage_full'
        : failure === 'unavailable'
          ? 'database.unreachable'
          : `http.${code}`;
    outageLog(kind, `${code}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
