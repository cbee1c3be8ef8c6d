import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AccountEntity } from './entities/account.entity.js';
import type { RequestAuth } from './request-auth.js';
import { Clock } from '../common/clock.js';
import { DomainError, forbidden } from '../common/domain-error.js';
import type { Tx } from './database.service.js';
import { searchNameOf, type MemberEntity } from './entities/member.entity.js';
import { PermissionsService, type ResolvedPermissions } from './permissions.service.js';
import { RoleEntity } from './entities/role.entity.js';
import { ServiceAccountEntity, ServiceAccountKeyEntity } from './entities/service-account.entity.js';
import type { CommittedServiceAccounts } from '../events/domain-events.js';

/** The service account as the permission code sees a member: active, no agent access, never owner or billing contact. */
export function memberShape(serviceAccount: ServiceAccountEntity): MemberEntity {
  return {
    id: serviceAccount.id,
    accountId: serviceAccount.accountId,
    personId: null,
    email: '',
    name: serviceAccount.name,
    sortName: serviceAccount.name.toLowerCase(),
    searchName: searchNameOf(serviceAccount.name),
    lastActiveSort: '',
    status: 'active',
    roleId: serviceAccount.roleId,
    agentAccess: false,
    invitedByMemberId: null,
    invitedAt: null,
    joinedAt: null,
    lastActiveAt: null,
    permissionsVersion: serviceAccount.permissionsVersion,
    version: serviceAccount.version,
    externalId: null,
    scimProvisioned: false,
    createdAt: serviceAccount.createdAt,
  };
}

/**
 * Inside a role edit's or deletion's transaction (roles.service): the permission version of every
 * service account holding the role moves with it, so a key's cached set is never used for the new
 * role (SPEC §6: the very next request), on every node; answers their ids for the domain event.
 */
export async function bumpServiceAccountRoleHolders(
  manager: EntityManager,
  accountId: string,
  roleId: string,
): Promise<string[]> {
  const holders = await manager
    .getRepository(ServiceAccountEntity)
    .find({ select: { id: true }, where: { accountId, roleId } });
  if (holders.length === 0) return [];
  await manager
    .createQueryBuilder()
    .update(ServiceAccountEntity)
    .set({ permissionsVersion: () => 'permissions_version + 1' })
    .where('account_id = :accountId AND role_id = :roleId', { accountId, roleId })
    .execute();
  return holders.map((holder) => holder.id);
}

/**
 * A service account's permissions: exactly its role's (talk.* never: no agent access), computed by
 * the same code as members'; none when its custom role was deleted (deny by default).
 */
@Injectable()
export class ServiceAccountPermissions {
  private readonly listeners = new Set<(accountId: string, committed: CommittedServiceAccounts) => void>();

  constructor(
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  resolve(
    serviceAccount: ServiceAccountEntity,
    account: Pick<AccountEntity, 'billingContactMemberId'>,
    role: Pick<RoleEntity, 'id' | 'permissions'> | null,
  ): ResolvedPermissions {
    if (!role) return { version: serviceAccount.permissionsVersion, keys: [], set: new Set() };
    return this.permissions.compute(memberShape(serviceAccount), account, role);
  }

  /**
   * Called after commit when service accounts changed role, with their sets as the change committed
   * them (the live layer pushes `me.permissions` from these, reading nothing).
   */
  onRoleChanged(listener: (accountId: string, committed: CommittedServiceAccounts) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** After the commit of a service account's role change (service-accounts.service). */
  roleChanged(accountId: string, committed: CommittedServiceAccounts): void {
    for (const listener of this.listeners) listener(accountId, committed);
  }

  /**
   * Under the account lock (AccountMutations): the key must still be usable and the route still
   * allowed by the service account's role as committed now.
   */
  async recheck(tx: Tx, account: AccountEntity, auth: RequestAuth): Promise<void> {
    const self = auth.serviceAccount!;
    const key = await tx.manager.getRepository(ServiceAccountKeyEntity).findOneBy({ id: self.keyId });
    const serviceAccount = await tx.manager.getRepository(ServiceAccountEntity).findOneBy({ id: self.id });
    if (!key || !serviceAccount || key.revokedAt) {
      throw new DomainError('SESSION_REVOKED', 'This API key was revoked', { reason: 'key_revoked' });
    }
    if (key.expiresAt && this.clock.now().toISOString() >= key.expiresAt) {
      throw new DomainError('UNAUTHENTICATED', 'This API key has expired', { reason: 'expired' });
    }
    if (auth.required) {
      const role = await tx.manager.getRepository(RoleEntity).findOneBy({ id: serviceAccount.roleId });
      const now = this.resolve(serviceAccount, account, role);
      if (!auth.required.some((k) => now.set.has(k))) throw forbidden();
    }
  }
}
