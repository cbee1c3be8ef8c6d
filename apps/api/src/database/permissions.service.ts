import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { systemRoleById, type PermissionKey } from '@rolecall/contracts';
import { effectivePermissions } from '@rolecall/domain';
import type { AccountEntity } from './entities/account.entity.js';
import { Database } from './database.service.js';
import { DomainEventBus, type DomainEvent } from '../events/domain-events.js';
import type { MemberEntity } from './entities/member.entity.js';
import { RoleEntity } from './entities/role.entity.js';

export interface ResolvedPermissions {
  readonly version: number;
  readonly keys: readonly PermissionKey[];
  readonly set: ReadonlySet<PermissionKey>;
}

/** Members whose cached permission set a committed event makes stale. */
export function membersToInvalidate(event: DomainEvent): string[] {
  switch (event.type) {
    case 'member.changed':
      return event.permissionsChanged ? [event.memberId] : [];
    case 'member.removed':
      return [event.memberId];
    case 'members.bulk_changed':
      return event.permissionsChanged || event.action === 'cancel' ? event.memberIds : [];
    case 'account.changed':
      return event.permissionMemberIds;
    case 'role.changed':
      return [...(event.committed.permissions?.rows.map((member) => member.id) ?? []), ...event.serviceAccountIds];
    case 'role.removed':
      return [...event.movedMemberIds, ...event.serviceAccountIds];
    default:
      return [];
  }
}

/**
 * Effective permissions of members (libs/domain computes them), cached in memory per member and
 * keyed by the member's `permissionsVersion`. Every change to a member's set bumps that version in
 * the same transaction, so a cached entry can never be used for a newer version; `invalidate`
 * also drops entries at commit so memory follows the data.
 */
@Injectable()
export class PermissionsService implements OnModuleDestroy {
  private readonly cache = new Map<string, ResolvedPermissions>();
  private readonly invalidationListeners = new Set<(memberIds: readonly string[]) => void>();
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(DomainEventBus) events: DomainEventBus,
  ) {
    // Runs synchronously after commit, before the response is sent.
    this.unsubscribe = events.onAny((event) => this.invalidate(membersToInvalidate(event)));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /**
   * Cached lookup; when the member's version moved on, computed from `role` (the member's role read
   * with the member, as `SessionsService.authenticate` does) or, without it, the role read now.
   */
  async resolve(
    member: Pick<MemberEntity, 'id' | 'roleId' | 'status' | 'agentAccess' | 'permissionsVersion'>,
    account: Pick<AccountEntity, 'billingContactMemberId'>,
    role?: Pick<RoleEntity, 'id' | 'permissions'> | null,
  ): Promise<ResolvedPermissions> {
    const cached = this.cache.get(member.id);
    if (cached && cached.version === member.permissionsVersion) return cached;
    const current =
      role?.id === member.roleId
        ? role
        : await this.db.read((m) => m.getRepository(RoleEntity).findOneByOrFail({ id: member.roleId }));
    const resolved = this.compute(member, account, current);
    this.cache.set(member.id, resolved);
    return resolved;
  }

  compute(
    member: Pick<MemberEntity, 'id' | 'status' | 'agentAccess' | 'permissionsVersion'>,
    account: Pick<AccountEntity, 'billingContactMemberId'>,
    role: Pick<RoleEntity, 'id' | 'permissions'>,
  ): ResolvedPermissions {
    const keys = effectivePermissions(
      {
        status: member.status,
        agentAccess: member.agentAccess,
        isBillingContact: account.billingContactMemberId === member.id,
      },
      rolePermissions(role),
    );
    return { version: member.permissionsVersion, keys, set: new Set(keys) };
  }

  /** Drops the members' entries: at commit on this node, and from other nodes through Redis (RedisBridge). */
  invalidate(memberIds: Iterable<string>): void {
    const ids = [...memberIds];
    for (const id of ids) this.cache.delete(id);
    if (ids.length) for (const listener of this.invalidationListeners) listener(ids);
  }

  /**
   * Called with every invalidation, local or from another node, synchronously: the live layer drops
   * the permission state it caches on those members' sockets. Returns the unsubscribe function.
   */
  onInvalidate(listener: (memberIds: readonly string[]) => void): () => void {
    this.invalidationListeners.add(listener);
    return () => this.invalidationListeners.delete(listener);
  }

  clear(): void {
    this.cache.clear();
  }
}

/** The permission keys a role grants: system roles from the catalogue, custom roles as stored. */
export function rolePermissions(role: Pick<RoleEntity, 'id' | 'permissions'>): readonly PermissionKey[] {
  return systemRoleById(role.id)?.permissions ?? role.permissions;
}
