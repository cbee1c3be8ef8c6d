import { Inject, Injectable } from '@nestjs/common';
import { API_KEY_PREFIX } from '@rolecall/contracts';
import { AccountEntity } from './entities/account.entity.js';
import type { ServiceAccountAuth } from './request-auth.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/domain-error.js';
import { sha256Hex } from '../common/tokens.js';
import { Database } from './database.service.js';
import type { ResolvedPermissions } from './permissions.service.js';
import type { MemberEntity } from './entities/member.entity.js';
import type { PersonEntity } from './entities/person.entity.js';
import { RoleEntity } from './entities/role.entity.js';
import type { SessionEntity } from './entities/session.entity.js';
import { ServiceAccountEntity, ServiceAccountKeyEntity } from './entities/service-account.entity.js';
import { memberShape, ServiceAccountPermissions } from './service-account-permissions.js';

/** Only write `last_used_at` when it is this stale (like sessions' touch). */
const TOUCH_AFTER_MS = 60_000;
/** Keys expire at most this far ahead. */
export const MAX_KEY_LIFETIME_MS = 5 * 366 * 24 * 3600_000;

/** A key's socket/session room id: `key:<keyId>` (the live layer tells it from a session id by the prefix). */
export const keySessionId = (keyId: string): string => `key:${keyId}`;
export const isKeySessionId = (id: string): boolean => id.startsWith('key:');

export const looksLikeApiKey = (token: string): boolean => token.startsWith(API_KEY_PREFIX);

/** A key's standing: the service account, as a member-shaped row for the permission code, and its account. */
export interface KeyAuth {
  readonly token: string;
  readonly session: SessionEntity;
  readonly person: PersonEntity;
  readonly member: MemberEntity;
  readonly account: AccountEntity;
  readonly enrolmentOnly: false;
  readonly serviceAccount: ServiceAccountAuth;
  readonly permissions: ResolvedPermissions;
}

/**
 * API key authentication (issue 16 §3), beside `SessionsService`: the access guard and the live
 * layer authenticate a key here; the service-accounts concern issues and revokes keys.
 */
@Injectable()
export class ApiKeys {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(ServiceAccountPermissions) private readonly rules: ServiceAccountPermissions,
  ) {}

  /**
   * The standing of an API key, or 401: `UNAUTHENTICATED` for an unknown or expired key,
   * `SESSION_REVOKED` for a revoked one. Permissions are computed from the role as it is now
   * (one small read; no cache to go stale).
   */
  async authenticate(token: string): Promise<KeyAuth> {
    const now = this.clock.now();
    const found = await this.db.read(async (manager) => {
      const key = await manager.getRepository(ServiceAccountKeyEntity).findOneBy({ tokenHash: sha256Hex(token) });
      if (!key) return null;
      const [serviceAccount, account] = await Promise.all([
        manager.getRepository(ServiceAccountEntity).findOneBy({ id: key.serviceAccountId }),
        manager.getRepository(AccountEntity).findOneBy({ id: key.accountId }),
      ]);
      const role = serviceAccount
        ? await manager.getRepository(RoleEntity).findOneBy({ id: serviceAccount.roleId })
        : null;
      return { key, serviceAccount, account, role };
    });
    if (!found || !found.serviceAccount || !found.account)
      throw new DomainError('UNAUTHENTICATED', 'This API key is not valid');
    const { key, serviceAccount, account, role } = found;
    if (key.revokedAt) throw new DomainError('SESSION_REVOKED', 'This API key was revoked', { reason: 'key_revoked' });
    if (key.expiresAt && now.toISOString() >= key.expiresAt) {
      throw new DomainError('UNAUTHENTICATED', 'This API key has expired', { reason: 'expired' });
    }
    if (!key.lastUsedAt || now.getTime() - Date.parse(key.lastUsedAt) >= TOUCH_AFTER_MS) {
      key.lastUsedAt = now.toISOString();
      await this.db.transaction(({ manager }) =>
        manager.getRepository(ServiceAccountKeyEntity).update({ id: key.id }, { lastUsedAt: key.lastUsedAt }),
      );
    }
    return this.standing(token, key, serviceAccount, account, role, now);
  }

  /** A key that can still be used, for the live layer's re-checks; null otherwise. */
  async byKeyId(keyId: string): Promise<KeyAuth | null> {
    const now = this.clock.now();
    const found = await this.db.read(async (manager) => {
      const key = await manager.getRepository(ServiceAccountKeyEntity).findOneBy({ id: keyId });
      if (!key || key.revokedAt || (key.expiresAt && now.toISOString() >= key.expiresAt)) return null;
      const serviceAccount = await manager.getRepository(ServiceAccountEntity).findOneBy({ id: key.serviceAccountId });
      const account = await manager.getRepository(AccountEntity).findOneBy({ id: key.accountId });
      if (!serviceAccount || !account) return null;
      const role = await manager.getRepository(RoleEntity).findOneBy({ id: serviceAccount.roleId });
      return { key, serviceAccount, account, role };
    });
    return found ? this.standing('', found.key, found.serviceAccount, found.account, found.role, now) : null;
  }

  private standing(
    token: string,
    key: ServiceAccountKeyEntity,
    serviceAccount: ServiceAccountEntity,
    account: AccountEntity,
    role: RoleEntity | null,
    now: Date,
  ): KeyAuth {
    const member = memberShape(serviceAccount);
    const permissions = this.rules.resolve(serviceAccount, account, role);
    const at = now.toISOString();
    const session = {
      id: keySessionId(key.id),
      tokenHash: key.tokenHash,
      personId: serviceAccount.id,
      accountId: account.id,
      authMethod: 'api_key',
      mfa: false,
      ip: null,
      userAgent: null,
      createdAt: key.createdAt,
      lastSeenAt: at,
      expiresAt: key.expiresAt ?? new Date(now.getTime() + MAX_KEY_LIFETIME_MS).toISOString(),
      revokedAt: null,
      revokedReason: null,
    } as unknown as SessionEntity;
    const person = {
      id: serviceAccount.id,
      email: '',
      name: serviceAccount.name,
      totpSecret: null,
    } as unknown as PersonEntity;
    return {
      token,
      session,
      person,
      member,
      account,
      enrolmentOnly: false,
      serviceAccount: { id: serviceAccount.id, name: serviceAccount.name, keyId: key.id },
      permissions,
    };
  }
}
