import { PLANS, type AuthEnforcement, type Plan } from '@rolecall/contracts';
import { PLAN_LIMITS, canEnforceSso, type PlanLimits } from './plans.js';
import { agentCost } from './seats.js';

/** The plans by name, as people read them. */
export const PLAN_NAMES: Readonly<Record<Plan, string>> = {
  free: 'Free',
  starter: 'Starter',
  business: 'Business',
  enterprise: 'Enterprise',
};

const PROVIDER_NAMES: Readonly<Record<Exclude<AuthEnforcement, 'any'>, string>> = {
  google: 'Google',
  microsoft: 'Microsoft',
  okta: 'Okta',
};

/** What an account uses today, against which plans are compared (`GET /account`, `/teams`, `/roles`). */
export interface PlanUsage {
  /** Active + invited members, and how many of them are invited. */
  readonly seats: { readonly used: number; readonly invited: number };
  /** Seated members with Talk agent access. */
  readonly agents: number;
  /** Talk teams; null when the viewer cannot see them (the server still checks). */
  readonly teams: number | null;
  /** Custom roles; null when the viewer cannot see them (the server still checks). */
  readonly customRoles: number | null;
  readonly authEnforcement: AuthEnforcement;
}

/** One reason the account does not fit a plan, with the sentence that says it. */
export type PlanMisfit = (
  | { readonly kind: 'seats' | 'agentSeats' | 'teams' | 'customRoles'; readonly limit: number; readonly used: number }
  | { readonly kind: 'sso'; readonly enforcement: Exclude<AuthEnforcement, 'any'> }
) & { readonly message: string };

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/**
 * Why `usage` does not fit `plan`: the checks `POST /account/plan` makes (SPEC §4), each as a
 * sentence ("You have 12 members; Starter allows 10."). Empty when the account fits.
 */
export function planMisfits(plan: Plan, usage: PlanUsage): PlanMisfit[] {
  const limits = PLAN_LIMITS[plan];
  const name = PLAN_NAMES[plan];
  const misfits: PlanMisfit[] = [];
  const { used, invited } = usage.seats;
  if (limits.seats !== null && used > limits.seats) {
    const invitedNote = invited > 0 ? ` (${invited} of them invited)` : '';
    misfits.push({
      kind: 'seats',
      limit: limits.seats,
      used,
      message: `You have ${plural(used, 'member')}${invitedNote}; ${name} allows ${limits.seats}. Revoke or cancel ${used - limits.seats} first.`,
    });
  }
  if (limits.agentSeats !== null && usage.agents > limits.agentSeats) {
    misfits.push({
      kind: 'agentSeats',
      limit: limits.agentSeats,
      used: usage.agents,
      message: `${plural(usage.agents, 'member has', 'members have')} Talk agent access; ${name} allows ${plural(limits.agentSeats, 'agent seat')}.`,
    });
  }
  if (usage.teams !== null && usage.teams > limits.teams) {
    misfits.push({
      kind: 'teams',
      limit: limits.teams,
      used: usage.teams,
      message: `You have ${plural(usage.teams, 'Talk team')}; ${limits.teams === 0 ? `${name} has no Talk teams` : `${name} allows ${limits.teams}`}.`,
    });
  }
  if (usage.customRoles !== null && limits.customRoles !== null && usage.customRoles > limits.customRoles) {
    misfits.push({
      kind: 'customRoles',
      limit: limits.customRoles,
      used: usage.customRoles,
      message: `You have ${plural(usage.customRoles, 'custom role')}; ${limits.customRoles === 0 ? `${name} has no custom roles` : `${name} allows ${limits.customRoles}`}.`,
    });
  }
  if (usage.authEnforcement !== 'any' && !canEnforceSso(plan, usage.authEnforcement)) {
    misfits.push({
      kind: 'sso',
      enforcement: usage.authEnforcement,
      message: `Sign-in is enforced with ${PROVIDER_NAMES[usage.authEnforcement]}; ${name} cannot enforce it. Turn enforcement off first.`,
    });
  }
  return misfits;
}

/** A plan beside the account's current one. */
export interface PlanComparison {
  readonly plan: Plan;
  readonly current: boolean;
  readonly limits: PlanLimits;
  /** Empty when the account fits the plan. */
  readonly misfits: readonly PlanMisfit[];
  /** What today's Talk agents cost a month on this plan (the first agent seat is free). */
  readonly monthlyCost: number;
  /** `monthlyCost` minus the current plan's. */
  readonly costChange: number;
}

/** Every plan, in order, compared with what the account uses today. */
export function comparePlans(current: Plan, usage: PlanUsage): PlanComparison[] {
  const now = agentCost(current, usage.agents).monthlyCost;
  return PLANS.map((plan) => {
    const monthlyCost = agentCost(plan, usage.agents).monthlyCost;
    return {
      plan,
      current: plan === current,
      limits: PLAN_LIMITS[plan],
      misfits: planMisfits(plan, usage),
      monthlyCost,
      costChange: monthlyCost - now,
    };
  });
}

/** A limit in words: "10", "unlimited", "none". */
export function limitText(limit: number | null): string {
  if (limit === null) return 'unlimited';
  return limit === 0 ? 'none' : String(limit);
}

/** One line of what a plan change changes, e.g. `{ what: 'Seats', before: '10', after: '50' }`. */
export interface PlanChangeLine {
  readonly what: string;
  readonly before: string;
  readonly after: string;
}

const providers = (limits: PlanLimits) => limits.enforceableSso.map((p) => PROVIDER_NAMES[p]).join(', ');
const seatPrice = (price: number | null) => (price === null ? 'none' : `$${price}/month`);

/**
 * What moving from `from` to `to` changes, limit by limit (only the ones that differ), plus what
 * the change itself does to the account: a plan without Talk teams turns them off.
 */
export function planChanges(
  from: Plan,
  to: Plan,
  account: { readonly teamsEnabled: boolean },
): { lines: PlanChangeLine[]; effects: string[] } {
  const a = PLAN_LIMITS[from];
  const b = PLAN_LIMITS[to];
  const candidates: PlanChangeLine[] = [
    { what: 'Seats', before: limitText(a.seats), after: limitText(b.seats) },
    { what: 'Agent seats', before: limitText(a.agentSeats), after: limitText(b.agentSeats) },
    { what: 'Extra agent seat', before: seatPrice(a.extraAgentSeatPrice), after: seatPrice(b.extraAgentSeatPrice) },
    { what: 'Talk teams', before: limitText(a.teams), after: limitText(b.teams) },
    { what: 'Custom roles', before: limitText(a.customRoles), after: limitText(b.customRoles) },
    { what: 'Enforceable sign-in', before: providers(a), after: providers(b) },
  ];
  const effects =
    account.teamsEnabled && b.teams === 0 ? [`Talk teams are turned off: ${PLAN_NAMES[to]} has none.`] : [];
  return { lines: candidates.filter((line) => line.before !== line.after), effects };
}
