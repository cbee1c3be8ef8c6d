/** Response shapes of the REST API (SPEC §5). */
import type { AuthEnforcement, Plan, SsoProvider } from './schemas.js';
import type { ErrorCode } from './errors.js';
import type { PermissionKey, RoleIcon } from './permissions.js';
import type { ActivityNames } from './activity.js';

export type MemberStatus = 'invited' | 'active' | 'revoked';
export type EnforcedAuthState = 'linked' | 'pending';

export interface RoleRef {
  id: string;
  name: string;
  icon: RoleIcon;
}

export interface TeamRef {
  id: string;
  name: string;
}

export interface MemberDto {
  id: string;
  email: string;
  name: string | null;
  avatarUrl: string | null;
  status: MemberStatus;
  role: RoleRef;
  isOwner: boolean;
  isBillingContact: boolean;
  agentAccess: boolean;
  teams: TeamRef[];
  twoFactorEnabled: boolean | null;
  enforcedAuth: EnforcedAuthState | null;
  invitedAt: string | null;
  joinedAt: string | null;
  lastActiveAt: string | null;
  version: number;
}

export interface SeatUsage {
  limit: number | null;
  used: number;
  invited: number;
}

export interface AgentSeatUsage {
  limit: number | null;
  used: number;
  free: 1;
  billable: number;
  monthlyCost: number;
}

export interface AccountDto {
  id: string;
  name: string;
  plan: Plan;
  seats: SeatUsage;
  agentSeats: AgentSeatUsage;
  ownerId: string;
  billingContactId: string;
  authEnforcement: AuthEnforcement;
  require2fa: boolean;
  /** The account's Okta connection (Enterprise); its client secret is stored encrypted and never shown. */
  okta: OktaConnectionDto | null;
  teamsEnabled: boolean;
  validated: boolean;
  rolesVersion: number;
  /** Seq of the newest activity entry: live clients start counting from it to detect missed events. */
  activitySeq: number;
  version: number;
  createdAt: string;
}

/** The short form of an account, as listed for the account switcher. */
export interface AccountSummaryDto {
  id: string;
  name: string;
  memberId: string;
  status: MemberStatus;
}

export interface PersonDto {
  id: string;
  email: string;
  name: string;
  avatarUrl: string | null;
  twoFactorEnabled: boolean;
  /**
   * Whether the person proved they control the email (verification link, invitation, password reset,
   * or a provider that vouches for it). An unverified email is owned by nobody: whoever proves the
   * mailbox takes the person over.
   */
  emailVerified: boolean;
  createdAt: string;
}

/**
 * `GET /auth/session` (public, issue 15): `GET /me` for a page that does not know whether anyone
 * is signed in — 200 `{ signedIn: false }` where `GET /me` answers 401, so the dashboard's public
 * pages log no failed request. Other refusals (`SSO_REQUIRED`, an outage) answer as `GET /me` does.
 */
export type SessionProbeDto = { signedIn: false } | { signedIn: true; me: MeDto };

export interface PermissionsDto {
  version: number;
  keys: PermissionKey[];
}

export interface MeDto {
  person: PersonDto;
  member: MemberDto;
  account: AccountDto;
  permissions: PermissionsDto;
  accounts: AccountSummaryDto[];
  /**
   * True while this session is enrolment-only: the account requires 2FA, the person has none and
   * the session was not made with a second factor. It then reaches only GET /me, POST /me/2fa/setup,
   * POST /me/2fa/confirm and POST /auth/sign-out; confirming TOTP lifts the limit on the same session.
   */
  twoFactorEnrolmentRequired: boolean;
}

export interface AuthResultDto {
  token: string;
  member: MemberDto;
  account: AccountDto;
  accounts: AccountSummaryDto[];
  /**
   * Present (true) when the account requires 2FA and this person has none: until they enrol, the
   * session reaches only GET /me, POST /me/2fa/setup, POST /me/2fa/confirm and POST /auth/sign-out.
   */
  twoFactorEnrolmentRequired?: true;
}

// ── Single sign-on ─────────────────────────────────────────────────────────────────────────

export interface OktaConnectionDto {
  issuer: string;
  clientId: string;
}

export interface SsoProviderDto {
  id: SsoProvider;
  name: string;
  /** Where the sign-in button sends the browser (a 302 to the provider). */
  startUrl: string;
}

/** `GET /auth/sso/providers?account=`: what the sign-in page can offer for that account. */
export interface SsoProvidersDto {
  providers: SsoProviderDto[];
  /** The account's enforcement (`any` when none); null without `?account=`. */
  authEnforcement: AuthEnforcement | null;
}

/**
 * Every `?dryRun=true` answer (issue 15): a dry run answers **200** with its preview even when the
 * real request would be refused with a 409 — `wouldFail` is then that refusal (the same code,
 * message and details the real request answers with 409), and null when the real request would go
 * through. Nothing is written either way. Problems with the request itself are answered as errors,
 * as for the real request: 400 bad input, 401/403, 404, 412/428 (If-Match), 429, 503.
 * (A preview asked on every keystroke no longer logs a failed request in the browser.)
 */
export interface DryRunDto {
  wouldFail: DryRunFailureDto | null;
}

/** The refusal a dry run found: what the real request would answer, as `error` of the error shape. */
export interface DryRunFailureDto {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * `PATCH /account?dryRun=true` with `authEnforcement`: who would be locked out, nothing written.
 * `wouldFail`: e.g. `CONFLICT` when the provider is not set up.
 */
export interface EnforcementPreviewDto extends DryRunDto {
  lockedOut: { id: string; name: string | null; email: string }[];
}

export interface SessionDto {
  id: string;
  current: boolean;
  accountId: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  authMethod: string;
}

export interface TotpSetupDto {
  secret: string;
  otpauthUrl: string;
  qrSvg: string;
}

export interface RecoveryCodesDto {
  recoveryCodes: string[];
}

export interface HealthDto {
  status: 'ok' | 'degraded';
  db: 'ok' | 'down';
  redis: 'ok' | 'down' | 'disabled';
  /** 'full' since a write failed for lack of space (STORAGE_FULL), until a write commits again. */
  storage: 'ok' | 'full';
}

export interface ListDto<T> {
  items: T[];
}

export interface PageDto<T> {
  items: T[];
  nextCursor: string | null;
}

export interface MemberPageDto extends PageDto<MemberDto> {
  total: number;
}

/**
 * `POST /users/invitations?dryRun=true`: usage after inviting the emails that are not members yet,
 * nothing written. `wouldFail`: `USER_EXISTS` (details list the members, as in the 409), else
 * `SEAT_LIMIT_REACHED` / `AGENT_SEAT_LIMIT_REACHED` (details: limit, used, requested).
 */
export interface InvitationPreviewDto extends DryRunDto {
  emails: string[];
  seats: SeatUsage;
  agentSeats: AgentSeatUsage;
}

export interface InvitationInfoDto {
  accountName: string;
  email: string;
  invitedBy: string | null;
  expiresAt: string;
  /** Whether a verified Rolecall login already exists for this email (sign in instead of choosing a password). */
  existingPerson: boolean;
  /**
   * An unverified sign-up holds this email. The invitation proves the mailbox, so accepting it with a
   * name and password takes that login over (its sessions end, its password and 2FA are removed).
   */
  unverifiedPerson: boolean;
}

/** `GET /auth/verify-email/:token`: whose address the link confirms. */
export interface VerifyEmailInfoDto {
  email: string;
}

/** `GET /auth/password-reset/:token`: whose password the link resets, and what the reset asks for. */
export interface PasswordResetInfoDto {
  email: string;
  /** The person has 2FA on: the reset needs a current or recovery code too. */
  twoFactorRequired: boolean;
  /**
   * The email is unverified: the reset proves the mailbox and takes the login over (its sessions end,
   * its 2FA and linked sign-ins are removed), so no code is asked.
   */
  claimsAddress: boolean;
}

export interface AcceptInvitationResultDto {
  token: string;
  member: MemberDto;
  account: AccountDto;
}

export interface MemberSessionDto {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  authMethod: string;
}

export interface TeamDto {
  id: string;
  name: string;
  memberCount: number;
  version: number;
}

/** A non-member actor of an activity entry (issue 16). */
export type ActorKind = 'scim' | 'service_account';

export interface ActivityEntryDto {
  seq: number;
  at: string;
  /**
   * `kind`/`name` only when the actor was not a member (issue 16): an identity provider's SCIM client
   * ("SCIM (Okta)") or a service account's API key (its name as it was).
   */
  actor: { memberId: string | null; email: string | null; kind?: ActorKind; name?: string | null };
  action: string;
  target: { type: string; id: string | null; label: string | null };
  changes: Record<string, unknown> | null;
  /** Names as they were when written, by id (`ActivityNames`); absent on older entries. */
  names?: ActivityNames;
  /** IPv4 addresses as plain IPv4 (older entries may hold `::ffff:…`). */
  ip: string | null;
  userAgent: string | null;
  hash: string;
  prevHash: string;
}

export interface ActivityVerifyDto {
  ok: boolean;
  checked: number;
  firstBadSeq: number | null;
}

/**
 * How an invited member's invitation mail went (issue 14 §3, the mail outbox): `pending` — not
 * taken by the mail server yet, retried with back-off (`nextAttemptAt`); `sent`; `failed` — every
 * attempt failed (resend the invitation).
 */
export interface InvitationMailDto {
  status: 'pending' | 'sent' | 'failed';
  /** Attempts made so far (one that is under way counts). */
  attempts: number;
  /** Why the last attempt failed; null once sent. */
  lastError: string | null;
  sentAt: string | null;
  /** When the next attempt is due, while pending. */
  nextAttemptAt: string | null;
}

/** `GET /users/:id`: the member and its profile. */
export interface MemberDetailDto extends MemberDto {
  invitedBy: { id: string; name: string | null; email: string } | null;
  invitationExpiresAt: string | null;
  /** Invited members only (null otherwise, and for invitations older than the outbox). */
  invitationMail: InvitationMailDto | null;
}

// ── Roles ──────────────────────────────────────────────────────────────────────────────────

export interface PermissionCatalogueDto {
  features: { key: string; label: string; actions: { key: PermissionKey; label: string; adminOnly: boolean }[] }[];
  icons: RoleIcon[];
}

export interface RoleMemberDto {
  id: string;
  name: string | null;
  avatarUrl: string | null;
}

export interface RoleDto {
  id: string;
  name: string;
  description: string;
  icon: RoleIcon;
  /** True for Admin, Editor and Read only: viewable, never edited or deleted. */
  system: boolean;
  permissions: PermissionKey[];
  /** Display position: system roles 0–2, custom roles after them in their saved order. */
  position: number;
  /** Active members holding the role. */
  memberCount: number;
  /** Invited (not yet joined) members holding the role. */
  invitedCount: number;
  /** Active members only, up to 100 (`memberCount` has the full number). */
  members: RoleMemberDto[];
  version: number;
}

export interface RoleListDto {
  items: RoleDto[];
  rolesVersion: number;
}

/** What an edit (or a deletion with reassignment) would change, per affected active member. */
/**
 * `PATCH /roles/:id?dryRun=true` and `DELETE /roles/:id?dryRun=true`: the impact, nothing written.
 * `wouldFail`: `SYSTEM_ROLE_READONLY`, or `ROLE_IN_USE` for a deletion without `reassignTo` (the
 * impact lists are then empty).
 */
export interface RoleImpactPreviewDto extends RoleImpactDto, DryRunDto {}

export interface RoleImpactDto {
  /** Keys the role itself gains and loses (for a deletion: relative to the reassignment role). */
  added: PermissionKey[];
  removed: PermissionKey[];
  affectedMembers: {
    id: string;
    name: string | null;
    email: string;
    added: PermissionKey[];
    removed: PermissionKey[];
    /** Permissions the member holds afterwards; 0 means none at all (the dashboard says why). */
    remaining: number;
    /** Talk permissions of a role reach a member only with agent access. */
    agentAccess: boolean;
  }[];
}

// ── Bulk actions on members (issue 17 §2) ────────────────────────────────────────────────

/**
 * Why a selected member is left out of a bulk action (the others go ahead): `not_found` (no such
 * member in this account — another account's ids look the same), `self` (your own role, Talk access
 * or revocation: do that on your profile), `owner_protected` / `billing_contact_protected` (transfer
 * first), `already` (already in that state), `wrong_status` (e.g. revoking an invitation, resending
 * to someone who joined).
 */
export type BulkSkipReason = 'not_found' | 'self' | 'owner_protected' | 'billing_contact_protected' | 'already' | 'wrong_status';

export interface BulkSkipDto {
  id: string;
  reason: BulkSkipReason;
  /** Words for the dashboard: "Olive Owner is the account owner". */
  message: string;
  /** null for `not_found`. */
  name: string | null;
  email: string | null;
}

/** `POST /users/bulk`: who was changed (in one transaction) and who was left out and why. */
export interface BulkResultDto {
  /** Carried by every activity entry of this request (`changes.bulkId`) and its live events. */
  bulkId: string;
  changed: string[];
  skipped: BulkSkipDto[];
}

/** A member whose effective permissions the bulk action changes. */
export interface BulkPermissionChangeDto {
  id: string;
  name: string | null;
  email: string;
  added: PermissionKey[];
  removed: PermissionKey[];
  /** Permissions held afterwards; 0: none at all. */
  remaining: number;
}

/** `POST /users/bulk?dryRun=true` (200, nothing written): the result it would have and its impact. */
export interface BulkPreviewDto extends DryRunDto {
  bulkId: null;
  changed: string[];
  skipped: BulkSkipDto[];
  /** Seats and agent seats after the change (with its monthly agent cost); `monthlyCostBefore` as it is now. */
  seats: SeatUsage;
  agentSeats: AgentSeatUsage;
  monthlyCostBefore: number;
  permissionChanges: BulkPermissionChangeDto[];
}
