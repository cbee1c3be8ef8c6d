/**
 * Request schemas (zod 4, a Standard Schema) shared by the API, which validates every body and
 * query with them, and the dashboard, which checks forms with the same rules before sending.
 */
import { z } from 'zod';
import { ENFORCED_AUTH_STATES, MAX_INVITATION_EMAILS, MEMBER_STATUSES } from './limits.js';
import { ROLE_ICONS } from './permissions.js';

export { ENFORCED_AUTH_STATES, MAX_INVITATION_EMAILS, MEMBER_STATUSES } from './limits.js';

export const PLANS = ['free', 'starter', 'business', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

export const AUTH_ENFORCEMENTS = ['any', 'google', 'microsoft', 'okta'] as const;
export type AuthEnforcement = (typeof AUTH_ENFORCEMENTS)[number];

/** Text that databases and canonical JSON can store: no NUL, no lone UTF-16 surrogates. */
// eslint-disable-next-line no-control-regex -- refusing NUL is the point
const WELL_FORMED = /^(?:[^\u0000\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;
export const isWellFormedText = (value: string): boolean => WELL_FORMED.test(value);
const wellFormed = <T extends z.ZodString>(schema: T) => schema.regex(WELL_FORMED, 'Contains characters that cannot be stored');

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;

/** Trimmed, lower-cased and validated; at most 254 characters (RFC 5321). */
export const emailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email('Enter a valid email address'));

export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `Use at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `Use at most ${PASSWORD_MAX_LENGTH} characters`);

/** A display name: trimmed, 1–100 characters, no control characters. */
export const nameSchema = wellFormed(
  z
    .string()
    .trim()
    .min(1, 'Required')
    .max(100, 'Use at most 100 characters')
    .regex(/^[^\p{Cc}]*$/u, 'Must not contain control characters'),
);

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

// ── Mailed links: email verification and password reset ─────────────────────────────────

/** The token of a mailed link (256 random bits, base64url). */
export const linkTokenSchema = z
  .string()
  .trim()
  .min(20, 'This link is not complete')
  .max(200, 'This link is not complete');

/**
 * Confirms the email with the mailed token. Signed in as that person, nothing else is needed; anyone
 * else proves the mailbox and takes the unverified login over, so they choose its new password.
 */
export const verifyEmailSchema = z.strictObject({ token: linkTokenSchema, password: passwordSchema.optional() });
export type VerifyEmailRequest = z.input<typeof verifyEmailSchema>;

export const passwordResetSchema = z.strictObject({ email: emailSchema });
export type PasswordResetRequest = z.input<typeof passwordResetSchema>;

/** A new password with the mailed token; with 2FA on, a current or recovery code too. */
export const passwordResetConfirmSchema = z.strictObject({
  token: linkTokenSchema,
  password: passwordSchema,
  totp: totpSchema.optional(),
});
export type PasswordResetConfirmRequest = z.input<typeof passwordResetConfirmSchema>;

// ── User management (SPEC §5) ─────────────────────────────────────────────────────────────

const teamIdsSchema = z.array(idSchema).max(50, 'At most 50 teams').default([]);

export const inviteSchema = z.strictObject({
  emails: z
    .array(emailSchema)
    .min(1, 'Add at least one email')
    .max(MAX_INVITATION_EMAILS, `At most ${MAX_INVITATION_EMAILS} emails at once`),
  roleId: idSchema,
  agentAccess: z.boolean().default(false),
  teamIds: teamIdsSchema,
});
export type InviteRequest = z.input<typeof inviteSchema>;

/** `?dryRun=true` on the routes that support a preview. */
export const dryRunQuerySchema = z.object({
  dryRun: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true'),
});

export const updateMemberSchema = z
  .strictObject({
    roleId: idSchema.optional(),
    agentAccess: z.boolean().optional(),
    teamIds: z.array(idSchema).max(50, 'At most 50 teams').optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'Send at least one of roleId, agentAccess, teamIds' });
export type UpdateMemberRequest = z.input<typeof updateMemberSchema>;

export const MEMBER_SORTS = ['name', 'email', 'createdAt', 'lastActiveAt'] as const;
export type MemberSort = (typeof MEMBER_SORTS)[number];

const repeatable = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item).max(20)]).transform((value) => (Array.isArray(value) ? value : [value]) as z.output<T>[]);

export const listMembersQuerySchema = z.strictObject({
  role: repeatable(idSchema).optional(),
  /** Only while a provider is enforced: members with (`linked`) or without (`pending`) an identity there. */
  enforcedAuth: z.enum(ENFORCED_AUTH_STATES).optional(),
  status: z.enum(MEMBER_STATUSES).optional(),
  team: idSchema.optional(),
  agent: z.enum(['true', 'false']).optional(),
  /** Members who have (`true`) or have not (`false`) turned 2FA on; invitations match neither. */
  twoFactor: z.enum(['true', 'false']).optional(),
  q: wellFormed(z.string().trim().max(100)).optional(),
  sort: z
    .string()
    .regex(/^-?(name|email|createdAt|lastActiveAt)$/, 'Sort by name, email, createdAt or lastActiveAt, with - for descending')
    .optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type ListMembersQuery = z.input<typeof listMembersQuerySchema>;

export const acceptInvitationSchema = z.strictObject({
  token: z.string().trim().min(20).max(200),
  name: nameSchema.optional(),
  password: passwordSchema.optional(),
});
export type AcceptInvitationRequest = z.input<typeof acceptInvitationSchema>;

export const invitationTokenParamSchema = z.strictObject({ token: z.string().min(1).max(200) });

export const updateAccountSchema = z
  .strictObject({
    name: nameSchema.optional(),
    authEnforcement: z.enum(AUTH_ENFORCEMENTS).optional(),
    require2fa: z.boolean().optional(),
    teamsEnabled: z.boolean().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'Send at least one field to change' });
export type UpdateAccountRequest = z.input<typeof updateAccountSchema>;

export const changePlanSchema = z.strictObject({ plan: z.enum(PLANS) });

// ── Single sign-on (SPEC §4, the SSO issue) ───────────────────────────────────────────────

export const SSO_PROVIDERS = ['google', 'microsoft', 'okta'] as const;
export type SsoProvider = (typeof SSO_PROVIDERS)[number];

/**
 * Why an SSO sign-in failed: `/signin?sso_error=<code>`. The browser is always sent back to the
 * sign-in page, never shown a JSON error, and no session is made.
 */
export const SSO_ERROR_CODES = [
  /** The provider is not set up (server configuration, or the account's Okta connection / plan). */
  'PROVIDER_NOT_CONFIGURED',
  /** The account enforces another provider. */
  'PROVIDER_NOT_ALLOWED',
  'ACCOUNT_NOT_FOUND',
  /** Unknown, altered or already used `state`, or the flow was started in another browser. */
  'STATE_INVALID',
  /** More than 10 minutes between start and callback. */
  'FLOW_EXPIRED',
  /** The provider answered with an error (e.g. the person cancelled). */
  'PROVIDER_DENIED',
  /** The provider could not be reached or its metadata is unusable. */
  'PROVIDER_UNAVAILABLE',
  /** The token endpoint refused the code (used, expired, wrong PKCE verifier or client). */
  'CODE_REJECTED',
  /** The ID token's signature or issuer is wrong, or it is malformed. */
  'TOKEN_INVALID',
  /** The ID token was issued to another client. */
  'TOKEN_AUDIENCE',
  'TOKEN_EXPIRED',
  /** The ID token's `nonce` is not the one this flow sent. */
  'NONCE_MISMATCH',
  /** No linked identity, and the provider did not vouch for the email address. */
  'EMAIL_UNVERIFIED',
  /** Neither the identity nor the email belongs to an invited or active member of the account. */
  'NOT_A_MEMBER',
  /** The invitation of this invited member has expired or was cancelled. */
  'INVITATION_INVALID',
  'RATE_LIMITED',
  'INTERNAL',
] as const;
export type SsoErrorCode = (typeof SSO_ERROR_CODES)[number];

/** A path inside the dashboard to land on after signing in: no scheme, no host, no `//` or `\\`. */
export const nextPathSchema = z
  .string()
  .max(500)
  .regex(/^\/(?![/\\])[^\s\\]*$/, 'Must be a path inside the dashboard, e.g. /users');

/**
 * Browser-facing SSO routes never answer JSON errors: a bad value becomes `undefined` here and the
 * route redirects to the sign-in page with an `sso_error` instead.
 */
const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);

export const ssoProviderParamSchema = z.object({ provider: lenient(z.enum(SSO_PROVIDERS)) });

export const ssoStartQuerySchema = z.object({
  account: lenient(idSchema),
  next: lenient(nextPathSchema),
});

/** What the provider sends back (RFC 6749 §4.1.2, RFC 9207 `iss`); providers add their own extras (Google: `scope`, `authuser`, `hd`, `prompt`). */
export const ssoCallbackQuerySchema = z.looseObject({
  state: lenient(z.string().max(500)),
  code: lenient(z.string().max(4000)),
  error: lenient(z.string().max(200)),
  error_description: lenient(z.string().max(2000)),
  iss: lenient(z.string().max(500)),
});

export const ssoProvidersQuerySchema = z.strictObject({ account: idSchema.optional() });

/** An Okta issuer (`https://<org>.okta.com` or `…/oauth2/<server>`): an absolute URL without query or fragment. */
export const issuerUrlSchema = z
  .string()
  .trim()
  .max(500)
  .pipe(z.url({ protocol: /^https?$/, error: 'Enter the issuer URL, e.g. https://example.okta.com' }))
  .refine((value) => !/[?#]/.test(value), 'The issuer URL has no query or fragment')
  .transform((value) => value.replace(/\/+$/, ''));

/** `PUT /account/okta`. The secret may be left out to keep the stored one (it is never shown again). */
export const oktaConnectionSchema = z.strictObject({
  issuer: issuerUrlSchema,
  clientId: z
    .string()
    .trim()
    .min(1, 'Required')
    .max(200, 'Use at most 200 characters')
    .regex(/^[^\p{Cc}\s]*$/u, 'Must not contain spaces or control characters'),
  clientSecret: z
    .string()
    .min(1, 'Required')
    .max(500, 'Use at most 500 characters')
    .regex(/^[^\p{Cc}]*$/u, 'Must not contain control characters')
    .optional(),
});
export type OktaConnectionRequest = z.input<typeof oktaConnectionSchema>;
export type ChangePlanRequest = z.input<typeof changePlanSchema>;

/** E.164: a plus, a country code and up to 15 digits in all. */
export const phoneSchema = z
  .string()
  .trim()
  .transform((value) => value.replace(/[\s().-]/g, ''))
  .pipe(z.string().regex(/^\+[1-9]\d{6,14}$/, 'Enter the number in international form, e.g. +14155550123'));

export const validateAccountSchema = z.strictObject({ phone: phoneSchema });
export type ValidateAccountRequest = z.input<typeof validateAccountSchema>;

export const transferSchema = z.strictObject({ memberId: idSchema });
export type TransferRequest = z.input<typeof transferSchema>;

export const teamNameSchema = wellFormed(
  z
    .string()
    .trim()
    .min(1, 'Required')
    .max(60, 'Use at most 60 characters')
    .regex(/^[^\p{Cc}]*$/u, 'Must not contain control characters'),
);
export const teamSchema = z.strictObject({ name: teamNameSchema });
export type TeamRequest = z.input<typeof teamSchema>;

/** The largest `integer` PostgreSQL stores (SQLite's go further): every seq and serial id fits under it. */
export const DB_INTEGER_MAX = 2_147_483_647;

/**
 * A cursor that is a seq or serial id: digits, and no larger than the column can hold — a larger one
 * was never handed out, and PostgreSQL would refuse it as a parameter (a 500 instead of this 400).
 */
export const integerCursorSchema = z
  .string()
  .regex(/^\d{1,10}$/, { message: 'Invalid cursor', abort: true })
  .refine((value) => Number(value) <= DB_INTEGER_MAX, 'Invalid cursor');

export const listActivityQuerySchema = z.strictObject({
  actor: idSchema.optional(),
  member: idSchema.optional(),
  action: repeatable(z.string().regex(/^[a-z_]+\.[a-z0-9_]+$/, 'Unknown action')).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  cursor: integerCursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type ListActivityQuery = z.input<typeof listActivityQuerySchema>;

// ── Roles (SPEC §4–5) ─────────────────────────────────────────────────────────────────────

export const ROLE_NAME_MAX = 60;
export const ROLE_DESCRIPTION_MAX = 280;

export const roleNameSchema = wellFormed(
  z
    .string()
    .trim()
    .min(1, 'Required')
    .max(ROLE_NAME_MAX, `Use at most ${ROLE_NAME_MAX} characters`)
    .regex(/^[^\p{Cc}]*$/u, 'Must not contain control characters'),
);

const roleFields = {
  name: roleNameSchema,
  description: wellFormed(
    z.string().trim().max(ROLE_DESCRIPTION_MAX, `Use at most ${ROLE_DESCRIPTION_MAX} characters`).regex(/^[^\p{Cc}]*$/u, 'Must not contain control characters'),
  ),
  icon: z.enum(ROLE_ICONS, 'Choose one of the listed icons'),
  /** Catalogue keys; unknown and Admin-only keys are refused by the API with details. */
  permissions: z.array(z.string().max(60)).max(200),
};

export const createRoleSchema = z.strictObject({ ...roleFields, description: roleFields.description.default('') });
export type CreateRoleRequest = z.input<typeof createRoleSchema>;

export const updateRoleSchema = z
  .strictObject({
    name: roleFields.name.optional(),
    description: roleFields.description.optional(),
    icon: roleFields.icon.optional(),
    permissions: roleFields.permissions.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'Send at least one field to change' });
export type UpdateRoleRequest = z.input<typeof updateRoleSchema>;

export const deleteRoleQuerySchema = z.strictObject({
  reassignTo: idSchema.optional(),
  dryRun: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true'),
});

export const reorderRolesSchema = z.strictObject({
  roleIds: z.array(idSchema).max(1000),
});
export type ReorderRolesRequest = z.input<typeof reorderRolesSchema>;

// ── Live API payloads (SPEC §6) ───────────────────────────────────────────────────────────

export const presenceResourceSchema = z.string().regex(/^(member|role):[0-9a-f-]{36}$/i, 'A member or role resource, e.g. member:<id>');
export const presenceEnterSchema = z.strictObject({ resource: presenceResourceSchema, editing: z.boolean().default(false) });
export const presenceLeaveSchema = z.strictObject({ resource: presenceResourceSchema });
export const activitySubscribeSchema = z.strictObject({
  action: z.array(z.string().regex(/^[a-z_]+\.[a-z0-9_]+$/)).max(40).optional(),
  member: idSchema.optional(),
});
export const syncSchema = z.strictObject({ afterSeq: z.number().int().min(0) });

// ── Bulk actions on members (issue 17 §2) ────────────────────────────────────────────────

export const BULK_ACTIONS = ['role', 'agentAccess', 'addTeam', 'removeTeam', 'revoke', 'resend', 'cancel'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** At most this many members per bulk request: more ids, or a filter matching more, is refused (400), never cut. */
export const MAX_BULK_MEMBERS = 10_000;

/** The filters of `GET /users`, as JSON (booleans as booleans, `role` a list). */
export const bulkFilterSchema = z.strictObject({
  role: z.array(idSchema).max(20).optional(),
  status: z.enum(MEMBER_STATUSES).optional(),
  team: idSchema.optional(),
  agent: z.boolean().optional(),
  twoFactor: z.boolean().optional(),
  q: wellFormed(z.string().trim().max(100)).optional(),
  enforcedAuth: z.enum(ENFORCED_AUTH_STATES).optional(),
});
export type BulkFilter = z.output<typeof bulkFilterSchema>;

/** What each action needs besides the members: `role` a roleId, `agentAccess` the new value, the team actions a teamId. */
const BULK_PARAMETER: Record<BulkAction, 'roleId' | 'agentAccess' | 'teamId' | null> = {
  role: 'roleId',
  agentAccess: 'agentAccess',
  addTeam: 'teamId',
  removeTeam: 'teamId',
  revoke: null,
  resend: null,
  cancel: null,
};

/** `POST /users/bulk`: exactly one of `ids` and `filter`; the action's own parameter and no other. */
export const bulkMembersSchema = z
  .strictObject({
    action: z.enum(BULK_ACTIONS),
    ids: z
      .array(idSchema)
      .min(1, 'Select at least one member')
      .max(MAX_BULK_MEMBERS, `At most ${MAX_BULK_MEMBERS.toLocaleString('en')} members at once`)
      .optional(),
    filter: bulkFilterSchema.optional(),
    roleId: idSchema.optional(),
    agentAccess: z.boolean().optional(),
    teamId: idSchema.optional(),
  })
  .superRefine((body, context) => {
    if ((body.ids === undefined) === (body.filter === undefined))
      context.addIssue({ code: 'custom', path: ['ids'], message: 'Send either ids or filter (exactly one)' });
    const needed = BULK_PARAMETER[body.action];
    for (const field of ['roleId', 'agentAccess', 'teamId'] as const) {
      if (field === needed && body[field] === undefined)
        context.addIssue({ code: 'custom', path: [field], message: `Required for the ${body.action} action` });
      if (field !== needed && body[field] !== undefined)
        context.addIssue({ code: 'custom', path: [field], message: `Not used by the ${body.action} action` });
    }
  });
export type BulkMembersRequest = z.input<typeof bulkMembersSchema>;
