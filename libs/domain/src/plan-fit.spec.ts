import { describe, expect, it } from 'vitest';
import { comparePlans, limitText, planChanges, planMisfits, type PlanUsage } from './plan-fit.js';

const usage = (overrides: Partial<PlanUsage> = {}): PlanUsage => ({
  seats: { used: 1, invited: 0 },
  agents: 0,
  teams: 0,
  customRoles: 0,
  authEnforcement: 'any',
  ...overrides,
});

describe('planMisfits', () => {
  it('is empty when the account fits', () => {
    expect(planMisfits('free', usage({ seats: { used: 3, invited: 2 }, agents: 1 }))).toEqual([]);
    expect(
      planMisfits(
        'enterprise',
        usage({ seats: { used: 500, invited: 0 }, agents: 90, teams: 20, customRoles: 80, authEnforcement: 'okta' }),
      ),
    ).toEqual([]);
  });

  it('says in words how many members there are and what the plan allows', () => {
    expect(planMisfits('starter', usage({ seats: { used: 12, invited: 3 } }))).toEqual([
      {
        kind: 'seats',
        limit: 10,
        used: 12,
        message: 'You have 12 members (3 of them invited); Starter allows 10. Revoke or cancel 2 first.',
      },
    ]);
    expect(planMisfits('free', usage({ seats: { used: 4, invited: 0 } }))[0]!.message).toBe(
      'You have 4 members; Free allows 3. Revoke or cancel 1 first.',
    );
  });

  it('checks agent seats, teams, custom roles and the enforced provider, in the order the server does', () => {
    const misfits = planMisfits(
      'free',
      usage({ seats: { used: 3, invited: 0 }, agents: 2, teams: 1, customRoles: 2, authEnforcement: 'microsoft' }),
    );
    expect(misfits.map((m) => m.kind)).toEqual(['agentSeats', 'teams', 'customRoles', 'sso']);
    expect(misfits.map((m) => m.message)).toEqual([
      '2 members have Talk agent access; Free allows 1 agent seat.',
      'You have 1 Talk team; Free has no Talk teams.',
      'You have 2 custom roles; Free has no custom roles.',
      'Sign-in is enforced with Microsoft; Free cannot enforce it. Turn enforcement off first.',
    ]);
    expect(planMisfits('starter', usage({ teams: 6 }))[0]!.message).toBe('You have 6 Talk teams; Starter allows 5.');
    expect(planMisfits('business', usage({ customRoles: 21 }))[0]!.message).toBe(
      'You have 21 custom roles; Business allows 20.',
    );
    expect(planMisfits('business', usage({ authEnforcement: 'okta' }))[0]).toMatchObject({
      kind: 'sso',
      enforcement: 'okta',
    });
  });

  it('leaves to the server what the viewer cannot count (null teams or roles)', () => {
    expect(planMisfits('free', usage({ teams: null, customRoles: null }))).toEqual([]);
  });
});

describe('comparePlans', () => {
  it('lists every plan in order with its misfits and what today’s agents would cost on it', () => {
    // 4 agents: 3 billable seats after the free one.
    const rows = comparePlans(
      'business',
      usage({ seats: { used: 12, invited: 1 }, agents: 4, teams: 2, customRoles: 1 }),
    );
    expect(rows.map((r) => [r.plan, r.current, r.misfits.map((m) => m.kind), r.monthlyCost, r.costChange])).toEqual([
      ['free', false, ['seats', 'agentSeats', 'teams', 'customRoles'], 0, -57],
      ['starter', false, ['seats', 'agentSeats', 'customRoles'], 57, 0],
      ['business', true, [], 57, 0],
      ['enterprise', false, [], 45, -12],
    ]);
  });
});

describe('planChanges', () => {
  it('names only the limits that differ, before and after', () => {
    expect(planChanges('business', 'enterprise', { teamsEnabled: true })).toEqual({
      lines: [
        { what: 'Seats', before: '50', after: 'unlimited' },
        { what: 'Extra agent seat', before: '$19/month', after: '$15/month' },
        { what: 'Custom roles', before: '20', after: 'unlimited' },
        { what: 'Enforceable sign-in', before: 'Google, Microsoft', after: 'Google, Microsoft, Okta' },
      ],
      effects: [],
    });
  });

  it('says that Talk teams are turned off on a plan without them', () => {
    expect(planChanges('starter', 'free', { teamsEnabled: true }).effects).toEqual([
      'Talk teams are turned off: Free has none.',
    ]);
    expect(planChanges('starter', 'free', { teamsEnabled: false }).effects).toEqual([]);
  });

  it('writes limits as people read them', () => {
    expect([limitText(null), limitText(0), limitText(5)]).toEqual(['unlimited', 'none', '5']);
  });
});
