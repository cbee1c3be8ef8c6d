/** Changes to the signed-in person: profile name and two-factor authentication. */
import type { RecoveryCodesDto, TotpSetupDto } from '@rolecall/contracts';
import { api } from '$lib/api';
import { session } from '$lib/session.svelte';
import { toasts } from '$lib/toast.svelte';
import { attempt, type Outcome } from './outcome';

function nameFrom(answer: unknown): string | null {
  if (typeof answer !== 'object' || answer === null) return null;
  const record = answer as { name?: unknown; person?: { name?: unknown } };
  const name = record.person?.name ?? record.name;
  return typeof name === 'string' ? name : null;
}

export async function updateName(name: string): Promise<Outcome<string>> {
  const outcome = await attempt(async () => {
    const answer = await api.patch<unknown>('/me', { name });
    return nameFrom(answer) ?? name;
  });
  if (outcome.ok && session.me) {
    session.me.person.name = outcome.value;
    session.me.member.name = outcome.value;
    toasts.show('Your name is saved.');
  }
  return outcome;
}

/** Creates a new (not yet active) TOTP secret; it takes effect only once a code confirms it. */
export function startTotpSetup(): Promise<Outcome<TotpSetupDto>> {
  return attempt(() => api.post<TotpSetupDto>('/me/2fa/setup'));
}

export async function confirmTotp(code: string): Promise<Outcome<string[]>> {
  const outcome = await attempt(async () => {
    const answer = await api.post<RecoveryCodesDto>('/me/2fa/confirm', { code });
    return answer.recoveryCodes;
  });
  if (outcome.ok) {
    setTwoFactor(true);
    toasts.show('Two-factor authentication is on.');
  }
  return outcome;
}

export async function disableTotp(code: string): Promise<Outcome<void>> {
  const outcome = await attempt(() => api.delete('/me/2fa', { code }));
  if (outcome.ok) {
    setTwoFactor(false);
    toasts.show('Two-factor authentication is off.');
  }
  return outcome;
}

function setTwoFactor(enabled: boolean): void {
  if (!session.me) return;
  session.me.person.twoFactorEnabled = enabled;
  session.me.member.twoFactorEnabled = enabled;
}
