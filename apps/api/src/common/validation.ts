import { StandardSchemaValidationPipe } from '@nestjs/common';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { validationFailed } from './domain-error.js';

/** Issues of a failed schema check, grouped by dotted field path (`_` for the whole body). */
function fieldsOf(issues: readonly StandardSchemaV1.Issue[]): Record<string, string[]> {
  // No prototype: a field may be called `toString` or `__proto__`.
  const fields: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const issue of issues) {
    const path = (issue.path ?? [])
      .map((part) => (typeof part === 'object' ? String(part.key) : String(part)))
      .join('.');
    const unknownKeys = (issue as { keys?: unknown }).keys;
    if (Array.isArray(unknownKeys)) {
      for (const name of unknownKeys)
        (fields[path ? `${path}.${String(name)}` : String(name)] ??= []).push('Unknown field');
      continue;
    }
    (fields[path || '_'] ??= []).push(issue.message);
  }
  return fields;
}

/**
 * The one validation style: zod schemas from libs/contracts, attached with `@Body({ schema })` /
 * `@Query({ schema })`, checked by Nest's Standard Schema pipe, failures in the spec's shape.
 */
export const validationPipe = new StandardSchemaValidationPipe({
  exceptionFactory: (issues) => validationFailed(fieldsOf(issues)),
});
