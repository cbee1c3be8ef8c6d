/**
 * Plain words for every error the API (or the network) can produce. The dashboard shows these,
 * never the raw JSON, the server's technical message, or a stack.
 */
import { ERROR_STATUS } from '@rolecall/contracts';
import { ApiError, type ApiErrorCode } from './api';

const FALLBACK = 'Something went wrong. Try again in a moment.';

function assertUnreachable(value: never): never {
  throw new Error(`Unhandled error code: ${String(value)}`);
}

function messageForCode(code: ApiErrorCode): string {
  switch (code) {
    case 'VALIDATION_FAILED':
      return 'Some fields need attention. Check the highlighted fields and try again.';
    case 'ADMIN_ONLY_PERMISSION':
      return 'Only the Admin role can have that permission.';
    case 'UNAUTHENTICATED':
      return 'You’re signed out. Sign in to continue.';
    case 'SESSION_REVOKED':
      return 'Your session has ended. Sign in again to continue.';
    case 'INVALID_CREDENTIALS':
      return 'That email and password don’t match.';
    case 'TOTP_REQUIRED':
      return 'Enter the 6-digit code from your authenticator app.';
    case 'TOTP_INVALID':
      return 'That code didn’t work. Check your authenticator app and try again.';
    case 'SSO_REQUIRED':
      return 'This account requires single sign-on. Sign in with your organization’s provider.';
    case 'FORBIDDEN':
      return 'You don’t have permission to do that.';
    case 'SELF_ACTION_FORBIDDEN':
      return 'You can’t do that to your own membership.';
    case 'PLAN_FEATURE_UNAVAILABLE':
      return 'Your plan doesn’t include this. Upgrade the plan to use it.';
    case 'NOT_FOUND':
      return 'We couldn’t find that. It may have been removed.';
    case 'USER_EXISTS':
      return 'That person is already a member of this account.';
    case 'SEAT_LIMIT_REACHED':
      return 'Every seat on your plan is taken. Free a seat or upgrade the plan.';
    case 'AGENT_SEAT_LIMIT_REACHED':
      return 'Every agent seat on your plan is taken. Free an agent seat or upgrade the plan.';
    case 'OWNER_PROTECTED':
      return 'The account owner can’t be changed this way. Transfer ownership first.';
    case 'BILLING_CONTACT_PROTECTED':
      return 'This person is the billing contact. Make someone else the billing contact first.';
    case 'ROLE_IN_USE':
      return 'People still have this role. Choose another role for them first.';
    case 'SYSTEM_ROLE_READONLY':
      return 'Built-in roles can’t be changed or deleted.';
    case 'CONFLICT':
      return 'That clashes with a recent change. Reload the page and try again.';
    case 'INVITATION_INVALID':
      return 'This invitation link is no longer valid. Ask for a new invitation.';
    case 'LINK_INVALID':
      return 'This link is not valid any more: it was used, replaced by a newer one, or it expired. Ask for a new one.';
    case 'PAYLOAD_TOO_LARGE':
      return 'That’s too much to send at once. Try fewer items.';
    case 'VERSION_MISMATCH':
      return 'Someone else changed this while you were working on it. Review their change and try again.';
    case 'PRECONDITION_REQUIRED':
      return 'This page is out of date. Reload it and try again.';
    case 'RATE_LIMITED':
      return 'Too many attempts. Wait a minute and try again.';
    case 'INTERNAL':
      return 'Something went wrong on our side. Try again in a moment.';
    case 'UNAVAILABLE':
      // A write is not sent again by itself (GETs are): the person sends it again once it is back.
      return 'Rolecall can’t reach its database, so nothing was changed. Try again in a moment.';
    case 'STORAGE_FULL':
      return 'Rolecall’s storage is full, so nothing was saved. Ask your administrator to free disk space.';
    case 'NETWORK_ERROR':
      return 'Can’t reach Rolecall. Check your connection and try again.';
    case 'BAD_RESPONSE':
      return FALLBACK;
    default:
      return assertUnreachable(code);
  }
}

function isKnownCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(ERROR_STATUS, code) || code === 'NETWORK_ERROR' || code === 'BAD_RESPONSE';
}

/** A short, human sentence for any thrown value. */
export function messageFor(error: unknown): string {
  if (error instanceof ApiError) {
    // A newer API may send a code this build does not know yet: stay generic rather than guess.
    return isKnownCode(error.code) ? messageForCode(error.code) : FALLBACK;
  }
  return FALLBACK;
}
