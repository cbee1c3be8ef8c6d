import {
  ADMIN_ROLE_ID,
  EDITOR_ROLE_ID,
  PERMISSION_KEYS,
  READONLY_ROLE_ID,
  featureOf,
  systemRoleById,
  type MemberStatus,
  type PermissionKey,
} from '@rolecall/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  can,
  diffPermissions,
  effectivePermissions,
  groupByFeature,
  sortPermissions,
  withImpliedViews,
  type PermissionSubject,
} from './permissions.js';

const member = (overrides: Partial<PermissionSubject> = {}): PermissionSubject => ({
  status: 'active',
  agentAccess: false,
  isBillingContact: false,
  ...overrides,
});

const rolePermissions = (roleId: string): readonly PermissionKey[] => {
  const role = systemRoleById(roleId);
  if (!role) throw new Error(`no system role ${roleId}`);
  return role.permissions;
};

const TALK_KEYS: PermissionKey[] = ['talk.view', 'talk.reply', 'talk.assign', 'talk.manage'];

/** SPEC §4, written out by hand so the test does not share code with the catalogue. */
const EDITOR_WITH_AGENT_ACCESS: PermissionKey[] = [
  'people.view',
  'people.create',
  'people.edit',
  'people.delete',
  'people.import',
  'people.export',
  'audiences.view',
  'audiences.create',
  'audiences.edit',
  'audiences.delete',
  'activities.view',
  'activities.create',
  'activities.edit',
  'activities.delete',
  'campaigns.view',
  'campaigns.create',
  'campaigns.edit',
  'campaigns.delete',
  'campaigns.publish',
  'templates.view',
  'templates.create',
  'templates.edit',
  'templates.delete',
  'templates.publish',
  'dashboards.view',
  'dashboards.create',
  'dashboards.edit',
  'dashboards.delete',
  'reports.view',
  'reports.create',
  'reports.edit',
  'reports.delete',
  'reports.export',
  'talk.view',
  'talk.reply',
  'talk.assign',
  'integrations.view',
  'integrations.create',
  'integrations.edit',
  'integrations.delete',
  'account.view',
];

const READONLY_WITH_AGENT_ACCESS: PermissionKey[] = [
  'people.view',
  'audiences.view',
  'activities.view',
  'campaigns.view',
  'templates.view',
  'dashboards.view',
  'reports.view',
  'talk.view',
  'integrations.view',
];

const subjectArb: fc.Arbitrary<PermissionSubject> = fc.record({
  status: fc.constantFrom<MemberStatus>('active', 'invited', 'revoked'),
  agentAccess: fc.boolean(),
  isBillingContact: fc.boolean(),
});
const keysArb = fc.array(fc.constantFrom(...PERMISSION_KEYS), { maxLength: 80 });

describe('effectivePermissions', () => {
  it('keeps the role keys of an active member', () => {
    expect(effectivePermissions(member(), ['people.view', 'reports.view', 'reports.export'])).toEqual([
      'people.view',
      'reports.view',
      'reports.export',
    ]);
  });

  it('removes talk.* without agent access', () => {
    const result = effectivePermissions(member({ agentAccess: false }), PERMISSION_KEYS);
    expect(result.filter((key) => key.startsWith('talk.'))).toEqual([]);
    expect(result).toEqual(PERMISSION_KEYS.filter((key) => !TALK_KEYS.includes(key)));
  });

  it('keeps talk.* with agent access', () => {
    expect(effectivePermissions(member({ agentAccess: true }), ['talk.reply', 'talk.assign'])).toEqual([
      'talk.view',
      'talk.reply',
      'talk.assign',
    ]);
  });

  it('does not imply talk.view from a talk action it removed', () => {
    expect(effectivePermissions(member({ agentAccess: false }), ['talk.manage', 'people.view'])).toEqual([
      'people.view',
    ]);
  });

  it('adds billing.view for the billing contact', () => {
    expect(effectivePermissions(member({ isBillingContact: true }), ['people.view'])).toEqual([
      'people.view',
      'billing.view',
    ]);
    expect(effectivePermissions(member({ isBillingContact: true }), [])).toEqual(['billing.view']);
  });

  it('does not add billing.view for other members', () => {
    expect(effectivePermissions(member({ isBillingContact: false }), ['people.view'])).not.toContain('billing.view');
  });

  it.each<MemberStatus>(['invited', 'revoked'])('gives nothing to a member who is %s, even with Admin', (status) => {
    const subject = member({ status, agentAccess: true, isBillingContact: true });
    expect(effectivePermissions(subject, rolePermissions(ADMIN_ROLE_ID))).toEqual([]);
  });

  it('implies view from any action', () => {
    expect(effectivePermissions(member(), ['campaigns.publish'])).toEqual(['campaigns.view', 'campaigns.publish']);
    expect(effectivePermissions(member(), ['users.manage', 'billing.manage'])).toEqual([
      'users.view',
      'users.manage',
      'billing.view',
      'billing.manage',
    ]);
  });

  it('sorts in catalogue order without duplicates', () => {
    const result = effectivePermissions(member({ agentAccess: true }), [
      'billing.manage',
      'people.export',
      'talk.reply',
      'people.export',
      'people.view',
      'billing.manage',
    ]);
    expect(result).toEqual([
      'people.view',
      'people.export',
      'talk.view',
      'talk.reply',
      'billing.view',
      'billing.manage',
    ]);
  });

  describe('system roles', () => {
    it('gives Admin everything with agent access', () => {
      expect(effectivePermissions(member({ agentAccess: true }), rolePermissions(ADMIN_ROLE_ID))).toEqual(
        PERMISSION_KEYS,
      );
      expect(PERMISSION_KEYS).toHaveLength(50);
    });

    it('gives Editor every action of people…integrations except talk.manage, plus account.view', () => {
      expect(effectivePermissions(member({ agentAccess: true }), rolePermissions(EDITOR_ROLE_ID))).toEqual(
        EDITOR_WITH_AGENT_ACCESS,
      );
    });

    it('gives Editor no talk key without agent access', () => {
      expect(effectivePermissions(member({ agentAccess: false }), rolePermissions(EDITOR_ROLE_ID))).toEqual(
        EDITOR_WITH_AGENT_ACCESS.filter((key) => !key.startsWith('talk.')),
      );
    });

    it('gives Read only every view of people…integrations', () => {
      expect(effectivePermissions(member({ agentAccess: true }), rolePermissions(READONLY_ROLE_ID))).toEqual(
        READONLY_WITH_AGENT_ACCESS,
      );
    });

    it('adds only billing.view to a Read only billing contact', () => {
      expect(
        effectivePermissions(member({ agentAccess: false, isBillingContact: true }), rolePermissions(READONLY_ROLE_ID)),
      ).toEqual([...READONLY_WITH_AGENT_ACCESS.filter((key) => key !== 'talk.view'), 'billing.view']);
    });
  });

  describe('properties', () => {
    it('never contains a talk.* key without agent access', () => {
      fc.assert(
        fc.property(subjectArb, keysArb, (subject, keys) => {
          const result = effectivePermissions({ ...subject, agentAccess: false }, keys);
          return result.every((key) => featureOf(key) !== 'talk');
        }),
      );
    });

    it('is a subset of the role keys, billing.view and their implied views', () => {
      fc.assert(
        fc.property(subjectArb, keysArb, (subject, keys) => {
          const allowed = new Set<string>(['billing.view', ...keys, ...keys.map((key) => `${featureOf(key)}.view`)]);
          return effectivePermissions(subject, keys).every((key) => allowed.has(key));
        }),
      );
    });

    it('holds the view of every feature it holds an action of', () => {
      fc.assert(
        fc.property(subjectArb, keysArb, (subject, keys) => {
          const result = new Set(effectivePermissions(subject, keys));
          return [...result].every((key) => result.has(`${featureOf(key)}.view` as PermissionKey));
        }),
      );
    });

    it('keeps every role key an active agent holds', () => {
      fc.assert(
        fc.property(keysArb, fc.boolean(), (keys, isBillingContact) => {
          const result = new Set(effectivePermissions(member({ agentAccess: true, isBillingContact }), keys));
          return keys.every((key) => result.has(key));
        }),
      );
    });

    it('is empty for every member who is not active', () => {
      fc.assert(
        fc.property(subjectArb, keysArb, (subject, keys) => {
          fc.pre(subject.status !== 'active');
          return effectivePermissions(subject, keys).length === 0;
        }),
      );
    });

    it('is sorted in catalogue order without duplicates', () => {
      fc.assert(
        fc.property(subjectArb, keysArb, (subject, keys) => {
          const positions = effectivePermissions(subject, keys).map((key) => PERMISSION_KEYS.indexOf(key));
          return positions.every((position, i) => i === 0 || position > positions[i - 1]!);
        }),
      );
    });
  });
});

describe('withImpliedViews', () => {
  it('adds the view of each feature that has an action', () => {
    expect(withImpliedViews(['reports.export', 'templates.publish'])).toEqual([
      'templates.view',
      'templates.publish',
      'reports.view',
      'reports.export',
    ]);
  });

  it('adds no view for a feature without keys', () => {
    expect(withImpliedViews(['people.view'])).toEqual(['people.view']);
    expect(withImpliedViews([])).toEqual([]);
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(keysArb, (keys) => {
        const once = withImpliedViews(keys);
        expect(withImpliedViews(once)).toEqual(once);
      }),
    );
  });
});

describe('sortPermissions', () => {
  it('sorts in catalogue order and drops duplicates', () => {
    expect(sortPermissions(['billing.view', 'people.view', 'billing.view', 'people.create'])).toEqual([
      'people.view',
      'people.create',
      'billing.view',
    ]);
  });
});

describe('diffPermissions', () => {
  it('lists keys added and removed in catalogue order', () => {
    expect(
      diffPermissions(['talk.view', 'people.view', 'people.edit'], ['people.view', 'billing.view', 'audiences.view']),
    ).toEqual({ added: ['audiences.view', 'billing.view'], removed: ['people.edit', 'talk.view'] });
  });

  it('is empty for the same set in another order', () => {
    expect(diffPermissions(['people.view', 'users.view'], ['users.view', 'people.view', 'users.view'])).toEqual({
      added: [],
      removed: [],
    });
  });

  it('turns before into after', () => {
    fc.assert(
      fc.property(keysArb, keysArb, (before, after) => {
        const { added, removed } = diffPermissions(before, after);
        const applied = new Set([...before, ...added].filter((key) => !removed.includes(key)));
        expect(sortPermissions(applied)).toEqual(sortPermissions(after));
      }),
    );
  });
});

describe('groupByFeature', () => {
  it('groups keys by feature in catalogue order and skips empty features', () => {
    const groups = groupByFeature(['billing.view', 'people.edit', 'people.view', 'activity.view']);
    expect([...groups.keys()]).toEqual(['people', 'activity', 'billing']);
    expect(groups.get('people')).toEqual(['people.view', 'people.edit']);
    expect(groups.has('talk')).toBe(false);
  });
});

describe('can', () => {
  it('answers from the resolved set', () => {
    const keys = new Set<PermissionKey>(['campaigns.view', 'campaigns.publish']);
    expect(can(keys, 'campaigns.publish')).toBe(true);
    expect(can(keys, 'campaigns.delete')).toBe(false);
  });
});
