import { describe, expect, it } from 'vitest';
import { emailSchema, nameSchema, passwordSchema, signupSchema, totpSchema } from './schemas.js';

describe('emailSchema', () => {
  it('trims and lower-cases', () => {
    expect(emailSchema.parse('  Ada.Lovelace@Example.COM ')).toBe('ada.lovelace@example.com');
  });

  it.each(['', 'not-an-email', 'a@', `${'a'.repeat(250)}@x.io`])('rejects %j', (value) => {
    expect(emailSchema.safeParse(value).success).toBe(false);
  });
});

describe('passwordSchema', () => {
  it('needs 10 to 200 characters', () => {
    expect(passwordSchema.safeParse('a'.repeat(9)).success).toBe(false);
    expect(passwordSchema.safeParse('a'.repeat(10)).success).toBe(true);
    expect(passwordSchema.safeParse('a'.repeat(200)).success).toBe(true);
    expect(passwordSchema.safeParse('a'.repeat(201)).success).toBe(false);
  });
});

describe('nameSchema', () => {
  it('trims and refuses empty names and control characters', () => {
    expect(nameSchema.parse('  Ada  ')).toBe('Ada');
    expect(nameSchema.safeParse('   ').success).toBe(false);
    expect(nameSchema.safeParse('Ada\u0000').success).toBe(false);
  });
});

describe('totpSchema', () => {
  it('takes a 6-digit code or a recovery code', () => {
    expect(totpSchema.safeParse('123456').success).toBe(true);
    expect(totpSchema.safeParse('abcde-12345').success).toBe(true);
    expect(totpSchema.safeParse('12345').success).toBe(false);
  });
});

describe('signupSchema', () => {
  const body = { accountName: 'Acme', name: 'Ada', email: 'ADA@acme.io', password: 'correct horse' };

  it('normalises the email and leaves the plan optional', () => {
    expect(signupSchema.parse(body)).toEqual({ ...body, email: 'ada@acme.io' });
  });

  it('refuses unknown fields and plans', () => {
    expect(signupSchema.safeParse({ ...body, role: 'admin' }).success).toBe(false);
    expect(signupSchema.safeParse({ ...body, plan: 'platinum' }).success).toBe(false);
  });
});
