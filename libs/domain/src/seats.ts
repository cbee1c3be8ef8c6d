import type { MemberStatus, Plan } from '@rolecall/contracts';
import { PLAN_LIMITS } from './plans.js';

export interface SeatHolder {
  readonly status: MemberStatus;
  readonly agentAccess: boolean;
}

export interface SeatCount {
  /** Active + invited members. */
  readonly used: number;
  readonly invited: number;
  /** Seated members with agent access. */
  readonly agents: number;
}

/** Revoked members free their seat; invited members hold one. */
export function holdsSeat(member: SeatHolder): boolean {
  return member.status === 'active' || member.status === 'invited';
}

export function countSeats(members: Iterable<SeatHolder>): SeatCount {
  let used = 0;
  let invited = 0;
  let agents = 0;
  for (const member of members) {
    if (!holdsSeat(member)) continue;
    used += 1;
    if (member.status === 'invited') invited += 1;
    if (member.agentAccess) agents += 1;
  }
  return { used, invited, agents };
}

/** The same count from `(status, agentAccess) → count` groups, as a database GROUP BY returns them. */
export function countSeatsGrouped(groups: Iterable<SeatHolder & { readonly count: number }>): SeatCount {
  let used = 0;
  let invited = 0;
  let agents = 0;
  for (const group of groups) {
    if (!holdsSeat(group)) continue;
    used += group.count;
    if (group.status === 'invited') invited += group.count;
    if (group.agentAccess) agents += group.count;
  }
  return { used, invited, agents };
}

export interface AgentCost {
  readonly free: 1;
  readonly billable: number;
  readonly monthlyCost: number;
}

/** The first agent seat is free; each further one costs the plan's price. */
export function agentCost(plan: Plan, agents: number): AgentCost {
  const billable = Math.max(0, agents - 1);
  return { free: 1, billable, monthlyCost: billable * (PLAN_LIMITS[plan].extraAgentSeatPrice ?? 0) };
}

export type SeatCheck =
  { ok: true } | { ok: false; code: 'SEAT_LIMIT_REACHED' | 'AGENT_SEAT_LIMIT_REACHED'; limit: number };

/** Whether usage `count` fits the plan (used for invitations, reactivation, agent toggles and downgrades). */
export function checkSeats(plan: Plan, count: Pick<SeatCount, 'used' | 'agents'>): SeatCheck {
  const limits = PLAN_LIMITS[plan];
  if (limits.seats !== null && count.used > limits.seats) {
    return { ok: false, code: 'SEAT_LIMIT_REACHED', limit: limits.seats };
  }
  if (limits.agentSeats !== null && count.agents > limits.agentSeats) {
    return { ok: false, code: 'AGENT_SEAT_LIMIT_REACHED', limit: limits.agentSeats };
  }
  return { ok: true };
}

/** Usage after adding `seats` members of whom `agents` have agent access. */
export function seatUsageAfter(
  count: SeatCount,
  change: { seats: number; agents: number; invited?: number },
): SeatCount {
  return {
    used: count.used + change.seats,
    invited: count.invited + (change.invited ?? 0),
    agents: count.agents + change.agents,
  };
}
