import { SYSTEM_ROLES } from '@rolecall/contracts';
import { describe, expect, it } from 'vitest';
import { checkRolePermissions, roleChangeImpact, whyNoPermissions } from './roles.js';

describe('checkRolePermissions', () => {
  it('adds the view of every feature with an action, in catalogue order, without duplicates', () => {
    expect(checkRolePermissions(['reports.export', 'campaigns.publish', 'reports.export']).normalized).toEqual([
      'campaigns.view',
      'campaigns.publish',
      'reports.view',
      'reports.export',
    ]);
  });

  it('reports keys outside the catalogue', () => {
    const result = checkRolePermissions(['people.view', 'people.fly', 'root']);
    expect(result.unknown).toEqual(['people.fly', 'root']);
    expect(result.normalized).toEqual(['people.view']);
  });

  it('reports Admin-only keys', () => {
    expect(checkRolePermissions(['users.manage', 'users.view', 'billing.manage']).adminOnly).toEqual([
      'users.manage',
      'billing.manage',
    ]);
    expect(checkRolePermissions(['users.view', 'roles.view', 'billing.view']).adminOnly).toEqual([]);
  });
});

describe('roleChangeImpact', () => {
  const editor = SYSTEM_ROLES[1]!.permissions;
  const readonly = SYSTEM_ROLES[2]!.permissions;

  it('lists what each active member gains and loses', () => {
    const impact = roleChangeImpact(
      [{ id: 'a', status: 'active', agentAccess: false, isBillingContact: false }],
      editor,
      readonly,
    );
    expect(impact).toHaveLength(1);
    expect(impact[0]!.added).toEqual([]);
    expect(impact[0]!.removed).toContain('people.create');
    expect(impact[0]!.removed).not.toContain('talk.reply'); // never had it without agent access
  });

  it('takes agent access into account', () => {
    const [withAgent] = roleChangeImpact(
      [{ id: 'a', status: 'active', agentAccess: true, isBillingContact: false }],
      editor,
      readonly,
    );
    expect(withAgent!.removed).toContain('talk.reply');
  });

  it('leaves out members who are not active and members whose set does not change', () => {
    const members = [
      { id: 'invited', status: 'invited', agentAccess: false, isBillingContact: false },
      { id: 'revoked', status: 'revoked', agentAccess: false, isBillingContact: false },
    ] as const;
    expect(roleChangeImpact(members, editor, readonly)).toEqual([]);
    expect(
      roleChangeImpact(
        [{ id: 'a', status: 'active', agentAccess: false, isBillingContact: false }],
        ['talk.reply'],
        ['talk.view'],
      ),
    ).toEqual([]);
  });
});

describe('members left with no permissions', () => {
  const campaigns = ['campaigns.view'] as const;
  const talkOnly = { name: 'Support agent', permissions: ['talk.view', 'talk.reply'] as const };
  const carol = { id: 'c', name: 'Carol', status: 'active', agentAccess: false, isBillingContact: false } as const;

  it('counts what remains, so a move to a Talk-only role without agent access shows as none left', () => {
    const [impact] = roleChangeImpact([carol], campaigns, talkOnly.permissions);
    expect(impact).toMatchObject({ removed: ['campaigns.view'], added: [], remaining: 0 });
    const [agent] = roleChangeImpact([{ ...carol, agentAccess: true }], campaigns, talkOnly.permissions);
    expect(agent!.remaining).toBe(2);
  });

  it('says why in words, and says nothing when something remains', () => {
    expect(whyNoPermissions(carol, talkOnly)).toBe(
      'Support agent grants only Talk inbox permissions and Carol has no agent access',
    );
    expect(whyNoPermissions(carol, { name: 'Empty', permissions: [] })).toBe('Empty grants no permissions');
    expect(whyNoPermissions({ ...carol, agentAccess: true }, talkOnly)).toBeNull();
    // The billing contact always keeps billing.view.
    expect(whyNoPermissions({ ...carol, isBillingContact: true }, talkOnly)).toBeNull();
    expect(whyNoPermissions({ ...carol, status: 'invited' }, talkOnly)).toBeNull();
  });
});
