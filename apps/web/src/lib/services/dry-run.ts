/**
 * Dry runs (`?dryRun=true`) answer 200 with their preview and, when the real request would be
 * refused, the refusal inside as `wouldFail` (issue 15: a preview asked on every keystroke logged a
 * 409 each time). Callers keep handling the refusal as the error the real request would throw.
 */
import { ERROR_STATUS, type DryRunDto } from '@rolecall/contracts';
import { ApiError } from '$lib/api';
import { attempt, type Outcome } from './outcome';

/** The refusal a dry run found, as the `ApiError` the real request would throw; null when there is none. */
function dryRunError(preview: DryRunDto): ApiError | null {
  const failure = preview.wouldFail;
  return failure
    ? new ApiError(failure.code, failure.message, ERROR_STATUS[failure.code], failure.details ?? {})
    : null;
}

/** Asks a dry run: the preview, or the refusal it found as the error. */
export async function dryRun<T extends DryRunDto>(ask: () => Promise<T>): Promise<Outcome<T>> {
  const outcome = await attempt(ask);
  if (!outcome.ok) return outcome;
  const error = dryRunError(outcome.value);
  return error ? { ok: false, error } : outcome;
}
