/** Form helpers shared by every page: client-side checks with the contracts' zod schemas. */
import { ApiError } from './api';
import { messageFor } from './errors';

/** Messages per field, keyed by dotted path (`_` for the form as a whole), as the API sends them. */
export type FieldErrors = Record<string, string[]>;

export type Checked<T> = { ok: true; value: T } | { ok: false; fields: FieldErrors };

/** The part of a zod schema the forms use (kept structural so the dashboard needs no direct zod import). */
export interface Schema<T> {
  safeParse(
    input: unknown,
  ):
    | { success: true; data: T }
    | { success: false; error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> } };
}

/** Runs a shared request schema on form input and collects its messages per field. */
export function check<T>(schema: Schema<T>, input: unknown): Checked<T> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const fields: FieldErrors = {};
  for (const issue of result.error.issues) {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '_';
    (fields[path] ??= []).push(issue.message);
  }
  return { ok: false, fields };
}

/**
 * Splits an API error into messages under the fields it names and one message for the form.
 * Field messages whose field is not on the form are folded into the form message.
 */
export function splitError(
  error: unknown,
  formFields: readonly string[],
): { fields: FieldErrors; form: string | null } {
  if (!(error instanceof ApiError) || error.code !== 'VALIDATION_FAILED') {
    return { fields: {}, form: messageFor(error) };
  }
  const fields: FieldErrors = {};
  let unplaced = false;
  for (const [path, messages] of Object.entries(error.fields)) {
    if (formFields.includes(path)) fields[path] = messages;
    else unplaced = true;
  }
  const none = Object.keys(fields).length === 0;
  return { fields, form: unplaced || none ? messageFor(error) : null };
}

/** Moves keyboard focus to the first field marked invalid inside `root`. */
export function focusFirstInvalid(root: HTMLElement | undefined): void {
  root?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
}
