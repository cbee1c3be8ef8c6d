import type { MemberStatus, Plan } from '@rolecall/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentCost, checkSeats, countSeats, holdsSeat, seatUsageAfter, type SeatHolder } from './seats.js';

const holder = (status: MemberStatus, agentAccess = false): SeatHolder => ({ status, agentAccess });

describe('holdsSeat', () => {
  it.each([
    ['active', true],
    ['invited', true],
    ['revoked', false],
  ] as const)('%s → %s', (status, expected) => {
    expect(holdsSeat(holder(status))).toBe(expected);
  });
});

describe('countSeats', () => {
  it('counts nothing for no members', () => {
    expect(countSeats([])).toEqual({ used: 0, invited: 0, agents: 0 });
  });

  it('frees the seat of revoked members and holds one for invited members', () => {
    const members = [holder('active'), holder('active'), holder('invited'), holder('revoked'), holder('revoked')];
    expect(countSeats(members)).toEqual({ used: 3, invited: 1, agents: 0 });
  });

  it('counts agents only among seated members', () => {
    const members = [
      holder('active', true),
      holder('invited', true),
      holder('revoked', true),
      holder('revoked', true),
      holder('active', false),
    ];
    expect(countSeats(members)).toEqual({ used: 3, invited: 1, agents: 2 });
  });

  it('never counts more agents than seats', () => {
    const holderArb = fc.record({
      status: fc.constantFrom<MemberStatus>('active', 'invited', 'revoked'),
      agentAccess: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(holderArb), (members) => {
        const count = countSeats(members);
        expect(count.used).toBe(members.filter((m) => m.status !== 'revoked').length);
        expect(count.agents).toBeLessThanOrEqual(count.used);
        expect(count.invited).toBeLessThanOrEqual(count.used);
      }),
    );
  });
});

describe('agentCost', () => {
  it('makes the first agent seat free', () => {
    expect(agentCost('starter', 0)).toEqual({ free: 1, billable: 0, monthlyCost: 0 });
    expect(agentCost('starter', 1)).toEqual({ free: 1, billable: 0, monthlyCost: 0 });
  });

  it('charges $19 for each further agent seat on starter and business', () => {
    expect(agentCost('starter', 3)).toEqual({ free: 1, billable: 2, monthlyCost: 38 });
    expect(agentCost('business', 11)).toEqual({ free: 1, billable: 10, monthlyCost: 190 });
  });

  it('charges $15 for each further agent seat on enterprise', () => {
    expect(agentCost('enterprise', 4)).toEqual({ free: 1, billable: 3, monthlyCost: 45 });
  });

  it('charges nothing on the free plan', () => {
    expect(agentCost('free', 1).monthlyCost).toBe(0);
    expect(agentCost('free', 2).monthlyCost).toBe(0);
  });
});

describe('checkSeats', () => {
  const seatLimits: [Plan, number][] = [
    ['free', 3],
    ['starter', 10],
    ['business', 50],
  ];

  it.each(seatLimits)('accepts %s at its seat limit of %i', (plan, limit) => {
    expect(checkSeats(plan, { used: limit, agents: 0 })).toEqual({ ok: true });
  });

  it.each(seatLimits)('refuses %s over its seat limit of %i', (plan, limit) => {
    expect(checkSeats(plan, { used: limit + 1, agents: 0 })).toEqual({
      ok: false,
      code: 'SEAT_LIMIT_REACHED',
      limit,
    });
  });

  const agentLimits: [Plan, number][] = [
    ['free', 1],
    ['starter', 3],
  ];

  it.each(agentLimits)('accepts %s at its agent-seat limit of %i', (plan, limit) => {
    expect(checkSeats(plan, { used: limit, agents: limit })).toEqual({ ok: true });
  });

  it.each(agentLimits)('refuses %s over its agent-seat limit of %i', (plan, limit) => {
    expect(checkSeats(plan, { used: limit + 1, agents: limit + 1 })).toEqual({
      ok: false,
      code: 'AGENT_SEAT_LIMIT_REACHED',
      limit,
    });
  });

  it('reports the seat limit first when both are exceeded', () => {
    expect(checkSeats('free', { used: 4, agents: 4 })).toEqual({ ok: false, code: 'SEAT_LIMIT_REACHED', limit: 3 });
  });

  it('never refuses agent seats on business', () => {
    expect(checkSeats('business', { used: 50, agents: 50 })).toEqual({ ok: true });
  });

  it('never refuses anything on enterprise', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (used, agents) => {
        expect(checkSeats('enterprise', { used, agents })).toEqual({ ok: true });
      }),
    );
  });
});

describe('seatUsageAfter', () => {
  it('adds seats, agents and invitations', () => {
    expect(seatUsageAfter({ used: 2, invited: 1, agents: 1 }, { seats: 3, agents: 2, invited: 3 })).toEqual({
      used: 5,
      invited: 4,
      agents: 3,
    });
  });

  it('leaves invitations unchanged when not given', () => {
    expect(seatUsageAfter({ used: 2, invited: 1, agents: 0 }, { seats: 1, agents: 0 })).toEqual({
      used: 3,
      invited: 1,
      agents: 0,
    });
  });
});
