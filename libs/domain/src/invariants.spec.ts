import { ADMIN_ROLE_ID, EDITOR_ROLE_ID, READONLY_ROLE_ID } from '@rolecall/contracts';
import { describe, expect, it } from 'vitest';
import {
  checkBillingTransfer,
  checkBillingTransferActor,
  checkDelete,
  checkOwnerOnly,
  checkOwnershipTransfer,
  checkRevoke,
  checkRoleChange,
  checkSessionsAccess,
  isBillingContact,
  isOwner,
  roleAfterOwnershipTransfer,
  type AccountFacts,
  type MemberFacts,
} from './invariants.js';

const owner: MemberFacts = { id: 'owner', status: 'active', roleId: ADMIN_ROLE_ID };
const admin: MemberFacts = { id: 'admin', status: 'active', roleId: ADMIN_ROLE_ID };
const editorBilling: MemberFacts = { id: 'billing', status: 'active', roleId: EDITOR_ROLE_ID };
const adminBilling: MemberFacts = { id: 'admin-billing', status: 'active', roleId: ADMIN_ROLE_ID };
const editor: MemberFacts = { id: 'editor', status: 'active', roleId: EDITOR_ROLE_ID };
const invited: MemberFacts = { id: 'invited', status: 'invited', roleId: READONLY_ROLE_ID };
const revoked: MemberFacts = { id: 'revoked', status: 'revoked', roleId: EDITOR_ROLE_ID };

/** The owner and an Editor billing contact. */
const account: AccountFacts = { ownerId: owner.id, billingContactId: editorBilling.id };
/** The owner and an Admin billing contact. */
const adminBillingAccount: AccountFacts = { ownerId: owner.id, billingContactId: adminBilling.id };
/** The owner is also the billing contact (as after sign-up). */
const ownerBillingAccount: AccountFacts = { ownerId: owner.id, billingContactId: owner.id };

describe('isOwner', () => {
  it('recognises only the owner', () => {
    expect(isOwner(account, owner)).toBe(true);
    expect(isOwner(account, admin)).toBe(false);
  });
});

describe('isBillingContact', () => {
  it('recognises only the billing contact', () => {
    expect(isBillingContact(account, editorBilling)).toBe(true);
    expect(isBillingContact(account, owner)).toBe(false);
  });
});

describe.each([
  ['checkRevoke', checkRevoke],
  ['checkDelete', checkDelete],
])('%s', (_name, check) => {
  it('allows an admin to remove an ordinary member', () => {
    expect(check(account, admin, editor)).toBeNull();
    expect(check(account, owner, revoked)).toBeNull();
    expect(check(account, admin, invited)).toBeNull();
  });

  it('refuses to remove the owner', () => {
    expect(check(account, admin, owner)).toBe('OWNER_PROTECTED');
  });

  it('refuses to remove the owner who is also billing contact with OWNER_PROTECTED', () => {
    expect(check(ownerBillingAccount, admin, owner)).toBe('OWNER_PROTECTED');
  });

  it('refuses to remove the billing contact', () => {
    expect(check(account, admin, editorBilling)).toBe('BILLING_CONTACT_PROTECTED');
    expect(check(account, owner, editorBilling)).toBe('BILLING_CONTACT_PROTECTED');
  });

  it('refuses to remove yourself', () => {
    expect(check(account, admin, admin)).toBe('SELF_ACTION_FORBIDDEN');
    expect(check(account, owner, owner)).toBe('SELF_ACTION_FORBIDDEN');
  });
});

describe('checkRoleChange', () => {
  it('keeps the owner on Admin', () => {
    expect(checkRoleChange(account, owner, EDITOR_ROLE_ID)).toBe('OWNER_PROTECTED');
    expect(checkRoleChange(account, owner, READONLY_ROLE_ID)).toBe('OWNER_PROTECTED');
    expect(checkRoleChange(account, owner, 'custom-role')).toBe('OWNER_PROTECTED');
  });

  it('lets the owner stay on Admin', () => {
    expect(checkRoleChange(account, owner, ADMIN_ROLE_ID)).toBeNull();
  });

  it('lets any other member change role, the billing contact too', () => {
    expect(checkRoleChange(account, admin, EDITOR_ROLE_ID)).toBeNull();
    expect(checkRoleChange(account, editorBilling, READONLY_ROLE_ID)).toBeNull();
  });
});

describe('checkOwnershipTransfer', () => {
  it('lets the owner transfer to an active member of any role', () => {
    expect(checkOwnershipTransfer(account, owner, admin)).toBeNull();
    expect(checkOwnershipTransfer(account, owner, editor)).toBeNull();
  });

  it('refuses anyone but the owner', () => {
    expect(checkOwnershipTransfer(account, admin, editor)).toBe('FORBIDDEN');
    expect(checkOwnershipTransfer(adminBillingAccount, adminBilling, editor)).toBe('FORBIDDEN');
  });

  it('refuses a transfer to the owner themselves', () => {
    expect(checkOwnershipTransfer(account, owner, owner)).toBe('SELF_ACTION_FORBIDDEN');
  });

  it.each([invited, revoked])('refuses a transfer to a member who is $status', (target) => {
    expect(checkOwnershipTransfer(account, owner, target)).toBe('VALIDATION_FAILED');
  });
});

describe('roleAfterOwnershipTransfer', () => {
  it('makes the new owner Admin', () => {
    expect(roleAfterOwnershipTransfer()).toBe(ADMIN_ROLE_ID);
  });
});

describe('checkBillingTransfer', () => {
  it('lets the owner transfer to an active member, themselves included', () => {
    expect(checkBillingTransfer(account, owner, editor)).toBeNull();
    expect(checkBillingTransfer(account, owner, owner)).toBeNull();
  });

  it('lets a billing contact who is Admin transfer', () => {
    expect(checkBillingTransfer(adminBillingAccount, adminBilling, editor)).toBeNull();
  });

  it('refuses a billing contact who is not Admin', () => {
    expect(checkBillingTransfer(account, editorBilling, editor)).toBe('FORBIDDEN');
  });

  it('refuses an Admin who is neither owner nor billing contact', () => {
    expect(checkBillingTransfer(account, admin, editor)).toBe('FORBIDDEN');
  });

  it('refuses a transfer to the current billing contact', () => {
    expect(checkBillingTransfer(account, owner, editorBilling)).toBe('SELF_ACTION_FORBIDDEN');
    expect(checkBillingTransfer(adminBillingAccount, adminBilling, adminBilling)).toBe('SELF_ACTION_FORBIDDEN');
  });

  it.each([invited, revoked])('refuses a transfer to a member who is $status', (target) => {
    expect(checkBillingTransfer(account, owner, target)).toBe('VALIDATION_FAILED');
  });
});

describe('checkBillingTransferActor (checked before the target is known)', () => {
  it('allows the owner and an Admin billing contact only', () => {
    expect(checkBillingTransferActor(account, owner)).toBeNull();
    expect(checkBillingTransferActor(adminBillingAccount, adminBilling)).toBeNull();
    expect(checkBillingTransferActor(account, editorBilling)).toBe('FORBIDDEN');
    expect(checkBillingTransferActor(account, admin)).toBe('FORBIDDEN');
    expect(checkBillingTransferActor(account, editor)).toBe('FORBIDDEN');
  });
});

describe('checkOwnerOnly', () => {
  it('allows only the owner', () => {
    expect(checkOwnerOnly(account, owner)).toBeNull();
    expect(checkOwnerOnly(account, admin)).toBe('FORBIDDEN');
    expect(checkOwnerOnly(account, editorBilling)).toBe('FORBIDDEN');
  });
});

describe('checkSessionsAccess', () => {
  it("keeps the owner's sessions to the owner", () => {
    expect(checkSessionsAccess(account, admin, owner)).toBe('OWNER_PROTECTED');
    expect(checkSessionsAccess(ownerBillingAccount, adminBilling, owner)).toBe('OWNER_PROTECTED');
    expect(checkSessionsAccess(account, owner, owner)).toBeNull();
  });

  it("leaves everyone else's sessions to any admin, the billing contact's included", () => {
    expect(checkSessionsAccess(account, admin, editor)).toBeNull();
    expect(checkSessionsAccess(account, admin, editorBilling)).toBeNull();
    expect(checkSessionsAccess(account, admin, admin)).toBeNull();
    expect(checkSessionsAccess(account, owner, admin)).toBeNull();
  });
});
