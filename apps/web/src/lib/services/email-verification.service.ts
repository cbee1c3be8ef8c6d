/**
 * Proving the mailbox of an email (SPEC §8): the link mailed at sign-up confirms it for its person;
 * anyone else who opens it takes the unconfirmed login over by choosing its new password.
 */
import type { VerifyEmailInfoDto } from '@rolecall/contracts';
import { api, isApiError } from '$lib/api';
import { live } from '$lib/live';
import { session } from '$lib/session.svelte';
import { toasts } from '$lib/toast.svelte';
import { readMailedLink, type MailedLink } from './mailed-link';
import { attempt, type Outcome } from './outcome';

export type VerifyLink = MailedLink<VerifyEmailInfoDto>;

export function readVerifyLink(token: string, fetcher: typeof fetch = fetch): Promise<VerifyLink> {
  return readMailedLink('/auth/verify-email', token, fetcher);
}

function markVerified(): void {
  if (session.me) session.me.person.emailVerified = true;
}

/** Signed in as the link's person: confirms the email, nothing else changes. */
export async function confirmEmail(token: string): Promise<Outcome<void>> {
  const outcome = await attempt(() => api.post<void>('/auth/verify-email', { token }, { quietAuth: true }));
  if (outcome.ok) markVerified();
  return outcome;
}

/**
 * Anyone else: proves the mailbox and takes the unconfirmed login over with a new password (its
 * holder's sessions end, its password, 2FA and linked sign-ins are removed). Does not sign in.
 */
export async function claimEmail(token: string, password: string): Promise<Outcome<void>> {
  const outcome = await attempt(() => api.post<void>('/auth/verify-email', { token, password }, { quietAuth: true }));
  if (outcome.ok) {
    // Whoever was signed in in this tab is no longer who the next page should show.
    live.stop();
    session.clear();
  }
  return outcome;
}

/** Mails a new link to the signed-in person (the older one stops working); 429 when asked too often. */
export async function resendVerification(): Promise<Outcome<void>> {
  const outcome = await attempt(() => api.post<void>('/me/verify-email'));
  const email = session.me?.person.email ?? 'your address';
  if (outcome.ok) {
    toasts.show(`We mailed a new link to ${email}. It works for 24 hours.`);
    return outcome;
  }
  if (isApiError(outcome.error, 'CONFLICT')) {
    // Confirmed meanwhile (another tab, another device): nothing left to do.
    markVerified();
    toasts.show(`${email} is already confirmed.`);
    return { ok: true, value: undefined };
  }
  return outcome;
}
