/** Sign-up, sign-in and sign-out. The API sets and clears the session cookie; we only navigate. */
import type { AuthResultDto, SignInRequest, SignupRequest } from '@rolecall/contracts';
import { goto } from '$app/navigation';
import { api, isSignedOutError } from '$lib/api';
import { messageFor } from '$lib/errors';
import { session } from '$lib/session.svelte';
import { toasts } from '$lib/toast.svelte';
import { attempt, type Outcome } from './outcome';

export async function signIn(input: SignInRequest): Promise<Outcome<AuthResultDto>> {
  const outcome = await attempt(() => api.post<AuthResultDto>('/auth/sign-in', input, { quietAuth: true }));
  // Whatever was loaded before belongs to the previous session; the next page loads `/me` afresh.
  if (outcome.ok) session.clear();
  return outcome;
}

export async function signUp(input: SignupRequest): Promise<Outcome<AuthResultDto>> {
  const outcome = await attempt(() => api.post<AuthResultDto>('/signup', input, { quietAuth: true }));
  if (outcome.ok) session.clear();
  return outcome;
}

/** Ends this session and goes to the sign-in page; stays put (with a message) if the API is unreachable. */
export async function signOut(): Promise<void> {
  const outcome = await attempt(() => api.post<void>('/auth/sign-out', undefined, { quietAuth: true }));
  if (!outcome.ok && !isSignedOutError(outcome.error)) {
    toasts.show(messageFor(outcome.error), 'error');
    return;
  }
  session.clear();
  await goto('/signin');
}

/**
 * A `next` query parameter that is safe to navigate to after signing in: a path on this site,
 * never another origin (`//evil.example`) or a scheme.
 */
export function safeNext(value: string | null): string | null {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return null;
  return value;
}
