/**
 * "Forgot password?": ask for a mailed link, read what the link resets, and choose the new password.
 * The reset ends every session of the person and does not sign in: the page sends them to sign in.
 */
import type { PasswordResetConfirmRequest, PasswordResetInfoDto, PasswordResetRequest } from '@rolecall/contracts';
import { api } from '$lib/api';
import { live } from '$lib/live';
import { session } from '$lib/session.svelte';
import { readMailedLink, type MailedLink } from './mailed-link';
import { attempt, type Outcome } from './outcome';

/** What a reset link is: open (with what it asks for), no longer valid, or unreadable for now. */
export type ResetLink = MailedLink<PasswordResetInfoDto>;

export function readResetLink(token: string, fetcher: typeof fetch = fetch): Promise<ResetLink> {
  return readMailedLink('/auth/password-reset', token, fetcher);
}

/** Always 202 for any well-formed address, so nobody learns who has a login; 429 when asked too often. */
export function requestPasswordReset(input: PasswordResetRequest): Promise<Outcome<void>> {
  return attempt(() => api.post<void>('/auth/password-reset', input, { quietAuth: true }));
}

export async function confirmPasswordReset(input: PasswordResetConfirmRequest): Promise<Outcome<void>> {
  const outcome = await attempt(() => api.post<void>('/auth/password-reset/confirm', input, { quietAuth: true }));
  if (outcome.ok) {
    // Every session of the person ended; whatever this tab knew about a signed-in person is stale.
    live.stop();
    session.clear();
  }
  return outcome;
}

/** The sign-in page with the email filled in (and, after a reset, the "password changed" note). */
export function signInPath(email: string, options: { reset?: boolean; next?: string } = {}): string {
  const params = new URLSearchParams({ email });
  if (options.reset) params.set('reset', '1');
  if (options.next) params.set('next', options.next);
  return `/signin?${params.toString()}`;
}

/** The "Forgot password?" page, with the address already typed when there is one. */
export function forgotPasswordPath(email?: string | null): string {
  return email ? `/forgot-password?${new URLSearchParams({ email }).toString()}` : '/forgot-password';
}
