import { ERROR_STATUS, type ErrorCode } from '@rolecall/contracts';

/**
 * The one error type services throw. Its `code` comes from the contracts' list; the exception
 * filter maps it to the HTTP status and the `{ error: { code, message, details } }` shape.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what: string): DomainError => new DomainError('NOT_FOUND', `${what} not found`);

export const forbidden = (message = 'You do not have permission to do that', details?: Record<string, unknown>): DomainError =>
  new DomainError('FORBIDDEN', message, details);

export const validationFailed = (fields: Record<string, string[]>, message = 'Some fields are invalid'): DomainError =>
  new DomainError('VALIDATION_FAILED', message, { fields });
