import { AUTH_ENFORCEMENTS, PLANS, type AuthEnforcement, type Plan } from '@rolecall/contracts';
import { describe, expect, it } from 'vitest';
import { PLAN_LIMITS, allowsCustomRoles, allowsTeams, canEnforceSso, planLimits } from './plans.js';

describe('PLAN_LIMITS', () => {
  it('matches the plan table of SPEC §4', () => {
    expect(PLAN_LIMITS).toEqual({
      free: {
        seats: 3,
        agentSeats: 1,
        extraAgentSeatPrice: null,
        customRoles: 0,
        teams: 0,
        enforceableSso: ['google'],
      },
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
    });
  });

  it('has an entry for every plan of the contracts', () => {
    expect(Object.keys(PLAN_LIMITS).sort()).toEqual([...PLANS].sort());
  });
});

describe('planLimits', () => {
  it.each(PLANS)('returns the limits of %s', (plan) => {
    expect(planLimits(plan)).toBe(PLAN_LIMITS[plan]);
  });
});

describe('canEnforceSso', () => {
  const enforceable: Record<Plan, AuthEnforcement[]> = {
    free: ['any', 'google'],
    starter: ['any', 'google', 'microsoft'],
    business: ['any', 'google', 'microsoft'],
    enterprise: ['any', 'google', 'microsoft', 'okta'],
  };
  const cases = PLANS.flatMap((plan) =>
    AUTH_ENFORCEMENTS.map((enforcement) => [plan, enforcement, enforceable[plan].includes(enforcement)] as const),
  );

  it.each(cases)('on %s, %s → %s', (plan, enforcement, expected) => {
    expect(canEnforceSso(plan, enforcement)).toBe(expected);
  });
});

describe('allowsCustomRoles', () => {
  it.each([
    ['free', false],
    ['starter', false],
    ['business', true],
    ['enterprise', true],
  ] as const)('on %s → %s', (plan, expected) => {
    expect(allowsCustomRoles(plan)).toBe(expected);
  });
});

describe('allowsTeams', () => {
  it.each([
    ['free', false],
    ['starter', true],
    ['business', true],
    ['enterprise', true],
  ] as const)('on %s → %s', (plan, expected) => {
    expect(allowsTeams(plan)).toBe(expected);
  });
});
