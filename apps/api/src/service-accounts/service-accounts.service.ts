import { Inject, Injectable } from '@nestjs/common';
import {
  API_KEY_PREFIX,
  MAX_KEYS_PER_SERVICE_ACCOUNT,
  MAX_SERVICE_ACCOUNTS,
  type ApiKeyDto,
  type ApiKeyWithSecretDto,
  type CreateApiKeyRequest,
  type CreateServiceAccountRequest,
  type PermissionKey,
  type ServiceAccountDto,
  type ServiceAccountSelfDto,
  type UpdateServiceAccountRequest,
} from '@rolecall/contracts';
import { randomUUID } from 'node:crypto';
import { In, IsNull, type EntityManager } from 'typeorm';
import { AccountEntity } from '../database/entities/account.entity.js';
import { AccountMutations } from '../database/account-mutation.js';
import type { Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { Clock } from '../common/clock.js';
import { DomainError, forbidden, notFound, validationFailed } from '../common/domain-error.js';
import { versionMismatch } from '../common/if-match.js';
import { newToken, sha256Hex } from '../common/tokens.js';
import { Database } from '../database/database.service.js';
import { changeField } from '../database/field-change.js';
import { PermissionsService } from '../database/permissions.service.js';
import { RoleEntity } from '../database/entities/role.entity.js';
import { ServiceAccountEntity, ServiceAccountKeyEntity } from '../database/entities/service-account.entity.js';
import { ServiceAccountPermissions } from '../database/service-account-permissions.js';
import { ApiKeys, keySessionId, MAX_KEY_LIFETIME_MS, type KeyAuth } from '../database/api-keys.js';
import { sessionsRevoked } from '../events/domain-events.js';
import { committedServiceAccounts } from '../database/committed-events.js';

const roleSummary = (role: RoleEntity | null | undefined) =>
  role ? { id: role.id, name: role.name, icon: role.icon } : null;

const keyDto = (key: ServiceAccountKeyEntity): ApiKeyDto => ({
  id: key.id,
  prefix: key.prefix,
  createdAt: key.createdAt,
  expiresAt: key.expiresAt,
  lastUsedAt: key.lastUsedAt,
});

/**
 * Service accounts and their API keys (issue 16 §3). A service account holds one role of its account
 * and takes no seat; a key authenticates REST and the live layer with exactly that role's permissions
 * (never agent access, never owner or billing contact). Every change is an account mutation.
 */
@Injectable()
export class ServiceAccountsService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
    @Inject(ServiceAccountPermissions) private readonly rules: ServiceAccountPermissions,
    @Inject(ApiKeys) private readonly apiKeys: ApiKeys,
  ) {}

  // ── Authentication ──────────────────────────────────────────────────────────────────────

  /** The standing of an API key, or 401 (`ApiKeys.authenticate`, which the guard and the live layer call). */
  authenticate(token: string): Promise<KeyAuth> {
    return this.apiKeys.authenticate(token);
  }

  // ── Management (users.manage) ───────────────────────────────────────────────────────────

  async list(auth: RequestAuth): Promise<ServiceAccountDto[]> {
    return this.db.read(async (manager) => {
      const rows = await manager
        .getRepository(ServiceAccountEntity)
        .find({ where: { accountId: auth.account.id }, order: { createdAt: 'ASC', id: 'ASC' } });
      return this.toDtos(manager, rows);
    });
  }

  async get(auth: RequestAuth, id: string): Promise<ServiceAccountDto> {
    return this.db.read((manager) => this.load(manager, auth.account.id, id));
  }

  async self(auth: RequestAuth): Promise<ServiceAccountSelfDto> {
    const self = auth.serviceAccount;
    if (!self)
      throw forbidden('Only an API key has a service account; people use GET /me', { reason: 'not_a_service_account' });
    return this.db.read(async (manager) => {
      const dto = await this.load(manager, auth.account.id, self.id);
      const key = await manager.getRepository(ServiceAccountKeyEntity).findOneByOrFail({ id: self.keyId });
      return {
        serviceAccount: dto,
        account: { id: auth.account.id, name: auth.account.name, activitySeq: auth.account.activitySeq },
        member: { id: self.id, role: { id: auth.member.roleId } },
        permissions: { version: auth.permissions.version, keys: [...auth.permissions.keys] as PermissionKey[] },
        key: keyDto(key),
      };
    });
  }

  async create(auth: RequestAuth, actor: Actor, body: CreateServiceAccountRequest): Promise<ServiceAccountDto> {
    return this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      const repository = tx.manager.getRepository(ServiceAccountEntity);
      if ((await repository.countBy({ accountId: account.id })) >= MAX_SERVICE_ACCOUNTS) {
        throw new DomainError('CONFLICT', `An account has at most ${MAX_SERVICE_ACCOUNTS} service accounts`, {
          limit: MAX_SERVICE_ACCOUNTS,
        });
      }
      const role = await this.assignableRole(tx.manager, account, body.roleId);
      const serviceAccount = repository.create({
        id: randomUUID(),
        accountId: account.id,
        name: body.name,
        roleId: role.id,
        permissionsVersion: 1,
        version: 1,
        createdAt: this.clock.now().toISOString(),
      });
      await repository.insert(serviceAccount);
      await log({
        action: 'service_account.created',
        target: { type: 'service_account', id: serviceAccount.id, label: serviceAccount.name },
        changes: { name: serviceAccount.name, roleId: role.id },
      });
      return (await this.toDtos(tx.manager, [serviceAccount]))[0]!;
    });
  }

  async update(
    auth: RequestAuth,
    actor: Actor,
    id: string,
    ifMatch: number,
    body: UpdateServiceAccountRequest,
  ): Promise<ServiceAccountDto> {
    const result = await this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      const repository = tx.manager.getRepository(ServiceAccountEntity);
      const serviceAccount = await this.find(tx.manager, account.id, id);
      if (serviceAccount.version !== ifMatch) throw versionMismatch(await this.load(tx.manager, account.id, id));
      const changes: Record<string, unknown> = {};
      let roleChanged = false;
      changeField(changes, serviceAccount, 'name', body.name);
      if (body.roleId !== undefined && body.roleId !== serviceAccount.roleId) {
        const role = await this.assignableRole(tx.manager, account, body.roleId);
        changes['roleId'] = { before: serviceAccount.roleId, after: role.id };
        serviceAccount.roleId = role.id;
        serviceAccount.permissionsVersion += 1;
        roleChanged = true;
      }
      if (Object.keys(changes).length === 0)
        return { dto: await this.load(tx.manager, account.id, id), committed: null };
      serviceAccount.version += 1;
      await repository.update(
        { id },
        {
          name: serviceAccount.name,
          roleId: serviceAccount.roleId,
          permissionsVersion: serviceAccount.permissionsVersion,
          version: serviceAccount.version,
        },
      );
      await log({
        action: 'service_account.updated',
        target: { type: 'service_account', id, label: serviceAccount.name },
        changes,
      });
      // Its keys' sets as this transaction leaves them: pushed after the COMMIT without a read.
      const committed = roleChanged ? await committedServiceAccounts(tx.manager, account, [id]) : null;
      return { dto: await this.load(tx.manager, account.id, id), committed };
    });
    if (result.committed) {
      this.permissions.invalidate([id]);
      this.rules.roleChanged(auth.account.id, result.committed);
    }
    return result.dto;
  }

  async remove(auth: RequestAuth, actor: Actor, id: string, ifMatch: number | null): Promise<void> {
    await this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      const repository = tx.manager.getRepository(ServiceAccountEntity);
      const serviceAccount = await this.find(tx.manager, account.id, id);
      if (ifMatch !== null && serviceAccount.version !== ifMatch)
        throw versionMismatch(await this.load(tx.manager, account.id, id));
      const keys = await tx.manager.getRepository(ServiceAccountKeyEntity).findBy({ serviceAccountId: id });
      await tx.manager.getRepository(ServiceAccountKeyEntity).delete({ serviceAccountId: id });
      await repository.delete({ id });
      const entry = await log({
        action: 'service_account.deleted',
        target: { type: 'service_account', id, label: serviceAccount.name },
        changes: {
          name: serviceAccount.name,
          roleId: serviceAccount.roleId,
          keysEnded: keys.filter((k) => !k.revokedAt).length,
        },
      });
      if (keys.length) {
        const sessionIds = keys.map((k) => keySessionId(k.id));
        tx.publish(sessionsRevoked(account.id, sessionIds, 'service_account_deleted', entry.seq));
      }
    });
    this.permissions.invalidate([id]);
  }

  async issueKey(auth: RequestAuth, actor: Actor, id: string, body: CreateApiKeyRequest): Promise<ApiKeyWithSecretDto> {
    const now = this.clock.now();
    let expiresAt: string | null = null;
    if (body.expiresAt) {
      const at = Date.parse(body.expiresAt);
      if (!Number.isFinite(at) || at <= now.getTime()) throw validationFailed({ expiresAt: ['Must be in the future'] });
      if (at > now.getTime() + MAX_KEY_LIFETIME_MS)
        throw validationFailed({ expiresAt: ['Must be at most 5 years ahead'] });
      expiresAt = new Date(at).toISOString();
    }
    const secret = `${API_KEY_PREFIX}${newToken()}`;
    return this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      const serviceAccount = await this.find(tx.manager, account.id, id);
      const keys = tx.manager.getRepository(ServiceAccountKeyEntity);
      if ((await keys.countBy({ serviceAccountId: id, revokedAt: IsNull() })) >= MAX_KEYS_PER_SERVICE_ACCOUNT) {
        throw new DomainError(
          'CONFLICT',
          `A service account has at most ${MAX_KEYS_PER_SERVICE_ACCOUNT} keys; revoke one first`,
          {
            limit: MAX_KEYS_PER_SERVICE_ACCOUNT,
          },
        );
      }
      const key = keys.create({
        id: randomUUID(),
        serviceAccountId: id,
        accountId: account.id,
        prefix: secret.slice(0, API_KEY_PREFIX.length + 8),
        tokenHash: sha256Hex(secret),
        createdAt: now.toISOString(),
        expiresAt,
        lastUsedAt: null,
        revokedAt: null,
      });
      await keys.insert(key);
      await log({
        action: 'service_account.key_created',
        target: { type: 'service_account', id, label: serviceAccount.name },
        changes: { keyId: key.id, prefix: key.prefix, expiresAt },
      });
      return { ...keyDto(key), key: secret };
    });
  }

  async revokeKey(auth: RequestAuth, actor: Actor, id: string, keyId: string): Promise<void> {
    await this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      const serviceAccount = await this.find(tx.manager, account.id, id);
      const keys = tx.manager.getRepository(ServiceAccountKeyEntity);
      const key = await keys.findOneBy({ id: keyId, serviceAccountId: id });
      if (!key || key.revokedAt) throw notFound('API key');
      await keys.update({ id: keyId }, { revokedAt: this.clock.now().toISOString() });
      const entry = await log({
        action: 'service_account.key_revoked',
        target: { type: 'service_account', id, label: serviceAccount.name },
        changes: { keyId, prefix: key.prefix },
      });
      tx.publish(sessionsRevoked(account.id, [keySessionId(keyId)], 'key_revoked', entry.seq));
    });
  }

  // ── Helpers ─────────────────────────────────────────────────────────────────────────────

  /** A role of this account (system or its own custom role). */
  private async assignableRole(manager: EntityManager, account: AccountEntity, roleId: string): Promise<RoleEntity> {
    const role = await manager.getRepository(RoleEntity).findOneBy({ id: roleId });
    if (!role || (role.accountId !== null && role.accountId !== account.id)) {
      throw validationFailed({ roleId: ['No such role in this account'] });
    }
    return role;
  }

  /** The account's service account `id`, or 404. */
  private async find(manager: EntityManager, accountId: string, id: string): Promise<ServiceAccountEntity> {
    const row = await manager.getRepository(ServiceAccountEntity).findOneBy({ id, accountId });
    if (!row) throw notFound('Service account');
    return row;
  }

  private async load(manager: EntityManager, accountId: string, id: string): Promise<ServiceAccountDto> {
    return (await this.toDtos(manager, [await this.find(manager, accountId, id)]))[0]!;
  }

  private async toDtos(manager: EntityManager, rows: ServiceAccountEntity[]): Promise<ServiceAccountDto[]> {
    if (rows.length === 0) return [];
    const [roles, keys] = await Promise.all([
      manager.getRepository(RoleEntity).findBy({ id: In([...new Set(rows.map((r) => r.roleId))]) }),
      manager.getRepository(ServiceAccountKeyEntity).find({
        where: { serviceAccountId: In(rows.map((r) => r.id)), revokedAt: IsNull() },
        order: { createdAt: 'ASC', id: 'ASC' },
      }),
    ]);
    const roleById = new Map(roles.map((role) => [role.id, role]));
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      role: roleSummary(roleById.get(row.roleId)),
      version: row.version,
      createdAt: row.createdAt,
      keys: keys.filter((key) => key.serviceAccountId === row.id).map(keyDto),
    }));
  }
}
