/**
 * The Socket.IO event maps (SPEC §6), shared by the gateway, the dashboard and libs/client.
 * Every payload is typed; acknowledgements answer `{ ok: true, … }` or `{ ok: false, error }`.
 */
import type { AccountDto, ActivityEntryDto, MemberDto, RoleDto, RoleRef, TeamDto } from './dto.js';
import type { ErrorCode } from './errors.js';
import type { BulkAction } from './schemas.js';
import type { PermissionKey } from './permissions.js';

/** Why a member's effective permissions changed. */
export type PermissionChangeReason =
  | 'role_changed'
  | 'role_edited'
  | 'role_deleted'
  | 'agent_access_changed'
  | 'ownership_transferred'
  | 'billing_transferred'
  | 'reactivated'
  | 'invitation_accepted'
  /** Not a change: the set as it stands, sent on every (re)connection right after the handshake (issue 18). */
  | 'connected';

/** Why a session was ended (SPEC §6 `me.revoked`). */
export type RevocationReason =
  | 'member_revoked'
  | 'member_deleted'
  | 'session_ended'
  | 'signed_out'
  | 'ended_by_admin'
  | 'sso_enforced'
  /** The owner of the mailbox proved it while this person's email was unverified: the person is theirs now. */
  | 'email_claimed'
  /** The person's password was reset through a mailed link: every session ends. */
  | 'password_reset'
  /** An admin reset the person's 2FA: their sessions in that account end. */
  | 'two_factor_reset'
  /** The account's identity provider deactivated or deleted the member over SCIM (issue 16 §2). */
  | 'deprovisioned'
  /** A service account's API key was revoked or the service account deleted (issue 16 §3). */
  | 'key_revoked'
  | 'key_expired'
  | 'service_account_deleted';

export type PresenceResource = `member:${string}` | `role:${string}`;

export interface PresenceViewer {
  memberId: string;
  name: string | null;
  editing: boolean;
}

/** An event of the account room; `seq` is the activity entry written with the change. */
export type AccountEvent =
  | { event: 'user.upserted'; data: { seq: number; member: MemberDto } }
  | { event: 'user.removed'; data: { seq: number; id: string } }
  | { event: 'role.upserted'; data: { seq: number; role: RoleDto } }
  | { event: 'role.removed'; data: { seq: number; id: string } }
  | { event: 'roles.reordered'; data: { seq: number; roleIds: string[] } }
  | { event: 'account.updated'; data: { seq: number; account: AccountDto } }
  | { event: 'team.upserted'; data: { seq: number; team: TeamDto } }
  | { event: 'team.removed'; data: { seq: number; id: string } }
  | { event: 'users.bulk'; data: BulkEventData };

/**
 * One bulk action (issue 17 §2), in parts of at most `BULK_EVENT_PART` members: the members as they
 * now are (`removedIds` for cancelled invitations). Each part covers the activity entries
 * `fromSeq`..`seq` (one per member, consecutive), so a client that saw `fromSeq - 1` has no gap.
 * `total` is the size of the whole bulk (one toast per `bulkId`, not one per member or part).
 */
export interface BulkEventData {
  seq: number;
  fromSeq: number;
  bulkId: string;
  action: BulkAction;
  actor: { id: string | null; name: string | null };
  /** The role given (`role`), the team (`addTeam`/`removeTeam`), the new Talk access (`agentAccess`). */
  role?: { id: string; name: string };
  team?: { id: string; name: string };
  agentAccess?: boolean;
  total: number;
  members: MemberDto[];
  removedIds: string[];
}

/** Members per `users.bulk` event (a bulk of 5,000 is five events, and one toast). */
export const BULK_EVENT_PART = 1000;

/** What changed of the signed-in member (`me.updated`): the whole member record, or their role's name/icon. */
export type MeUpdate = { member: MemberDto } | { role: RoleRef };

export type AccountEventName = AccountEvent['event'];
export type AccountEventData<E extends AccountEventName> = Extract<AccountEvent, { event: E }>['data'];

export interface ServerToClientEvents {
  'me.permissions': (data: {
    version: number;
    roleId: string;
    keys: PermissionKey[];
    reason: PermissionChangeReason;
  }) => void;
  'me.revoked': (data: { reason: RevocationReason }) => void;
  /**
   * To every session of a member when what `GET /me` shows of them changed without (or before) a
   * permission change: their member record (role, agent access, teams, owner and billing marks), or
   * the name or icon of the role they hold. Sent to the member's own room, whatever their permissions
   * (the account room needs `users.view`), so every signed-in page shows the new role name at once.
   */
  'me.updated': (data: MeUpdate) => void;
  'user.upserted': (data: AccountEventData<'user.upserted'>) => void;
  'user.removed': (data: AccountEventData<'user.removed'>) => void;
  'role.upserted': (data: AccountEventData<'role.upserted'>) => void;
  'role.removed': (data: AccountEventData<'role.removed'>) => void;
  'roles.reordered': (data: AccountEventData<'roles.reordered'>) => void;
  'account.updated': (data: AccountEventData<'account.updated'>) => void;
  'team.upserted': (data: AccountEventData<'team.upserted'>) => void;
  'team.removed': (data: AccountEventData<'team.removed'>) => void;
  'users.bulk': (data: AccountEventData<'users.bulk'>) => void;
  'activity.appended': (data: { entry: ActivityEntryDto }) => void;
  presence: (data: { resource: PresenceResource; viewers: PresenceViewer[] }) => void;
}

export type LiveError = { code: ErrorCode; message: string };
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: LiveError };

export interface SyncResult {
  /** Missed account events, oldest first. */
  events: AccountEvent[];
  /** The newest seq of the account. */
  seq: number;
}

export interface ClientToServerEvents {
  'presence.enter': (
    data: { resource: PresenceResource; editing: boolean },
    ack: (reply: Ack<{ viewers: PresenceViewer[] }>) => void,
  ) => void;
  'presence.leave': (data: { resource: PresenceResource }, ack: (reply: Ack) => void) => void;
  'activity.subscribe': (data: { action?: string[]; member?: string }, ack: (reply: Ack) => void) => void;
  'activity.unsubscribe': (data: Record<string, never>, ack: (reply: Ack) => void) => void;
  /** The account events after `afterSeq`, or `{ resync: true }` when too far behind. */
  sync: (data: { afterSeq: number }, ack: (reply: Ack<SyncResult | { resync: true }>) => void) => void;
}

/**
 * Socket.IO `connect_error` messages are error codes. `SSO_REQUIRED`: the account enforces a provider
 * this session was not made with; `FORBIDDEN` with a 2FA-enrolment-only session too.
 */
export type HandshakeErrorCode = Extract<
  ErrorCode,
  'UNAUTHENTICATED' | 'SESSION_REVOKED' | 'FORBIDDEN' | 'SSO_REQUIRED'
>;
