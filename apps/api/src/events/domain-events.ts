import { Injectable } from '@nestjs/common';
import type {
  AccountEvent,
  BulkAction,
  MemberDto,
  PermissionChangeReason,
  RevocationReason,
  RoleDto,
} from '@rolecall/contracts';
import { EventEmitter } from 'node:events';
import type { AccountEntity } from '../database/entities/account.entity.js';
import type { ActivityEntity } from '../database/entities/activity.entity.js';
import type { RoleEntity } from '../database/entities/role.entity.js';
import type { PermissionRow } from '../database/permission-rows.js';
import type { ServiceAccountEntity } from '../database/entities/service-account.entity.js';
import { markCommitted } from '../common/observability/metrics.js';

/**
 * Typed domain events, published after their transaction commits. Services emit them through
 * `Tx.publish`; the live layer subscribes. Nothing here knows about sockets.
 */
export type DomainEvent =
  | { type: 'account.created'; accountId: string; seq: number }
  /**
   * Account settings, plan, validation, ownership or billing transfer. `permissionMemberIds`: members
   * whose effective permissions changed (their cached sets go).
   */
  | {
      type: 'account.changed';
      accountId: string;
      seq: number;
      permissionMemberIds: string[];
      reason: PermissionChangeReason | null;
      /**
       * What is pushed, as the change's transaction committed it (database/committed-events.ts):
       * `account.updated`, then the events of the members whose JSON changed (owner / billing-contact
       * marks); with a `reason`, the changed sets.
       */
      committed: { account: AccountUpdatedEvent; members: MemberEvent[]; permissions: CommittedPermissions | null };
    }
  /** A member was invited, changed, revoked, reactivated or accepted an invitation. */
  | {
      type: 'member.changed';
      accountId: string;
      memberId: string;
      seq: number;
      permissionsChanged: boolean;
      reason: PermissionChangeReason | null;
      /** The member as the change's own transaction left it (see CommittedMember): pushed as it is. */
      committed: CommittedMember;
    }
  /**
   * A bulk action (issue 17 §2), one event however many members (`memberIds`; for `cancel`, deleted).
   * The live layer sends its `users.bulk` parts to the account room and `me.permissions` to each
   * member's sessions.
   */
  | {
      type: 'members.bulk_changed';
      accountId: string;
      action: BulkAction;
      memberIds: string[];
      permissionsChanged: boolean;
      reason: PermissionChangeReason | null;
      /**
       * What is pushed, as the bulk's transaction committed it (built after its last write, as
       * `CommittedMember` is for one member): the `users.bulk` parts, and the changed sets.
       */
      committed: { parts: AccountEvent[]; permissions: CommittedPermissions | null };
    }
  /** An invitation was cancelled or a revoked member deleted. */
  | { type: 'member.removed'; accountId: string; memberId: string; personId: string | null; seq: number }
  /**
   * A custom role was created or edited. `role`: its JSON as committed; `renamed`: its name or icon
   * changed (its holders' `GET /me` shows them: `me.updated`); `serviceAccountIds`: the service
   * accounts holding the role, whose permission versions moved with it.
   */
  | {
      type: 'role.changed';
      accountId: string;
      roleId: string;
      seq: number;
      role: RoleDto;
      renamed: boolean;
      serviceAccountIds: string[];
      /**
       * As the edit's transaction committed it: `holderIds`, the active holders told `me.updated` when
       * `renamed` (else none); `permissions`, the active holders whose effective sets changed (a role
       * edit can reach thousands: pushed from these rows); `serviceAccounts`, the holding service
       * accounts' sets.
       */
      committed: {
        holderIds: string[];
        permissions: CommittedPermissions | null;
        serviceAccounts: CommittedServiceAccounts | null;
      };
    }
  /** A custom role was deleted; its holders (`movedMemberIds`) moved to another role. */
  | {
      type: 'role.removed';
      accountId: string;
      roleId: string;
      seq: number;
      movedMemberIds: string[];
      /** Service accounts holding the role: left with no permissions (deny by default), versions moved. */
      serviceAccountIds: string[];
      /**
       * As the deletion's transaction committed it: the moved members' events, the changed sets of
       * those whose permissions changed, and the service accounts' (empty) sets.
       */
      committed: {
        members: MemberEvent[];
        permissions: CommittedPermissions | null;
        serviceAccounts: CommittedServiceAccounts | null;
      };
    }
  | { type: 'roles.reordered'; accountId: string; roleIds: string[]; seq: number }
  /** `committed`: the team's `team.upserted` (or `team.removed`) as the change's transaction committed it. */
  | { type: 'team.changed'; accountId: string; teamId: string; seq: number; committed: TeamEvent }
  | { type: 'team.removed'; accountId: string; teamId: string; seq: number; committed: TeamEvent }
  | { type: 'session.signed_in'; accountId: string; personId: string; sessionId: string; seq: number }
  /** Sessions ended; each gets `me.revoked` with the reason and is disconnected. */
  | {
      type: 'sessions.revoked';
      accountId: string | null;
      sessionIds: string[];
      reason: RevocationReason;
      seq: number | null;
    }
  /**
   * A person-level change shown in the member JSON (2FA on or off, an email claimed), logged in one
   * account. `committed`: the person's member event there as the change's transaction committed it
   * (null when they hold no member there).
   */
  | { type: 'person.updated'; personId: string; accountId: string; seq: number; committed: MemberEvent | null }
  /** Every activity entry, after its transaction commits. */
  | { type: 'activity.appended'; entry: ActivityEntity };

/** A member's account event: `user.upserted`, or `user.removed` when the member is gone. */
export type MemberEvent = Extract<AccountEvent, { event: 'user.upserted' | 'user.removed' }>;
/** A team's account event: `team.upserted`, or `team.removed` when the team is gone. */
export type TeamEvent = Extract<AccountEvent, { event: 'team.upserted' | 'team.removed' }>;
export type AccountUpdatedEvent = Extract<AccountEvent, { event: 'account.updated' }>;

export type DomainEventType = DomainEvent['type'];
export type DomainEventOf<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;

/**
 * A member as its change's transaction left it, read inside that transaction after the last write
 * (issue 18 (a)): the live layer pushes it as it is instead of reading the member again after the
 * COMMIT — seven statements one after the other on the way to every session and dashboard. What it
 * holds is what the transaction committed: its writes, and the rows it read, which a concurrent
 * change of the same member could not alter (the member's row is written, so locked, first); a
 * later change sends its own event, with a higher seq. `permissions` is there when the effective
 * set changed: the member's row, its role and the account to resolve them against.
 */
export interface CommittedMember {
  member: MemberDto;
  permissions: CommittedPermissions | null;
}

/**
 * Changed effective sets as their transaction committed them: the members' permission rows, the
 * roles they hold and the account (its billing contact), all the live layer needs to resolve and push
 * `me.permissions` without a read after the COMMIT. One member's change or a bulk action's.
 */
export interface CommittedPermissions {
  rows: PermissionRow[];
  roles: Pick<RoleEntity, 'id' | 'permissions'>[];
  account: Pick<AccountEntity, 'id' | 'billingContactMemberId'>;
}

/**
 * Service accounts' sets as their transaction committed them (a role edit or deletion, a service
 * account's role change): the service accounts, the roles they hold (none for a deleted role: no
 * permissions) and the account, for their keys' `me.permissions` without a read after the COMMIT.
 */
export interface CommittedServiceAccounts {
  holders: ServiceAccountEntity[];
  roles: Pick<RoleEntity, 'id' | 'permissions'>[];
  account: Pick<AccountEntity, 'id' | 'billingContactMemberId'>;
}

/**
 * `member.changed` for the activity entry `seq` about one member, carrying the member as the change's
 * transaction committed it (`committedMember`, after the change's last write of the member). With a
 * `reason`, the member's effective permissions changed too (their sessions get a new
 * `me.permissions`; `committed.permissions` holds what to resolve them from); without one, only the
 * member JSON did (status, invitation, sign-in method, 2FA, name).
 */
export function memberChanged(
  accountId: string,
  seq: number,
  committed: CommittedMember,
  reason: PermissionChangeReason | null = null,
): DomainEventOf<'member.changed'> {
  return {
    type: 'member.changed',
    accountId,
    memberId: committed.member.id,
    seq,
    permissionsChanged: reason !== null,
    reason,
    committed,
  };
}

/** `member.removed` for the activity entry `seq` that deleted the member (an invitation cancelled, a member deleted). */
export function memberRemoved(
  accountId: string,
  member: { id: string; personId: string | null },
  seq: number,
): DomainEventOf<'member.removed'> {
  return { type: 'member.removed', accountId, memberId: member.id, personId: member.personId, seq };
}

/** `session.signed_in` for the activity entry `seq` of a sign-in (by password or through a provider). */
export function sessionSignedIn(
  accountId: string,
  personId: string,
  sessionId: string,
  seq: number,
): DomainEventOf<'session.signed_in'> {
  return { type: 'session.signed_in', accountId, personId, sessionId, seq };
}

/**
 * `sessions.revoked` for sessions a change ended: the live layer disconnects their sockets. `accountId`
 * and `seq` are those of the activity entry that ended them (null for a person-level change logged in
 * no one account, e.g. a password reset).
 */
export function sessionsRevoked(
  accountId: string | null,
  sessionIds: string[],
  reason: RevocationReason,
  seq: number | null,
): DomainEventOf<'sessions.revoked'> {
  return { type: 'sessions.revoked', accountId, sessionIds, reason, seq };
}

@Injectable()
export class DomainEventBus {
  private readonly emitter = new EventEmitter({ captureRejections: true });

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  publish(event: DomainEvent): void {
    // Published right after COMMIT: the start of the push latency (commit → emit).
    markCommitted(event);
    this.emitter.emit(event.type, event);
    this.emitter.emit('*', event);
  }

  on<T extends DomainEventType>(type: T, listener: (event: DomainEventOf<T>) => void): () => void {
    const wrapped = listener as (event: DomainEvent) => void;
    this.emitter.on(type, wrapped);
    return () => this.emitter.off(type, wrapped);
  }

  onAny(listener: (event: DomainEvent) => void): () => void {
    this.emitter.on('*', listener);
    return () => this.emitter.off('*', listener);
  }
}
