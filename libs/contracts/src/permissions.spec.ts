import { describe, expect, it } from 'vitest';
import {
  ADMIN_ONLY_PERMISSIONS,
  ADMIN_ROLE_ID,
  EDITOR_ROLE_ID,
  FEATURES,
  FEATURE_KEYS,
  PERMISSION_KEYS,
  READONLY_ROLE_ID,
  ROLE_ICONS,
  SYSTEM_ROLES,
  featureOf,
  isPermissionKey,
  systemRoleById,
  viewKeyOf,
} from './permissions.js';

describe('FEATURES', () => {
  it('matches the permission catalogue of SPEC §4', () => {
    const table = Object.fromEntries(
      FEATURE_KEYS.map((feature) => [feature, [FEATURES[feature].label, [...FEATURES[feature].actions]]]),
    );
    expect(table).toEqual({
      people: ['People & organizations', ['view', 'create', 'edit', 'delete', 'import', 'export']],
      audiences: ['Audiences', ['view', 'create', 'edit', 'delete']],
      activities: ['Activities', ['view', 'create', 'edit', 'delete']],
      campaigns: ['Campaigns & journeys', ['view', 'create', 'edit', 'delete', 'publish']],
      templates: ['Templates & assets', ['view', 'create', 'edit', 'delete', 'publish']],
      dashboards: ['Dashboards', ['view', 'create', 'edit', 'delete']],
      reports: ['Reports', ['view', 'create', 'edit', 'delete', 'export']],
      talk: ['Talk inbox', ['view', 'reply', 'assign', 'manage']],
      integrations: ['Data sources & integrations', ['view', 'create', 'edit', 'delete']],
      users: ['Users', ['view', 'manage']],
      roles: ['Roles', ['view', 'manage']],
      activity: ['Account activity', ['view']],
      account: ['Account settings', ['view', 'manage']],
      billing: ['Billing', ['view', 'manage']],
    });
  });

  it('gives every feature a view action first', () => {
    for (const feature of FEATURE_KEYS) expect(FEATURES[feature].actions[0]).toBe('view');
  });
});

describe('PERMISSION_KEYS', () => {
  it('has unique keys', () => {
    expect(new Set(PERMISSION_KEYS).size).toBe(PERMISSION_KEYS.length);
    expect(PERMISSION_KEYS).toHaveLength(50);
  });

  it('spells every key feature.action', () => {
    for (const key of PERMISSION_KEYS) expect(key).toMatch(/^[a-z]+\.[a-z]+$/);
  });
});

describe('ADMIN_ONLY_PERMISSIONS', () => {
  it('is exactly users.manage, roles.manage, account.manage and billing.manage', () => {
    expect([...ADMIN_ONLY_PERMISSIONS].sort()).toEqual(
      ['account.manage', 'billing.manage', 'roles.manage', 'users.manage'].sort(),
    );
  });
});

describe('isPermissionKey', () => {
  it('accepts catalogue keys only', () => {
    expect(isPermissionKey('campaigns.publish')).toBe(true);
    expect(isPermissionKey('users.delete')).toBe(false);
    expect(isPermissionKey('talk')).toBe(false);
    expect(isPermissionKey('')).toBe(false);
  });
});

describe('featureOf', () => {
  it('returns the part before the dot', () => {
    expect(featureOf('integrations.delete')).toBe('integrations');
    expect(featureOf('activity.view')).toBe('activity');
  });
});

describe('viewKeyOf', () => {
  it('returns the view key of a feature', () => {
    expect(viewKeyOf('reports')).toBe('reports.view');
  });
});

describe('SYSTEM_ROLES', () => {
  it('lists Admin, Editor and Read only in that order with fixed ids', () => {
    expect(SYSTEM_ROLES.map((role) => [role.key, role.name, role.id])).toEqual([
      ['admin', 'Admin', ADMIN_ROLE_ID],
      ['editor', 'Editor', EDITOR_ROLE_ID],
      ['readonly', 'Read only', READONLY_ROLE_ID],
    ]);
    expect(new Set(SYSTEM_ROLES.map((role) => role.id)).size).toBe(3);
  });

  it('gives Admin every key of the catalogue', () => {
    expect(systemRoleById(ADMIN_ROLE_ID)?.permissions).toEqual(PERMISSION_KEYS);
  });

  it('gives no Admin-only key to Editor or Read only', () => {
    for (const id of [EDITOR_ROLE_ID, READONLY_ROLE_ID]) {
      const held = systemRoleById(id)!.permissions.filter((key) => ADMIN_ONLY_PERMISSIONS.has(key));
      expect(held).toEqual([]);
    }
  });

  it('holds only catalogue keys, each once, with the view of every feature it touches', () => {
    for (const role of SYSTEM_ROLES) {
      expect(new Set(role.permissions).size).toBe(role.permissions.length);
      for (const key of role.permissions) {
        expect(isPermissionKey(key)).toBe(true);
        expect(role.permissions).toContain(viewKeyOf(featureOf(key)));
      }
    }
  });

  it('uses icons of the icon set', () => {
    for (const role of SYSTEM_ROLES) expect(ROLE_ICONS).toContain(role.icon);
  });
});

describe('systemRoleById', () => {
  it('finds a system role and nothing else', () => {
    expect(systemRoleById(EDITOR_ROLE_ID)?.name).toBe('Editor');
    expect(systemRoleById('00000000-0000-4000-8000-000000000004')).toBeUndefined();
  });
});

describe('ROLE_ICONS', () => {
  it('has unique names', () => {
    expect(new Set(ROLE_ICONS).size).toBe(ROLE_ICONS.length);
  });
});
