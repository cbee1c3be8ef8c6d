import type { SsoProvider } from '@rolecall/contracts';

/**
 * The providers' names as the dashboard shows them. A module of its own: the Users table and filters
 * need only these, not sso.service's sign-in helpers, which check ids with zod (issue 21).
 */
export const PROVIDER_NAMES: Record<SsoProvider, string> = { google: 'Google', microsoft: 'Microsoft', okta: 'Okta' };
