/**
 * What the API's refusals say about members: a 412's current resource, seat limits in words and
 * numbers, who already exists; and the owner/billing marks that live on the account.
 */
import { type AccountDto, type MemberDto, type MemberStatus } from '@rolecall/contracts';
import { agentCost, checkSeats, planLimits, seatUsageAfter, type SeatCount } from '@rolecall/domain';
import { isApiError } from '$lib/api';

/** The 412 answer's resource as it is now, if `error` is a version mismatch. */
export function conflictOf<T>(error: unknown): T | null {
  if (!isApiError(error, 'VERSION_MISMATCH')) return null;
  const current = error.details['current'];
  return typeof current === 'object' && current !== null ? (current as T) : null;
}

interface SeatDetails {
  limit?: unknown;
  used?: unknown;
  requested?: unknown;
}

/** A seat error with its numbers, e.g. "Your plan has 3 seats and 3 are in use; inviting 2 people needs 2 more." */
export function seatErrorMessage(error: unknown, plan?: string): string | null {
  if (!isApiError(error, 'SEAT_LIMIT_REACHED', 'AGENT_SEAT_LIMIT_REACHED')) return null;
  const { limit, used, requested } = error.details as SeatDetails;
  return seatLimitMessage({
    agent: error.code === 'AGENT_SEAT_LIMIT_REACHED',
    limit: typeof limit === 'number' ? limit : undefined,
    used: typeof used === 'number' ? used : undefined,
    requested: typeof requested === 'number' ? requested : undefined,
    plan,
  });
}

/** The words of a seat refusal, from the API's error or from the page's own count (`agentSeatChange`). */
function seatLimitMessage(facts: {
  agent: boolean;
  limit?: number | undefined;
  used?: number | undefined;
  requested?: number | undefined;
  plan?: string | undefined;
}): string {
  const { agent, limit, used, requested, plan } = facts;
  const what = agent ? 'agent seat' : 'seat';
  const planName = plan ? `The ${plan} plan` : 'Your plan';
  const summary =
    limit !== undefined && used !== undefined
      ? `${planName} has ${limit} ${what}${limit === 1 ? '' : 's'} and ${used} ${used === 1 ? 'is' : 'are'} in use` +
        (requested !== undefined && requested > 0 ? `; this needs ${requested} more.` : '.')
      : `Every ${what} on your plan is taken.`;
  const advice = agent
    ? 'Turn off Talk access for someone, or upgrade the plan.'
    : 'Revoke someone or cancel a pending invitation to free a seat, or upgrade the plan.';
  return `${summary} ${advice}`;
}

/** Turning one member's Talk access on or off: agent seats and the monthly Talk cost, before and after. */
export interface AgentSeatChange {
  on: boolean;
  plan: AccountDto['plan'];
  seats: { before: number; after: number; limit: number | null };
  cost: { before: number; after: number };
  /** After minus before: positive when the bill goes up. */
  delta: number;
  /** The plan's price of an agent seat after the first, free one; `null` when the plan sells none. */
  price: number | null;
  /** Why the plan refuses it (the API's own check, asked first), or `null`. */
  refused: string | null;
}

/**
 * The same sums the API makes (libs/domain: `seatUsageAfter`, `checkSeats`, `agentCost`) on the
 * account's current usage, so the confirm shows what the change will cost before it is made.
 */
export function agentSeatChange(account: AccountDto, on: boolean): AgentSeatChange {
  const before: SeatCount = {
    used: account.seats.used,
    invited: account.seats.invited,
    agents: account.agentSeats.used,
  };
  const after = seatUsageAfter(before, { seats: 0, agents: on ? 1 : -1 });
  const check = on ? checkSeats(account.plan, after) : ({ ok: true } as const);
  const cost = {
    before: agentCost(account.plan, before.agents).monthlyCost,
    after: agentCost(account.plan, Math.max(0, after.agents)).monthlyCost,
  };
  return {
    on,
    plan: account.plan,
    seats: { before: before.agents, after: Math.max(0, after.agents), limit: account.agentSeats.limit },
    cost,
    delta: cost.after - cost.before,
    price: planLimits(account.plan).extraAgentSeatPrice,
    refused: check.ok
      ? null
      : seatLimitMessage({
          agent: check.code === 'AGENT_SEAT_LIMIT_REACHED',
          limit: check.limit,
          used: check.code === 'AGENT_SEAT_LIMIT_REACHED' ? before.agents : before.used,
          requested: check.code === 'AGENT_SEAT_LIMIT_REACHED' ? 1 : 0,
          plan: account.plan,
        }),
  };
}

/** Rows with the owner and billing-contact marks of `account` (they live on the account). */
export function withAccountMarks(
  items: MemberDto[],
  account: Pick<AccountDto, 'ownerId' | 'billingContactId'>,
): MemberDto[] {
  return items.map((m) => {
    const isOwner = m.id === account.ownerId;
    const isBillingContact = m.id === account.billingContactId;
    return m.isOwner === isOwner && m.isBillingContact === isBillingContact ? m : { ...m, isOwner, isBillingContact };
  });
}

/** `USER_EXISTS` details: who is already in the account, and which of them are revoked. */
export interface ExistingMember {
  id: string;
  email: string;
  status: MemberStatus;
  revoked: boolean;
}

export function existingMembersOf(error: unknown): ExistingMember[] {
  if (!isApiError(error, 'USER_EXISTS')) return [];
  const members = error.details['members'];
  if (!Array.isArray(members)) return [];
  return members.filter(
    (m): m is ExistingMember => typeof m === 'object' && m !== null && typeof (m as ExistingMember).email === 'string',
  );
}

// ── Emails typed or pasted as a list ───────────────────────────────────────────────────────
