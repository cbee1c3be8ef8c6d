import { describe, expect, it } from 'vitest';
import {
  amrShowsMfa,
  emailIsVerified,
  enrolmentOnly,
  offeredProviders,
  passwordSignIn,
  sessionMeetsEnforcement,
  switchAccount,
} from './sso.rules.js';

describe('amrShowsMfa', () => {
  it.each([
    [['pwd', 'mfa'], true],
    [['otp'], true],
    [['hwk'], true],
    [['swk', 'user'], true],
    [['mca'], true],
    [['sc', 'pin'], true],
    [['pwd'], false],
    [['sms'], false],
    [['fpt'], false],
    [[], false],
    [undefined, false],
    ['mfa', false],
    [[1, null], false],
  ])('%j → %s', (amr, expected) => {
    expect(amrShowsMfa(amr)).toBe(expected);
  });
});

describe('passwordSignIn', () => {
  it('allows anyone while nothing is enforced', () => {
    expect(passwordSignIn('any', { isOwner: false, hasTotp: false })).toEqual({ allowed: true, breakGlass: false });
  });

  it('refuses members under enforcement, with or without 2FA', () => {
    expect(passwordSignIn('google', { isOwner: false, hasTotp: true })).toEqual({
      allowed: false,
      reason: 'sso_required',
    });
  });

  it('lets the owner in only with 2FA, as break-glass', () => {
    expect(passwordSignIn('okta', { isOwner: true, hasTotp: false })).toEqual({
      allowed: false,
      reason: 'owner_needs_2fa',
    });
    expect(passwordSignIn('okta', { isOwner: true, hasTotp: true })).toEqual({ allowed: true, breakGlass: true });
  });
});

describe('sessionMeetsEnforcement', () => {
  it('keeps sessions of the enforced provider and the owner, refuses the rest', () => {
    expect(sessionMeetsEnforcement('google', { authMethod: 'google' }, false)).toBe(true);
    expect(sessionMeetsEnforcement('google', { authMethod: 'microsoft' }, false)).toBe(false);
    expect(sessionMeetsEnforcement('google', { authMethod: 'password' }, true)).toBe(true);
    expect(sessionMeetsEnforcement('any', { authMethod: 'password' }, false)).toBe(true);
  });
});

describe('switchAccount', () => {
  const password = { authMethod: 'password', mfa: false, accountId: 'a' };
  it('keeps an Okta session in its account', () => {
    expect(
      switchAccount('any', { authMethod: 'okta', mfa: true, accountId: 'a' }, { accountId: 'b', isOwner: true }),
    ).toEqual({ allowed: false, reason: 'account_scoped' });
  });

  it('asks an enforcing account for its provider, or the owner with a second factor', () => {
    expect(switchAccount('any', password, { accountId: 'b', isOwner: false })).toEqual({ allowed: true });
    expect(switchAccount('google', password, { accountId: 'b', isOwner: false })).toEqual({
      allowed: false,
      reason: 'sso_required',
    });
    expect(switchAccount('google', { ...password, authMethod: 'google' }, { accountId: 'b', isOwner: false })).toEqual({
      allowed: true,
    });
    expect(switchAccount('google', password, { accountId: 'b', isOwner: true })).toEqual({
      allowed: false,
      reason: 'owner_needs_2fa',
    });
    expect(switchAccount('google', { ...password, mfa: true }, { accountId: 'b', isOwner: true })).toEqual({
      allowed: true,
    });
  });
});

describe('enrolmentOnly', () => {
  it('limits only a session without a second factor, of a person without TOTP, where 2FA is required', () => {
    expect(enrolmentOnly(true, { mfa: false }, { hasTotp: false })).toBe(true);
    expect(enrolmentOnly(true, { mfa: true }, { hasTotp: false })).toBe(false);
    expect(enrolmentOnly(true, { mfa: false }, { hasTotp: true })).toBe(false);
    expect(enrolmentOnly(false, { mfa: false }, { hasTotp: false })).toBe(false);
    // An admin reset the person's 2FA: required for them alone, whatever the account says.
    expect(enrolmentOnly(false, { mfa: false }, { hasTotp: false, enrolmentRequired: true })).toBe(true);
    expect(enrolmentOnly(false, { mfa: true }, { hasTotp: false, enrolmentRequired: true })).toBe(false);
    expect(enrolmentOnly(false, { mfa: false }, { hasTotp: true, enrolmentRequired: true })).toBe(false);
  });
});

describe('offeredProviders', () => {
  it('offers every configured provider, or only the enforced one', () => {
    expect(offeredProviders('any', ['google', 'microsoft'])).toEqual(['google', 'microsoft']);
    expect(offeredProviders('microsoft', ['google', 'microsoft'])).toEqual(['microsoft']);
    expect(offeredProviders('okta', ['google'])).toEqual([]);
  });
});

describe('emailIsVerified', () => {
  it('needs email_verified, or for Microsoft the xms_edov claim', () => {
    expect(emailIsVerified('google', { email_verified: true })).toBe(true);
    expect(emailIsVerified('google', { email_verified: false })).toBe(false);
    expect(emailIsVerified('google', {})).toBe(false);
    expect(emailIsVerified('google', { xms_edov: true })).toBe(false);
    expect(emailIsVerified('microsoft', { xms_edov: true })).toBe(true);
    expect(emailIsVerified('microsoft', {})).toBe(false);
    expect(emailIsVerified('okta', { email_verified: 'true' })).toBe(true);
  });
});
