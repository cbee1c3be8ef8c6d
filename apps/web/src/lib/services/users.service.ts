/**
 * Members of the current account (SPEC §5 `/users`, invitations, transfers): reads, and mutation
 * helpers that call the API, confirm with a toast and hand the outcome back for the page to show
 * errors in place. Every change sends `If-Match` with the version the caller last saw; a 412 carries
 * the resource as it is now (`conflictOf`), so the page can show it and offer to re-apply.
 * The invite dialog's email chips are `./users/email-chips` itself, not re-exported here: they check
 * with zod, which the Users page does not load until the dialog opens (issue 21).
 */
export * from './users/member-filters';
export * from './users/member-reads';
export * from './users/member-words';
export * from './users/member-errors';
export * from './users/own-changes';
export * from './users/member-mutations';
