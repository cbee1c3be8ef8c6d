import type { RevocationReason } from '@rolecall/contracts';

/** Human words for why a session ended. */
export const REVOCATION_MESSAGES: Record<RevocationReason, string> = {
  member_revoked: 'An admin removed your access to this account.',
  member_deleted: 'Your membership of this account was deleted.',
  session_ended: 'This session was ended from another device.',
  signed_out: 'You signed out.',
  ended_by_admin: 'An admin signed you out of this account.',
  sso_enforced: 'This account now requires single sign-on. Sign in again with your company login.',
  email_claimed:
    'The owner of this email address confirmed it and took this login over. If that was not you, sign up again with an address you control.',
  password_reset: 'Your password was reset, which signs you out everywhere. Sign in with the new password.',
  two_factor_reset:
    'An admin reset your two-factor authentication. Choose a new password through the link we mailed you, then set up two-factor authentication again.',
  deprovisioned:
    "Your company's identity provider ended your access to this account. Ask your IT team if this is a mistake.",
  key_revoked: 'The API key of this connection was revoked.',
  service_account_deleted: 'The service account of this connection was deleted.',
  key_expired: 'The API key of this connection expired.',
};

/**
 * The reason a refusal gives (`details.reason` of a 401 `SESSION_REVOKED`, over HTTP or at the live
 * handshake), when it is one the dashboard has words for.
 */
export function revocationReasonOf(details: Readonly<Record<string, unknown>> | undefined): RevocationReason | null {
  const reason = details?.['reason'];
  return typeof reason === 'string' && Object.hasOwn(REVOCATION_MESSAGES, reason) ? (reason as RevocationReason) : null;
}
