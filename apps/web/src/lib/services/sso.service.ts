/**
 * Single sign-on from the dashboard's side: the providers the sign-in page can offer, why a
 * provider sign-in came back refused (`/signin?sso_error=`), and the Account page's changes —
 * the account's Okta connection, a dry run of enforcement, enforcement itself and required 2FA.
 * Every account change sends `If-Match` with the account version the page last saw.
 */
import {
  idSchema,
  SSO_ERROR_CODES,
  type AccountDto,
  type AuthEnforcement,
  type EnforcementPreviewDto,
  type OktaConnectionRequest,
  type SsoErrorCode,
  type SsoProvidersDto,
} from '@rolecall/contracts';
import { api } from '$lib/api';
import { dryRun } from './dry-run';
import { attempt, type Outcome } from './outcome';

export { PROVIDER_NAMES } from './sso-providers';

/** The providers offered for an account (only the enforced one while one is enforced). */
export function fetchProviders(accountId?: string | null): Promise<SsoProvidersDto> {
  return api.get<SsoProvidersDto>('/auth/sso/providers', {
    query: { account: accountId ?? undefined },
    quietAuth: true,
  });
}

// ── Which account the sign-in page is for ───────────────────────────────────────────────────

const REMEMBERED = 'rolecall.signin.account';

/**
 * Provider sign-in always happens into one account (its enforcement and, for Okta, its own
 * connection decide). The sign-in page learns it from `?account=<id>` — the sign-in link an admin
 * copies from the Account page, and what a refused sign-in comes back with — and remembers the
 * last one in this browser, so the next visit to plain `/signin` offers the same buttons.
 */
export function accountFromUrl(url: URL): string | null {
  const value = url.searchParams.get('account');
  return value && idSchema.safeParse(value).success ? value : null;
}

export function rememberedAccount(): string | null {
  try {
    const value = localStorage.getItem(REMEMBERED);
    return value && idSchema.safeParse(value).success ? value : null;
  } catch {
    return null;
  }
}

export function rememberAccount(accountId: string | null): void {
  try {
    if (accountId) localStorage.setItem(REMEMBERED, accountId);
    else localStorage.removeItem(REMEMBERED);
  } catch {
    // Storage blocked: the page still works with ?account= in the link.
  }
}

/** An account id from what someone pasted: the sign-in link (`…/signin?account=<id>`) or the bare id. */
export function accountFromInput(input: string): string | null {
  const text = input.trim();
  if (idSchema.safeParse(text).success) return text.toLowerCase();
  try {
    return accountFromUrl(new URL(text));
  } catch {
    return null;
  }
}

/** The link that opens the sign-in page with this account's provider buttons. */
export function signInLink(accountId: string): string {
  return `${location.origin}/signin?account=${accountId}`;
}

/** The redirect URI to register at the account's Okta (the API's callback, on this origin). */
export function oktaRedirectUri(): string {
  return `${location.origin}/api/v1/auth/sso/okta/callback`;
}

// ── Refused provider sign-ins ───────────────────────────────────────────────────────────────

const SSO_ERROR_MESSAGES: Record<SsoErrorCode, string> = {
  PROVIDER_NOT_CONFIGURED:
    'That sign-in provider isn’t set up for this account. Ask an admin, or sign in with your password.',
  PROVIDER_NOT_ALLOWED: 'This account requires another sign-in provider. Use the button below.',
  ACCOUNT_NOT_FOUND: 'We couldn’t find that account. Check the sign-in link your admin shared.',
  STATE_INVALID: 'That sign-in link was already used or was opened in another browser. Start again here.',
  FLOW_EXPIRED: 'The sign-in took too long. Start again.',
  PROVIDER_DENIED: 'The sign-in was cancelled at the provider.',
  PROVIDER_UNAVAILABLE:
    'We couldn’t reach the sign-in provider. Try again in a moment, or ask an admin to check its settings.',
  CODE_REJECTED: 'The provider didn’t accept the sign-in. Start again.',
  TOKEN_INVALID:
    'The provider’s answer couldn’t be verified. Start again, or ask an admin to check the provider settings.',
  TOKEN_AUDIENCE: 'The provider’s answer was meant for another app. Ask an admin to check the client ID.',
  TOKEN_EXPIRED: 'The provider’s answer had expired. Start again.',
  NONCE_MISMATCH: 'The provider’s answer didn’t match this sign-in. Start again.',
  EMAIL_UNVERIFIED: 'Your provider hasn’t verified your email address, so we can’t match it to a member.',
  NOT_A_MEMBER:
    'You signed in at the provider, but that login isn’t a member of this account. Ask an admin to invite you.',
  INVITATION_INVALID: 'Your invitation has expired or was cancelled. Ask an admin for a new one.',
  RATE_LIMITED: 'Too many sign-in attempts. Wait a minute and try again.',
  INTERNAL: 'Something went wrong on our side. Try again in a moment.',
};

/** Words for `?sso_error=`; an unknown code still gets a sentence. */
export function ssoErrorMessage(code: string): string {
  return (SSO_ERROR_CODES as readonly string[]).includes(code)
    ? SSO_ERROR_MESSAGES[code as SsoErrorCode]
    : 'Single sign-on didn’t work. Start again, or sign in with your password.';
}

// ── Account settings ────────────────────────────────────────────────────────────────────────

export function saveOkta(
  account: Pick<AccountDto, 'version'>,
  connection: OktaConnectionRequest,
): Promise<Outcome<AccountDto>> {
  return attempt(() => api.put<AccountDto>('/account/okta', connection, { ifMatch: account.version }));
}

/** Who would lose access if `enforcement` were turned on now; nothing is written. */
export function previewEnforcement(
  account: Pick<AccountDto, 'version'>,
  enforcement: AuthEnforcement,
): Promise<Outcome<EnforcementPreviewDto>> {
  return dryRun(() =>
    api.patch<EnforcementPreviewDto>(
      '/account',
      { authEnforcement: enforcement },
      { ifMatch: account.version, query: { dryRun: 'true' } },
    ),
  );
}

export function setEnforcement(
  account: Pick<AccountDto, 'version'>,
  enforcement: AuthEnforcement,
): Promise<Outcome<AccountDto>> {
  return attempt(() =>
    api.patch<AccountDto>('/account', { authEnforcement: enforcement }, { ifMatch: account.version }),
  );
}

export function setRequire2fa(account: Pick<AccountDto, 'version'>, on: boolean): Promise<Outcome<AccountDto>> {
  return attempt(() => api.patch<AccountDto>('/account', { require2fa: on }, { ifMatch: account.version }));
}
