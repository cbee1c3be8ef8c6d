import { Inject, Injectable } from '@nestjs/common';
import type { AccountEntity } from './entities/account.entity.js';
import type { RequestAuth } from './request-auth.js';
import { Clock } from '../common/clock.js';
import { DomainError, forbidden } from '../common/domain-error.js';
import type { Tx } from './database.service.js';
import { searchNameOf, type MemberEntity } from './entities/member.entity.js';
import { PermissionsService, type ResolvedPermissions } from './permissions.service.js';
import { RoleEntity } from './entities/role.entity.js';
import { ServiceAccountEntity, ServiceAccountKeyEntity } from './entities/service-account.entity.js';

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
 * A service account's permissions: exactly its role's (talk.* never: no agent access), computed by
 * the same code as members'; none when its custom role was deleted (deny by default).
 */
@Injectable()
export class ServiceAccountPermissions {
  constructor(
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  resolve(serviceAccount: ServiceAccountEntity, account: AccountEntity, role: RoleEntity | null): ResolvedPermissions {
    if (!role) return { version: serviceAccount.permissionsVersion, keys: [], set: new Set() };
    return this.permissions.compute(memberShape(serviceAccount), account, role);
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
