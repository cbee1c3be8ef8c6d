import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { AccountEvent, PermissionChangeReason } from '@rolecall/contracts';
import type { EntityManager } from 'typeorm';
import { AccountEntity } from '../accounts/account.entity.js';
import { toActivityDto } from '../activity/activity.service.js';
import type { ActivityEntity } from '../activity/activity.entity.js';
import { Database } from '../database/database.service.js';
import { DomainEventBus, type DomainEvent } from '../events/domain-events.js';
import { MemberEntity } from '../members/member.entity.js';
import { PermissionsService } from '../permissions/permissions.service.js';
import { RoleEntity } from '../roles/role.entity.js';
import { LiveSync } from './live-sync.service.js';
import { LiveGateway } from './live.gateway.js';
import { isActivityRoom, Rooms } from './live.types.js';

/**
 * Turns committed domain events into the client events of SPEC §6: `me.permissions` to every
 * session of a member whose effective permissions changed, `me.revoked` and a disconnect for
 * ended sessions, account events with their `seq` to the account room, `activity.appended` to
 * activity subscribers. Room membership follows permission changes (`users.view`, `activity.view`).
 * Events of one account go out in commit order.
 */
@Injectable()
export class LiveEvents implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(LiveEvents.name);
  private unsubscribe: (() => void) | null = null;
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    @Inject(DomainEventBus) private readonly bus: DomainEventBus,
    @Inject(Database) private readonly db: Database,
    @Inject(LiveGateway) private readonly gateway: LiveGateway,
    @Inject(LiveSync) private readonly sync: LiveSync,
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.bus.onAny((event) => this.enqueue(event));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /** Settles when every queued event has gone out (tests and benchmarks wait on it). */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  private enqueue(event: DomainEvent): void {
    const key = 'accountId' in event && event.accountId ? event.accountId : event.type === 'activity.appended' ? event.entry.accountId : 'global';
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.deliver(event))
      .catch((error: unknown) => this.logger.error(`Live delivery of ${event.type} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`))
      .finally(() => {
        if (this.queues.get(key) === next) this.queues.delete(key);
      });
    this.queues.set(key, next);
  }

  private get server() {
    return this.gateway.server;
  }

  private toAccount(accountId: string, event: AccountEvent): void {
    (this.server.to(Rooms.account(accountId)).emit as (name: string, data: unknown) => boolean)(event.event, event.data);
  }

  private async deliver(event: DomainEvent): Promise<void> {
    if (!this.server) return;
    switch (event.type) {
      case 'member.changed':
        return this.db.read(async (m) => {
          const account = await m.getRepository(AccountEntity).findOneByOrFail({ id: event.accountId });
          this.toAccount(event.accountId, await this.sync.memberEvent(m, account, event.memberId, event.seq));
          if (event.permissionsChanged && event.reason) await this.pushPermissions(m, account, [event.memberId], event.reason);
        });
      case 'member.removed':
        this.toAccount(event.accountId, { event: 'user.removed', data: { seq: event.seq, id: event.memberId } });
        this.server.in(Rooms.member(event.memberId)).emit('me.revoked', { reason: 'member_deleted' });
        this.server.in(Rooms.member(event.memberId)).disconnectSockets(true);
        return;
      case 'account.changed':
        return this.db.read(async (m) => {
          const account = await m.getRepository(AccountEntity).findOneByOrFail({ id: event.accountId });
          this.toAccount(event.accountId, await this.sync.accountEvent(m, event.accountId, event.seq));
          for (const memberId of event.memberIds) this.toAccount(event.accountId, await this.sync.memberEvent(m, account, memberId, event.seq));
          if (event.reason && event.permissionMemberIds.length) await this.pushPermissions(m, account, event.permissionMemberIds, event.reason);
        });
      case 'role.changed':
        return this.db.read(async (m) => {
          this.toAccount(event.accountId, await this.sync.roleEvent(m, event.accountId, event.roleId, event.seq));
          if (event.memberIds.length) await this.pushPermissions(m, await this.account(m, event.accountId), event.memberIds, 'role_edited');
        });
      case 'role.removed':
        return this.db.read(async (m) => {
          const account = await this.account(m, event.accountId);
          this.toAccount(event.accountId, { event: 'role.removed', data: { seq: event.seq, id: event.roleId } });
          for (const memberId of event.movedMemberIds) this.toAccount(event.accountId, await this.sync.memberEvent(m, account, memberId, event.seq));
          if (event.memberIds.length) await this.pushPermissions(m, account, event.memberIds, 'role_deleted');
        });
      case 'roles.reordered':
        this.toAccount(event.accountId, { event: 'roles.reordered', data: { seq: event.seq, roleIds: event.roleIds } });
        return;
      case 'team.changed':
      case 'team.removed':
        return this.db.read(async (m) => this.toAccount(event.accountId, await this.sync.teamEvent(m, event.accountId, event.teamId, event.seq)));
      case 'person.updated':
        return this.db.read(async (m) => {
          const member = await m.getRepository(MemberEntity).findOneBy({ personId: event.personId, accountId: event.accountId });
          if (member) this.toAccount(event.accountId, await this.sync.memberEvent(m, await this.account(m, event.accountId), member.id, event.seq));
        });
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

  private account(manager: EntityManager, accountId: string): Promise<AccountEntity> {
    return manager.getRepository(AccountEntity).findOneByOrFail({ id: accountId });
  }

  /** `me.permissions` to every session of each member, and their rooms follow the new set. */
  private async pushPermissions(manager: EntityManager, account: AccountEntity, memberIds: string[], reason: PermissionChangeReason): Promise<void> {
    for (const memberId of new Set(memberIds)) {
      const member = await manager.getRepository(MemberEntity).findOneBy({ id: memberId, accountId: account.id });
      if (!member || member.status !== 'active') continue;
      const role = await manager.getRepository(RoleEntity).findOneByOrFail({ id: member.roleId });
      const resolved = this.permissions.compute(member, account, role);
      const room = this.server.in(Rooms.member(memberId));
      this.server.to(Rooms.member(memberId)).emit('me.permissions', { version: resolved.version, roleId: member.roleId, keys: [...resolved.keys], reason });
      if (resolved.set.has('users.view')) room.socketsJoin(Rooms.account(account.id));
      else room.socketsLeave(Rooms.account(account.id));
      if (!resolved.set.has('activity.view')) {
        for (const socket of await room.fetchSockets()) {
          for (const activityRoom of [...socket.rooms].filter(isActivityRoom)) socket.leave(activityRoom);
        }
      }
    }
  }

  /** To the subscribers of everything, of the entry's action, of its member, and of both. */
  private appendActivity(entry: ActivityEntity): void {
    const member = entry.targetType === 'member' ? entry.targetId : null;
    const rooms = [Rooms.activity(entry.accountId), Rooms.activity(entry.accountId, { action: entry.action })];
    if (member) rooms.push(Rooms.activity(entry.accountId, { member }), Rooms.activity(entry.accountId, { member, action: entry.action }));
    this.server.to(rooms).emit('activity.appended', { entry: toActivityDto(entry) });
  }
}
