import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_STATUS, isErrorBody } from './errors.js';

describe('ERROR_STATUS', () => {
  it.each(ERROR_CODES)('maps %s to a 4xx or 5xx status', (code) => {
    const status = ERROR_STATUS[code];
    expect(Number.isInteger(status)).toBe(true);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(600);
  });

  it('gives every code of SPEC §5 its status', () => {
    const spec = {
      VALIDATION_FAILED: 400,
      UNAUTHENTICATED: 401,
      SESSION_REVOKED: 401,
      INVALID_CREDENTIALS: 401,
      TOTP_REQUIRED: 401,
      TOTP_INVALID: 401,
      SSO_REQUIRED: 403,
      FORBIDDEN: 403,
      SELF_ACTION_FORBIDDEN: 403,
      PLAN_FEATURE_UNAVAILABLE: 403,
      NOT_FOUND: 404,
      USER_EXISTS: 409,
      SEAT_LIMIT_REACHED: 409,
      AGENT_SEAT_LIMIT_REACHED: 409,
      OWNER_PROTECTED: 409,
      BILLING_CONTACT_PROTECTED: 409,
      ROLE_IN_USE: 409,
      SYSTEM_ROLE_READONLY: 409,
      ADMIN_ONLY_PERMISSION: 400,
      INVITATION_INVALID: 410,
      VERSION_MISMATCH: 412,
      PRECONDITION_REQUIRED: 428,
      RATE_LIMITED: 429,
    } as const;
    expect(
      Object.fromEntries(Object.keys(spec).map((code) => [code, ERROR_STATUS[code as keyof typeof spec]])),
    ).toEqual(spec);
  });
});

describe('ERROR_CODES', () => {
  it('lists every code of ERROR_STATUS once', () => {
    expect([...ERROR_CODES].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });
});

describe('isErrorBody', () => {
  it('accepts the error shape of SPEC §5', () => {
    expect(isErrorBody({ error: { code: 'NOT_FOUND', message: 'No such member' } })).toBe(true);
  });

  it.each([null, 'NOT_FOUND', {}, { error: null }, { error: { code: 'NOT_FOUND' } }, { error: { message: 'x' } }])(
    'rejects %j',
    (value) => {
      expect(isErrorBody(value)).toBe(false);
    },
  );
});
