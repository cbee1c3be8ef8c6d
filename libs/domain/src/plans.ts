import type { AuthEnforcement, Plan } from '@rolecall/contracts';

export interface PlanLimits {
  /** Seats (active + invited members); `null` = unlimited. */
  readonly seats: number | null;
  /** Agent seats (seated members with Talk agent access); `null` = unlimited. */
  readonly agentSeats: number | null;
  /** Monthly price of each agent seat after the first, free one; `null` = no extra seats to buy. */
  readonly extraAgentSeatPrice: number | null;
  /** Custom roles allowed; 0 = the feature is not in the plan; `null` = unlimited. */
  readonly customRoles: number | null;
  /** Talk teams allowed; 0 = the feature is not in the plan. */
  readonly teams: number;
  readonly enforceableSso: readonly Exclude<AuthEnforcement, 'any'>[];
}

/** SPEC §4, the plan table. */
export const PLAN_LIMITS: Readonly<Record<Plan, PlanLimits>> = {
  free: { seats: 3, agentSeats: 1, extraAgentSeatPrice: null, customRoles: 0, teams: 0, enforceableSso: ['google'] },
  starter: {
    seats: 10,
    agentSeats: 3,
    extraAgentSeatPrice: 19,
    customRoles: 0,
    teams: 5,
    enforceableSso: ['google', 'microsoft'],
  },
  business: {
    seats: 50,
    agentSeats: null,
    extraAgentSeatPrice: 19,
    customRoles: 20,
    teams: 20,
    enforceableSso: ['google', 'microsoft'],
  },
  enterprise: {
    seats: null,
    agentSeats: null,
    extraAgentSeatPrice: 15,
    customRoles: null,
    teams: 20,
    enforceableSso: ['google', 'microsoft', 'okta'],
  },
};

export function planLimits(plan: Plan): PlanLimits {
  return PLAN_LIMITS[plan];
}

export function canEnforceSso(plan: Plan, enforcement: AuthEnforcement): boolean {
  return enforcement === 'any' || PLAN_LIMITS[plan].enforceableSso.includes(enforcement);
}

export function allowsCustomRoles(plan: Plan): boolean {
  return PLAN_LIMITS[plan].customRoles !== 0;
}

export function allowsTeams(plan: Plan): boolean {
  return PLAN_LIMITS[plan].teams > 0;
}
