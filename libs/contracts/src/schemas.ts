/**
 * Request schemas (zod 4, a Standard Schema) shared by the API, which validates every body and
 * query with them, and the dashboard, which checks forms with the same rules before sending.
 */
import { z } from 'zod';

export const PLANS = ['free', 'starter', 'business', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

export const AUTH_ENFORCEMENTS = ['any', 'google', 'microsoft', 'okta'] as const;
export type AuthEnforcement = (typeof AUTH_ENFORCEMENTS)[number];

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;

/** Trimmed, lower-cased and validated; at most 254 characters (RFC 5321). */
export const emailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email('Enter a valid email address'));

export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `Use at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `Use at most ${PASSWORD_MAX_LENGTH} characters`);

/** A display name: trimmed, 1–100 characters, no control characters. */
export const nameSchema = z
  .string()
  .trim()
  .min(1, 'Required')
  .max(100, 'Use at most 100 characters')
  .regex(/^[^\p{Cc}]*$/u, 'Must not contain control characters');

export const idSchema = z.uuid('Must be a valid id');

/** A 6-digit TOTP code, or a recovery code (xxxxx-xxxxx). */
export const totpSchema = z
  .string()
  .trim()
  .max(32)
  .regex(/^(\d{6}|[a-z0-9]{5}-?[a-z0-9]{5})$/i, 'Enter the 6-digit code or a recovery code');

export const signupSchema = z.strictObject({
  accountName: nameSchema,
  name: nameSchema,
  email: emailSchema,
  password: passwordSchema,
  plan: z.enum(PLANS).optional(),
  /** Only when the email already has a person with 2FA on. */
  totp: totpSchema.optional(),
});
export type SignupRequest = z.input<typeof signupSchema>;

export const signInSchema = z.strictObject({
  email: emailSchema,
  password: z.string().min(1, 'Required').max(PASSWORD_MAX_LENGTH),
  totp: totpSchema.optional(),
  accountId: idSchema.optional(),
});
export type SignInRequest = z.input<typeof signInSchema>;

export const switchAccountSchema = z.strictObject({ accountId: idSchema });
export type SwitchAccountRequest = z.input<typeof switchAccountSchema>;

export const totpCodeSchema = z.strictObject({
  code: z
    .string()
    .trim()
    .regex(/^\d{6}$/, 'Enter the 6-digit code from your authenticator app'),
});
export type TotpCodeRequest = z.input<typeof totpCodeSchema>;

/** Disabling 2FA takes a current code or an unused recovery code. */
export const disableTotpSchema = z.strictObject({ code: totpSchema });
export type DisableTotpRequest = z.input<typeof disableTotpSchema>;

export const idParamSchema = z.strictObject({ id: idSchema });

export const updateProfileSchema = z.strictObject({ name: nameSchema });
export type UpdateProfileRequest = z.input<typeof updateProfileSchema>;
