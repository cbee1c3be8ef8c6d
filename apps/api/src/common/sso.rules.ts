import type { AuthEnforcement, SsoProvider } from '@rolecall/contracts';

/**
 * The rules of single sign-on, as pure functions (no I/O): who may use a password, which sessions
 * an enforcement ends, when a session is limited to 2FA enrolment, what `amr` counts as MFA.
 */

/**
 * `amr` values (RFC 8176) that show a second factor was used: `mfa` and `mca` say so outright;
 * `otp` (one-time code), `hwk`/`swk` (proof of a hardware / software key, e.g. a security key or a
 * passkey) and `sc` (smart card) are factors beyond the password. SMS/phone (`sms`, `tel`), PINs,
 * knowledge questions and biometrics alone do not count; providers that combine them with a password
 * report `mfa`. Google's ID tokens carry no `amr`, so Google sign-ins never satisfy required 2FA.
 */
const MFA_AMR_VALUES: readonly string[] = ['mfa', 'mca', 'otp', 'hwk', 'swk', 'sc'];

export function amrShowsMfa(amr: unknown): boolean {
  return Array.isArray(amr) && amr.some((value) => typeof value === 'string' && MFA_AMR_VALUES.includes(value));
}

export type PasswordDecision =
  | { readonly allowed: true; readonly breakGlass: boolean }
  | { readonly allowed: false; readonly reason: 'sso_required' | 'owner_needs_2fa' };

/**
 * Password sign-in to an account: always while nothing is enforced; under enforcement only the
 * owner, and only with a second factor (break-glass), so a lost IdP never locks the account out.
 */
export function passwordSignIn(
  enforcement: AuthEnforcement,
  who: { isOwner: boolean; hasTotp: boolean },
): PasswordDecision {
  if (enforcement === 'any') return { allowed: true, breakGlass: false };
  if (!who.isOwner) return { allowed: false, reason: 'sso_required' };
  if (!who.hasTotp) return { allowed: false, reason: 'owner_needs_2fa' };
  return { allowed: true, breakGlass: true };
}

/**
 * Whether a live session may keep working in an account that enforces a provider: one made through
 * that provider, or the owner's (break-glass is judged when it signs in or switches in). Turning
 * enforcement on ends every other session (AccountsService.update); this also catches a session
 * that got in another way (an invitation accepted with a password).
 */
export function sessionMeetsEnforcement(
  enforcement: AuthEnforcement,
  session: { authMethod: string },
  isOwner: boolean,
): boolean {
  return enforcement === 'any' || session.authMethod === enforcement || isOwner;
}

export type SwitchDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: 'sso_required' | 'owner_needs_2fa' | 'account_scoped' };

/**
 * Moving a session to another account of the person. An Okta session stays in its account: that
 * account's own Okta vouched for the person there and nowhere else. Into an account that enforces
 * a provider, the session must come from it, or be the owner's with a second factor.
 */
export function switchAccount(
  enforcement: AuthEnforcement,
  session: { authMethod: string; mfa: boolean; accountId: string },
  target: { accountId: string; isOwner: boolean },
): SwitchDecision {
  if (session.authMethod === 'okta' && session.accountId !== target.accountId)
    return { allowed: false, reason: 'account_scoped' };
  if (enforcement === 'any' || session.authMethod === enforcement) return { allowed: true };
  if (!target.isOwner) return { allowed: false, reason: 'sso_required' };
  return session.mfa ? { allowed: true } : { allowed: false, reason: 'owner_needs_2fa' };
}

/**
 * Required 2FA: a session that proved no second factor, of a person without TOTP, may only enrol
 * (GET /me, POST /me/2fa/setup, POST /me/2fa/confirm, POST /auth/sign-out) until they do. Required
 * by the account, or for this person alone after an admin reset their 2FA (`enrolmentRequired`).
 */
export function enrolmentOnly(
  require2fa: boolean,
  session: { mfa: boolean },
  person: { hasTotp: boolean; enrolmentRequired?: boolean },
): boolean {
  return (require2fa || person.enrolmentRequired === true) && !session.mfa && !person.hasTotp;
}

/** The providers whose sign-in an account offers: the enforced one alone, or every configured one. */
export function offeredProviders(enforcement: AuthEnforcement, configured: readonly SsoProvider[]): SsoProvider[] {
  return configured.filter((provider) => enforcement === 'any' || provider === enforcement);
}

/**
 * Linking by email needs the provider to vouch for the address: `email_verified`, or for Microsoft
 * the `xms_edov` optional claim (email domain owner verified) — Entra's `email` is otherwise
 * editable by any tenant admin, so it alone must never claim a Rolecall person.
 */
export function emailIsVerified(
  provider: SsoProvider,
  claims: { email_verified?: unknown; xms_edov?: unknown },
): boolean {
  if (claims.email_verified === true || claims.email_verified === 'true') return true;
  return provider === 'microsoft' && (claims.xms_edov === true || claims.xms_edov === 'true' || claims.xms_edov === 1);
}
