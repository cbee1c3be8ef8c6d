import type { DryRunFailureDto } from '@rolecall/contracts';
import { DomainError } from './domain-error.js';

/**
 * A dry run answers 200 with its preview (issue 15): the refusal the real request would answer
 * with a 409 goes inside it as `wouldFail`. Anything else — bad input, permissions, a stale
 * If-Match, an outage — is thrown on, so the dry run answers it as the real request would.
 */
export function dryRunFailure(error: unknown): DryRunFailureDto {
  if (!(error instanceof DomainError) || error.status !== 409) throw error;
  return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
}

/** Runs one check of the real request: null when it passes, its 409 refusal when it does not. */
export async function wouldFail(check: () => Promise<unknown>): Promise<DryRunFailureDto | null> {
  try {
    await check();
    return null;
  } catch (error) {
    return dryRunFailure(error);
  }
}
