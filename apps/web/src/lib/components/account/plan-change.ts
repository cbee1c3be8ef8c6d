/**
 * Changing the plan (`POST /account/plan`, owner only, with If-Match) and a refusal in words. The
 * server refuses a plan below what the account uses (409: SEAT_LIMIT_REACHED,
 * AGENT_SEAT_LIMIT_REACHED, or CONFLICT for teams, custom roles and the enforced sign-in); its
 * message names the limit and the usage ("The starter plan allows 10 seats; 12 are in use").
 */
import type { AccountDto, Plan } from '@rolecall/contracts';
import { PLAN_NAMES } from '@rolecall/domain';
import { api, isApiError } from '$lib/api';
import { messageFor } from '$lib/errors';
import { attempt, type Outcome } from '$lib/services/outcome';
import { toasts } from '$lib/toast.svelte';

export async function changePlan(account: Pick<AccountDto, 'version'>, plan: Plan): Promise<Outcome<AccountDto>> {
  const outcome = await attempt(() => api.post<AccountDto>('/account/plan', { plan }, { ifMatch: account.version }));
  if (outcome.ok) toasts.show(`Plan changed to ${PLAN_NAMES[plan]}.`);
  return outcome;
}

/** Why the server did not change the plan, in words. */
export function refusalWords(error: unknown, plan: Plan): string {
  const name = PLAN_NAMES[plan];
  if (isApiError(error, 'SEAT_LIMIT_REACHED', 'AGENT_SEAT_LIMIT_REACHED', 'CONFLICT')) {
    const message = error.message.replace(/\.?$/, '.');
    return `Rolecall did not change the plan to ${name}: ${message.charAt(0).toLowerCase()}${message.slice(1)}`;
  }
  if (isApiError(error, 'VERSION_MISMATCH')) {
    return 'Another admin changed the account settings a moment ago. The comparison now shows the current numbers: check them, then choose again.';
  }
  return messageFor(error);
}
