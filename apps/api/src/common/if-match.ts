import type { Request } from 'express';
import { DomainError } from './domain-error.js';

/**
 * `If-Match: "<version>"` on every change to an existing resource: missing → 428
 * `PRECONDITION_REQUIRED`; malformed → 400. Services compare it with the stored version inside
 * their transaction (`versionMismatch` with the resource as it is now).
 */
export function ifMatchOf(request: Request): number {
  const header = request.headers['if-match'];
  if (header === undefined || header === '') {
    throw new DomainError(
      'PRECONDITION_REQUIRED',
      'Send If-Match with the version you are changing, e.g. If-Match: "3"',
    );
  }
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(String(header));
  if (!match)
    throw new DomainError('VALIDATION_FAILED', 'If-Match must be a quoted version, e.g. "3"', {
      fields: { 'If-Match': ['Must be a quoted version number'] },
    });
  return Number(match[1]);
}

/** 412 with the resource as it is now, so the client can show what changed. */
export function versionMismatch(current: unknown): DomainError {
  return new DomainError('VERSION_MISMATCH', 'Someone else changed this first; review their change and try again', {
    current,
  });
}
