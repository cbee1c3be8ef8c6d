import { SYSTEM_ROLES } from '@rolecall/contracts';
import { describe, expect, it } from 'vitest';
import { checkRolePermissions, roleChangeImpact } from './roles.js';

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
    expect(checkRolePermissions(['users.manage', 'users.view', 'billing.manage']).adminOnly).toEqual(['users.manage', 'billing.manage']);
    expect(checkRolePermissions(['users.view', 'roles.view', 'billing.view']).adminOnly).toEqual([]);
  });
});

describe('roleChangeImpact', () => {
  const editor = SYSTEM_ROLES[1]!.permissions;
  const readonly = SYSTEM_ROLES[2]!.permissions;

  it('lists what each active member gains and loses', () => {
    const impact = roleChangeImpact([{ id: 'a', status: 'active', agentAccess: false, isBillingContact: false }], editor, readonly);
    expect(impact).toHaveLength(1);
    expect(impact[0]!.added).toEqual([]);
    expect(impact[0]!.removed).toContain('people.create');
    expect(impact[0]!.removed).not.toContain('talk.reply'); // never had it without agent access
  });

  it('takes agent access into account', () => {
    const [withAgent] = roleChangeImpact([{ id: 'a', status: 'active', agentAccess: true, isBillingContact: false }], editor, readonly);
    expect(withAgent!.removed).toContain('talk.reply');
  });

  it('leaves out members who are not active and members whose set does not change', () => {
    const members = [
      { id: 'invited', status: 'invited', agentAccess: false, isBillingContact: false },
      { id: 'revoked', status: 'revoked', agentAccess: false, isBillingContact: false },
    ] as const;
    expect(roleChangeImpact(members, editor, readonly)).toEqual([]);
    expect(roleChangeImpact([{ id: 'a', status: 'active', agentAccess: false, isBillingContact: false }], ['talk.reply'], ['talk.view'])).toEqual([]);
  });
});
