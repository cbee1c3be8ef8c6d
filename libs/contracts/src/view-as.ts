/**
 * "View as" (issue 17 §4): what a member can do and where each permission comes from, and the
 * read-only preview of the dashboard as a role.
 */
import type { MemberStatus } from './dto.js';
import type { PermissionKey, RoleIcon } from './permissions.js';

/** Where an effective permission (or an owner-only ability) comes from. */
export type PermissionSourceKind = 'role' | 'agentAccess' | 'owner' | 'billingContact';

export interface PermissionSourceDto {
  kind: PermissionSourceKind;
  /** "Editor", "Talk agent access", "Billing contact", "Account owner". */
  label: string;
}

/** Why a key the role grants is not among the member's effective permissions. */
export type WithheldReason = 'noAgentAccess' | 'notActive';

export interface WithheldPermissionDto {
  key: PermissionKey;
  reason: WithheldReason;
  /** The reason in words: "Needs Talk agent access", "The member is revoked". */
  label: string;
}

/** An ability that is no permission key: only the owner changes the plan, transfers ownership… */
export interface PermissionExtraDto {
  kind: Extract<PermissionSourceKind, 'owner' | 'billingContact'>;
  label: string;
}

/** `GET /users/:id/permissions`: the member's effective permissions with their sources. */
export interface MemberPermissionsDto {
  memberId: string;
  status: MemberStatus;
  role: { id: string; name: string; icon: RoleIcon };
  /** The member's `permissionsVersion`: grows whenever `keys` changes. */
  version: number;
  /** Exactly what the API enforces for this member (libs/domain `effectivePermissions`), catalogue order. */
  keys: PermissionKey[];
  /** For every key of `keys`, each reason the member holds it (at least one). */
  sources: Partial<Record<PermissionKey, PermissionSourceDto[]>>;
  /** Keys the role grants that the member does not get, with why. */
  withheld: WithheldPermissionDto[];
  /** Owner-only and billing-contact abilities beyond the keys. */
  extras: PermissionExtraDto[];
}

/**
 * `POST /roles/:id/preview` (logged as `role.previewed`): the keys an active holder of the role
 * with Talk agent access holds. The dashboard shows its nav and pages read-only with them.
 */
export interface RolePreviewDto {
  role: { id: string; name: string; icon: RoleIcon; system: boolean };
  keys: PermissionKey[];
}
