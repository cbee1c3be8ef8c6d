import { describe, expect, it } from 'vitest';
import { checkTwoFactorReset } from './second-factor.js';

const account = { ownerId: 'owner', billingContactId: 'billing' };
const member = (id: string, status: 'active' | 'invited' | 'revoked' = 'active') => ({ id, status });

describe(checkTwoFactorReset.name, () => {
  it('lets an admin reset an active member who has 2FA on, the billing contact included', () => {
    expect(checkTwoFactorReset(account, member('admin'), member('bob'), true)).toBeNull();
    expect(checkTwoFactorReset(account, member('admin'), member('billing'), true)).toBeNull();
    expect(checkTwoFactorReset(account, member('owner'), member('bob'), true)).toBeNull();
  });

  it('refuses one’s own (My account turns it off with a code)', () => {
    expect(checkTwoFactorReset(account, member('admin'), member('admin'), true)).toBe('SELF_ACTION_FORBIDDEN');
    expect(checkTwoFactorReset(account, member('owner'), member('owner'), true)).toBe('SELF_ACTION_FORBIDDEN');
  });

  it('refuses the owner’s to everyone else', () => {
    expect(checkTwoFactorReset(account, member('admin'), member('owner'), true)).toBe('OWNER_PROTECTED');
  });

  it('refuses when there is nothing to reset', () => {
    expect(checkTwoFactorReset(account, member('admin'), member('bob'), false)).toBe('CONFLICT');
    expect(checkTwoFactorReset(account, member('admin'), member('bob', 'revoked'), true)).toBe('CONFLICT');
    expect(checkTwoFactorReset(account, member('admin'), member('bob', 'invited'), false)).toBe('CONFLICT');
  });
});
