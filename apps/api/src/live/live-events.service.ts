import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { AccountEvent, PermissionChangeReason, PermissionKey } from '@rolecall/contracts';
import type { AccountEntity } from '../database/entities/account.entity.js';
import { toActivityDto } from '../database/activity.service.js';
import type { ActivityEntity } from '../database/entities/activity.entity.js';
import {
  DomainEventBus,
  type CommittedPermissions,
  type CommittedServiceAccounts,
  type DomainEvent,
  type DomainEventOf,
} from '../events/domain-events.js';
import type { PermissionRow } from '../database/permission-rows.js';
import { PermissionsService, type ResolvedPermissions } from '../database/permissions.service.js';
import type { RoleEntity } from '../database/entities/role.entity.js';
import { ServiceAccountPermissions } from '../database/service-account-permissions.js';
import { LiveGateway } from './live.gateway.js';
import { isActivityRoom, Rooms } from './live.types.js';
import { CROSS_NODE_TIMEOUT_MS, withTimeout } from '../infra/redis-bridge.js';
import { observePush } from '../common/observability/metrics.js';
import { logFailure } from '../common/observability/outage-log.js';

/**
 * Turns committed domain events into the client events of SPEC §6: `me.permissions` to every
 * session of a member whose effective permissions changed, `me.revoked` and a disconnect for
 * ended sessions, account events with their `seq` to the account room, `activity.appended` to
 * activity subscribers. Room membership follows permission changes (`users.view`, `activity.view`).
 * Events of one account go out in commit order. Every event carries what is pushed as its
 * transaction committed it (database/committed-member.ts, committed-events.ts): nothing is read
 * here after a COMMIT (issue 18 (a)), so a later change is never pushed under an earlier seq.
 */
@Injectable()
export class LiveEvents implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(LiveEvents.name);
  private unsubscribe: (() => void) | null = null;
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    @Inject(DomainEventBus) private readonly bus: DomainEventBus,
    @Inject(LiveGateway) private readonly gateway: LiveGateway,
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
    @Inject(ServiceAccountPermissions) private readonly serviceAccountPermissions: ServiceAccountPermissions,
  ) {}

  private unsubscribeServiceAccounts: (() => void) | null = null;

  onModuleInit(): void {
    this.unsubscribe = this.bus.onAny((event) => this.enqueue(event));
    // A service account's role changed (issue 16 §3): `me.permissions` to its keys' sockets, in the account's order.
    this.unsubscribeServiceAccounts = this.serviceAccountPermissions.onRoleChanged((accountId, committed) =>
      this.enqueueWork(accountId, 'service_account.role', async () =>
        this.pushServiceAccounts(accountId, committed, 'role_changed'),
      ),
    );
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.unsubscribeServiceAccounts?.();
  }

  /** Settles when every queued event has gone out (tests and benchmarks wait on it). */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  private enqueue(event: DomainEvent): void {
    const key =
      'accountId' in event && event.accountId
        ? event.accountId
        : event.type === 'activity.appended'
          ? event.entry.accountId
          : 'global';
    this.enqueueWork(key, event.type, async () => {
      await this.deliver(event);
      // Commit → emit: rolecall_live_push_latency_seconds.
      observePush(event);
    });
  }

  private enqueueWork(key: string, what: string, work: () => Promise<void>): void {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous
      .then(work)
      // A database outage is an outage line (no stack, one per interval); anything else with its stack.
      .catch((error: unknown) => logFailure(this.logger, `Live delivery of ${what}`, error))
      .finally(() => {
        if (this.queues.get(key) === next) this.queues.delete(key);
      });
    this.queues.set(key, next);
  }

  private get server() {
    return this.gateway.server;
  }

  private toAccount(accountId: string, event: AccountEvent): void {
    (this.server.to(Rooms.account(accountId)).emit as (name: string, data: unknown) => boolean)(
      event.event,
      event.data,
    );
  }

  /** A member's change: to the account room, and (`me.updated`) to the member's own sessions. */
  private toMemberAndAccount(accountId: string, event: AccountEvent): void {
    this.toAccount(accountId, event);
    // Only to a member who is signed in and stays: a revoked one is told `me.revoked` next.
    if (event.event === 'user.upserted' && event.data.member.status === 'active')
      this.server.to(Rooms.member(event.data.member.id)).emit('me.updated', { member: event.data.member });
  }

  /** A role's new name or icon to the sessions of its active holders (`me.updated`), one broadcast. */
  private toRoleHolders(role: DomainEventOf<'role.changed'>['role'], holderIds: readonly string[]): void {
    if (holderIds.length === 0) return;
    this.server
      .to(holderIds.map((id) => Rooms.member(id)))
      .emit('me.updated', { role: { id: role.id, name: role.name, icon: role.icon } });
  }

  private async deliver(event: DomainEvent): Promise<void> {
    if (!this.server) return;
    switch (event.type) {
      case 'member.changed':
        return this.pushCommitted(event);
      case 'members.bulk_changed':
        return this.pushBulk(event);
      case 'member.removed':
        this.toAccount(event.accountId, { event: 'user.removed', data: { seq: event.seq, id: event.memberId } });
        this.server.in(Rooms.member(event.memberId)).emit('me.revoked', { reason: 'member_deleted' });
        this.server.in(Rooms.member(event.memberId)).disconnectSockets(true);
        return;
      case 'account.changed':
        this.toAccount(event.accountId, event.committed.account);
        for (const pushed of event.committed.members) this.toMemberAndAccount(event.accountId, pushed);
        if (event.reason && event.committed.permissions)
          await this.pushCommittedPermissions(event.accountId, event.committed.permissions, event.reason);
        return;
      case 'role.changed':
        this.toAccount(event.accountId, { event: 'role.upserted', data: { seq: event.seq, role: event.role } });
        if (event.renamed) this.toRoleHolders(event.role, event.committed.holderIds);
        if (event.committed.permissions)
          await this.pushCommittedPermissions(event.accountId, event.committed.permissions, 'role_edited');
        // Service accounts holding the role (issue 16 §3; their versions moved in the edit): their keys' sockets are told.
        this.pushServiceAccounts(event.accountId, event.committed.serviceAccounts, 'role_edited');
        return;
      case 'role.removed':
        // Service accounts holding the deleted role keep no permissions (deny by default): tell their sockets.
        this.pushServiceAccounts(event.accountId, event.committed.serviceAccounts, 'role_deleted');
        this.toAccount(event.accountId, { event: 'role.removed', data: { seq: event.seq, id: event.roleId } });
        for (const pushed of event.committed.members) this.toMemberAndAccount(event.accountId, pushed);
        if (event.committed.permissions)
          await this.pushCommittedPermissions(event.accountId, event.committed.permissions, 'role_deleted');
        return;
      case 'roles.reordered':
        this.toAccount(event.accountId, { event: 'roles.reordered', data: { seq: event.seq, roleIds: event.roleIds } });
        return;
      case 'team.changed':
      case 'team.removed':
        this.toAccount(event.accountId, event.committed);
        return;
      case 'person.updated':
        if (event.committed) this.toAccount(event.accountId, event.committed);
        return;
      case 'sessions.revoked':
        for (const sessionId of event.sessionIds) {
          this.server.to(Rooms.session(sessionId)).emit('me.revoked', { reason: event.reason });
          this.server.in(Rooms.session(sessionId)).disconnectSockets(true);
        }
        return;
      case 'activity.appended':
        this.appendActivity(event.entry);
        return;
      case 'account.created':
      case 'session.signed_in':
        return;
    }
  }

  /**
   * `me.permissions` to the sockets of service accounts' keys (member room = the service account's
   * id), as committed: after a role change of theirs, or an edit or deletion of the role they hold.
   */
  private pushServiceAccounts(
    accountId: string,
    committed: CommittedServiceAccounts | null,
    reason: PermissionChangeReason,
  ): void {
    if (!this.server || !committed) return;
    const { holders, account } = committed;
    const roles = new Map(committed.roles.map((role) => [role.id, role]));
    const accountRoom = Rooms.account(accountId);
    for (const holder of holders) {
      const resolved = this.serviceAccountPermissions.resolve(holder, account, roles.get(holder.roleId) ?? null);
      const room = Rooms.member(holder.id);
      this.sendPermissions(room, holder, resolved, reason);
      if (resolved.set.has('users.view')) this.server.in(room).socketsJoin(accountRoom);
      else this.server.in(room).socketsLeave(accountRoom);
    }
  }

  /**
   * `me.permissions` to the sessions in `rooms` (of members or service accounts) whose permission set
   * changed: the new version, role and keys, and why — the same message for every room given.
   */
  private sendPermissions(
    rooms: string | string[],
    holder: { permissionsVersion: number; roleId: string },
    resolved: ResolvedPermissions,
    reason: PermissionChangeReason,
  ): void {
    this.server.to(rooms).emit('me.permissions', {
      version: holder.permissionsVersion,
      roleId: holder.roleId,
      keys: resolved.keys as PermissionKey[],
      reason,
    });
  }

  /**
   * A member change, handed over as its transaction committed it (`CommittedMember`): `user.upserted`,
   * `me.updated`, then `me.permissions`, with nothing read after the COMMIT (issue 18 (a)) — so a later
   * change of the member, committed before such a read would have run, is never pushed under this
   * change's seq and reason.
   */
  private async pushCommitted(event: DomainEventOf<'member.changed'>): Promise<void> {
    const { committed } = event;
    this.toMemberAndAccount(event.accountId, {
      event: 'user.upserted',
      data: { seq: event.seq, member: committed.member },
    });
    if (event.reason && committed.permissions)
      await this.pushCommittedPermissions(event.accountId, committed.permissions, event.reason);
  }

  /**
   * A bulk action, as its transaction committed it: one `users.bulk` per part to the account room
   * (not one event per member), `me.updated` and `me.permissions` to each member's own sessions, with
   * nothing read after the COMMIT — a later change of one of its members is never pushed as the bulk's.
   */
  private async pushBulk(event: DomainEventOf<'members.bulk_changed'>): Promise<void> {
    const { parts, permissions } = event.committed;
    for (const part of parts) {
      this.toAccount(event.accountId, part);
      if (part.event !== 'users.bulk') continue;
      for (const member of part.data.members)
        if (member.status === 'active') this.server.to(Rooms.member(member.id)).emit('me.updated', { member });
    }
    if (event.reason && permissions) await this.pushCommittedPermissions(event.accountId, permissions, event.reason);
  }

  /** `me.permissions` from sets as committed (`CommittedPermissions`), to the active members' sessions. */
  private async pushCommittedPermissions(
    accountId: string,
    { rows, roles, account }: CommittedPermissions,
    reason: PermissionChangeReason,
  ): Promise<void> {
    const active = rows.filter((row) => row.status === 'active');
    if (active.length === 0) return;
    const lostActivity = this.sendPermissionSets(
      account,
      active,
      new Map(roles.map((role) => [role.id, role])),
      reason,
    );
    if (lostActivity.size) await this.dropActivitySubscriptions(accountId, lostActivity);
  }

  /**
   * `me.permissions` to every session of each active member, and their rooms follow the new set.
   * Batched: one effective set per shape, one emit per distinct message, one room operation per
   * direction. Returns the members without `activity.view`, for `dropActivitySubscriptions` (one look
   * at the account's activity subscribers, not one `fetchSockets` per member).
   */
  private sendPermissionSets(
    account: Pick<AccountEntity, 'id' | 'billingContactMemberId'>,
    active: PermissionRow[],
    roles: ReadonlyMap<string, Pick<RoleEntity, 'id' | 'permissions'>>,
    reason: PermissionChangeReason,
  ): ReadonlySet<string> {
    const accountRoom = Rooms.account(account.id);
    const viewers: string[] = [];
    const others: string[] = [];
    const lostActivity = new Set<string>();
    // Members of one role with the same agent access and billing mark share one effective set; those
    // of them at the same version get the very same message, so it goes out once to all their rooms:
    // a role edit's 5,000 holders are one adapter message (one encoding, one Redis publish, decoded
    // once per node) instead of 5,000 (issue 18 (b)). Each member's sessions still get exactly one.
    const sets = new Map<string, ResolvedPermissions>();
    const messages = new Map<string, { rooms: string[]; holder: PermissionRow; resolved: ResolvedPermissions }>();
    for (const member of active) {
      const role = roles.get(member.roleId);
      if (!role) continue;
      const shape = `${member.roleId}|${member.agentAccess}|${account.billingContactMemberId === member.id}`;
      let resolved = sets.get(shape);
      if (!resolved) sets.set(shape, (resolved = this.permissions.compute(member, account, role)));
      const room = Rooms.member(member.id);
      const key = `${shape}|${member.permissionsVersion}`;
      let message = messages.get(key);
      if (!message) messages.set(key, (message = { rooms: [], holder: member, resolved }));
      message.rooms.push(room);
      (resolved.set.has('users.view') ? viewers : others).push(room);
      if (!resolved.set.has('activity.view')) lostActivity.add(member.id);
    }
    for (const { rooms, holder, resolved } of messages.values()) this.sendPermissions(rooms, holder, resolved, reason);
    if (viewers.length) this.server.in(viewers).socketsJoin(accountRoom);
    if (others.length) this.server.in(others).socketsLeave(accountRoom);
    return lostActivity;
  }

  /**
   * Members who lost `activity.view` leave the activity rooms on every node. Asking the other nodes
   * goes through Redis: when it fails, this node's channel is down (its sockets are being made to
   * reconnect, and a handshake joins no activity room) or the nodes that did not answer will be
   * told of the gap when theirs returns; either way the failure is one warning, not a crash.
   */
  private async dropActivitySubscriptions(accountId: string, memberIds: ReadonlySet<string>): Promise<void> {
    let sockets;
    try {
      sockets = await withTimeout(
        this.server.in(Rooms.activitySubscribers(accountId)).fetchSockets(),
        CROSS_NODE_TIMEOUT_MS,
        'The other nodes',
      );
    } catch (error) {
      this.logger.warn(
        `Activity subscriptions not updated across nodes: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    for (const socket of sockets) {
      if (!memberIds.has(socket.data.memberId)) continue;
      for (const activityRoom of [...socket.rooms].filter(isActivityRoom)) socket.leave(activityRoom);
    }
  }

  /** To the subscribers of everything, of the entry's action, of its member, and of both. */
  private appendActivity(entry: ActivityEntity): void {
    const member = entry.targetType === 'member' ? entry.targetId : null;
    const rooms = [Rooms.activity(entry.accountId), Rooms.activity(entry.accountId, { action: entry.action })];
    if (member)
      rooms.push(
        Rooms.activity(entry.accountId, { member }),
        Rooms.activity(entry.accountId, { member, action: entry.action }),
      );
    this.server.to(rooms).emit('activity.appended', { entry: toActivityDto(entry) });
  }
}
