import {
  PERMISSION_KEYS,
  systemRoleById,
  EDITOR_ROLE_ID,
  ADMIN_ROLE_ID,
  type PermissionKey,
} from '@rolecall/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explainPermissions, type ExplainSubject } from './permission-sources.js';
import { effectivePermissions } from './permissions.js';

const subject = (overrides: Partial<ExplainSubject> = {}): ExplainSubject => ({
  status: 'active',
  agentAccess: false,
  isBillingContact: false,
  isOwner: false,
  ...overrides,
});

const editor = { name: 'Editor', permissions: systemRoleById(EDITOR_ROLE_ID)!.permissions };
const admin = { name: 'Admin', permissions: systemRoleById(ADMIN_ROLE_ID)!.permissions };

describe('explainPermissions', () => {
  it('answers exactly the keys effectivePermissions answers, each with at least one source', () => {
    fc.assert(
      fc.property(
        fc.subarray([...PERMISSION_KEYS]),
        fc.constantFrom('active', 'invited', 'revoked' as const),
        fc.boolean(),
        fc.boolean(),
        (permissions, status, agentAccess, isBillingContact) => {
          const facts = { status, agentAccess, isBillingContact };
          const explained = explainPermissions({ ...facts, isOwner: false }, { name: 'R', permissions });
          expect(explained.keys).toEqual(effectivePermissions(facts, permissions));
          for (const key of explained.keys) expect(explained.sources[key]?.length).toBeGreaterThan(0);
          expect(explained.withheld.some((w) => explained.keys.includes(w.key))).toBe(false);
        },
      ),
    );
  });

  it('names agent access as a second source of Talk keys, and withholds them without it', () => {
    const withAccess = explainPermissions(subject({ agentAccess: true }), editor);
    expect(withAccess.sources['talk.reply']).toEqual([
      { kind: 'role', label: 'Editor' },
      { kind: 'agentAccess', label: 'Talk agent access' },
    ]);
    const without = explainPermissions(subject(), editor);
    expect(without.keys).not.toContain('talk.reply');
    expect(without.withheld.map((w) => w.key)).toEqual(['talk.view', 'talk.reply', 'talk.assign']);
    expect(new Set(without.withheld.map((w) => w.reason))).toEqual(new Set(['noAgentAccess']));
  });

  it('gives the billing contact billing.view from being billing contact, and the owner the owner-only abilities', () => {
    const billing = explainPermissions(subject({ isBillingContact: true }), editor);
    expect(billing.sources['billing.view']).toEqual([{ kind: 'billingContact', label: 'Billing contact' }]);
    const owner = explainPermissions(subject({ isOwner: true, isBillingContact: true }), admin);
    expect(owner.sources['billing.view']!.map((s) => s.kind)).toEqual(['role', 'billingContact']);
    expect(owner.extras.filter((e) => e.kind === 'owner').map((e) => e.label)).toContain('Change the plan');
    expect(explainPermissions(subject(), admin).extras).toEqual([]);
  });

  it('withholds everything from a member who is not active, with why', () => {
    const revoked = explainPermissions(subject({ status: 'revoked', isOwner: true }), editor);
    expect(revoked.keys).toEqual([]);
    expect(revoked.extras).toEqual([]);
    expect(revoked.withheld.length).toBe(new Set<PermissionKey>(editor.permissions).size);
    expect(revoked.withheld[0]).toMatchObject({ reason: 'notActive', label: 'Access revoked' });
  });
});
