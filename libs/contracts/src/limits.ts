/**
 * Plain values of the request rules, without zod: a bundle that needs only these (the dashboard's
 * member filters and its form hints) does not carry zod and every schema with them (issue 21; the
 * package is `sideEffects: false`). schemas.ts and users-csv.ts re-export them: import them from
 * `@rolecall/contracts` as before.
 */

export const MEMBER_STATUSES = ['invited', 'active', 'revoked'] as const;
export const MAX_INVITATION_EMAILS = 50;

export const ENFORCED_AUTH_STATES = ['linked', 'pending'] as const;

/** At most this many invitations per import. */
export const MAX_IMPORT_ROWS = 1000;
/** The CSV text of an import, in UTF-8 bytes. */
export const MAX_IMPORT_BYTES = 1024 * 1024;
