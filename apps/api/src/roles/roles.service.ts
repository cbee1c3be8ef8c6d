import { Inject, Injectable } from '@nestjs/common';
import {
  ROLE_NAME_MAX,
  SYSTEM_ROLES,
  type PermissionKey,
  type RoleDto,
  type RoleIcon,
  type RoleImpactDto,
  type RoleImpactPreviewDto,
  type RoleListDto,
} from '@rolecall/contracts';
import {
  checkRolePermissions,
  diffPermissions,
  planLimits,
  roleChangeImpact,
  allowsCustomRoles,
} from '@rolecall/domain';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { AccountEntity } from '../database/entities/account.entity.js';
import { AccountMutations, type MutationContext } from '../database/account-mutation.js';
import type { Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { Clock } from '../common/clock.js';
import { DomainError, notFound, validationFailed } from '../common/domain-error.js';
import { dryRunFailure } from '../common/dry-run.js';
import { versionMismatch } from '../common/if-match.js';
import { Database } from '../database/database.service.js';
import { assertNameFree } from '../database/unique-names.js';
import { changeField } from '../database/field-change.js';
import { MemberEntity } from '../database/entities/member.entity.js';
import { rolePermissions } from '../database/permissions.service.js';
import { activeHolderRows, bumpRoleHolders, type PermissionRow } from '../database/permission-rows.js';
import { AccountEntity as AccountRow } from '../database/entities/account.entity.js';
import { bumpServiceAccountRoleHolders } from '../database/service-account-permissions.js';
import { RoleEntity } from '../database/entities/role.entity.js';
import { loadRoleDto, orderedRoles, roleDtos } from '../database/roles.dto.js';
import { publishRoleChanged, publishRoleRemoved } from '../database/committed-events.js';

export interface RoleFields {
  name?: string | undefined;
  description?: string | undefined;
  icon?: RoleIcon | undefined;
  permissions?: string[] | undefined;
}

/** The impact of a dry run the real request would refuse: nothing changes for anyone. */
const NO_IMPACT: RoleImpactDto = { added: [], removed: [], affectedMembers: [] };

@Injectable()
export class RolesService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  // ── reading ──────────────────────────────────────────────────────────────────────────────

  private async listIn(
    manager: EntityManager,
    account: Pick<AccountEntity, 'id' | 'rolesVersion'>,
  ): Promise<RoleListDto> {
    return {
      items: await roleDtos(manager, account.id, await orderedRoles(manager, account.id)),
      rolesVersion: account.rolesVersion,
    };
  }

  list(auth: RequestAuth): Promise<RoleListDto> {
    return this.db.read(async (manager) =>
      this.listIn(manager, await manager.getRepository(AccountRow).findOneByOrFail({ id: auth.account.id })),
    );
  }

  private async findInAccount(manager: EntityManager, accountId: string, id: string): Promise<RoleEntity> {
    const role = await manager.getRepository(RoleEntity).findOneBy({ id });
    if (!role || (role.accountId !== null && role.accountId !== accountId)) throw notFound('Role');
    return role;
  }

  get(auth: RequestAuth, id: string): Promise<RoleDto> {
    return this.db.read(async (manager) =>
      loadRoleDto(manager, auth.account.id, await this.findInAccount(manager, auth.account.id, id)),
    );
  }

  // ── validation ───────────────────────────────────────────────────────────────────────────

  private normalizePermissions(keys: string[]): PermissionKey[] {
    const checked = checkRolePermissions(keys);
    if (checked.unknown.length) {
      throw validationFailed(
        { permissions: checked.unknown.map((key) => `Unknown permission: ${key}`) },
        'Some permissions are not in the catalogue',
      );
    }
    if (checked.adminOnly.length) {
      throw new DomainError('ADMIN_ONLY_PERMISSION', `Only the Admin role can hold ${checked.adminOnly.join(', ')}`, {
        keys: checked.adminOnly,
      });
    }
    return checked.normalized;
  }

  private async assertUniqueName(
    manager: EntityManager,
    accountId: string,
    name: string,
    exceptId?: string,
  ): Promise<void> {
    const key = name.toLowerCase();
    if (SYSTEM_ROLES.some((role) => role.name.toLowerCase() === key))
      throw validationFailed({ name: ['That name belongs to a system role'] });
    await assertNameFree(manager, RoleEntity, { accountId, name, exceptId });
  }

  private assertPlan(account: AccountEntity): void {
    if (!allowsCustomRoles(account.plan))
      throw new DomainError(
        'PLAN_FEATURE_UNAVAILABLE',
        `The ${account.plan} plan has no custom roles; upgrade to Business`,
      );
  }

  private async forChange(context: MutationContext, id: string, ifMatch: number): Promise<RoleEntity> {
    const role = await this.findInAccount(context.tx.manager, context.account.id, id);
    if (role.accountId === null)
      throw new DomainError('SYSTEM_ROLE_READONLY', `${role.name} is a system role: it can be viewed but not changed`);
    if (role.version !== ifMatch)
      throw versionMismatch(await loadRoleDto(context.tx.manager, context.account.id, role));
    return role;
  }

  /**
   * Edits or deletes a custom role as one account mutation: `change` gets the role (`forChange`). In a
   * dry run its refusal (a system role, a stale If-Match) is not thrown but answered as the preview's
   * `wouldFail`, inside a 200 (issue 15).
   */
  private changeCustomRole<T>(
    auth: RequestAuth,
    actor: Actor,
    target: { id: string; ifMatch: number; dryRun: boolean },
    change: (context: MutationContext, role: RoleEntity) => Promise<T>,
  ): Promise<T | RoleImpactPreviewDto> {
    return this.mutations.run(auth, actor, async (context) => {
      let role: RoleEntity;
      try {
        role = await this.forChange(context, target.id, target.ifMatch);
      } catch (error) {
        if (!target.dryRun) throw error;
        return { ...NO_IMPACT, wouldFail: dryRunFailure(error) };
      }
      return change(context, role);
    });
  }

  private async bumpRolesVersion(manager: EntityManager, account: AccountEntity): Promise<void> {
    account.rolesVersion += 1;
    await manager.getRepository(AccountRow).update({ id: account.id }, { rolesVersion: account.rolesVersion });
  }

  // ── changes ──────────────────────────────────────────────────────────────────────────────

  async create(auth: RequestAuth, actor: Actor, input: Required<RoleFields>): Promise<RoleDto> {
    return this.mutations.run(auth, actor, async (context) => {
      this.assertPlan(context.account);
      await this.assertRoom(context);
      const permissions = this.normalizePermissions(input.permissions);
      await this.assertUniqueName(context.tx.manager, context.account.id, input.name);
      return this.insert(context, { name: input.name, description: input.description, icon: input.icon, permissions });
    });
  }

  /**
   * A custom copy of a role (issue 17 §5): "<name> (copy)", then "(copy 2)"… (cut to the name
   * limit), the same description, icon and permissions, placed last. The plan's custom-role limit
   * applies as for a new role. Editor and Read only can be copied (a custom Editor is a common
   * start); Admin cannot: its Admin-only keys are never grantable to a custom role, so its copy
   * answers the same 400 `ADMIN_ONLY_PERMISSION` as creating a role with them would.
   */
  async duplicate(auth: RequestAuth, actor: Actor, id: string): Promise<RoleDto> {
    return this.mutations.run(auth, actor, async (context) => {
      const { tx, account } = context;
      const source = await this.findInAccount(tx.manager, account.id, id);
      this.assertPlan(account);
      await this.assertRoom(context);
      const permissions = this.normalizePermissions([...rolePermissions(source)]);
      const name = await this.copyName(tx.manager, account.id, source.name);
      return this.insert(
        context,
        { name, description: source.description, icon: source.icon, permissions },
        { duplicatedFrom: { id: source.id, name: source.name } },
      );
    });
  }

  /** The first free "<name> (copy)" / "<name> (copy N)", the name cut so the suffix fits the limit. */
  private async copyName(manager: EntityManager, accountId: string, name: string): Promise<string> {
    const taken = new Set(
      (await manager.getRepository(RoleEntity).find({ where: { accountId }, select: { nameKey: true } })).map(
        (r) => r.nameKey,
      ),
    );
    for (const role of SYSTEM_ROLES) taken.add(role.name.toLowerCase());
    for (let n = 1; ; n++) {
      const suffix = n === 1 ? ' (copy)' : ` (copy ${n})`;
      const candidate = `${name.slice(0, ROLE_NAME_MAX - suffix.length).trimEnd()}${suffix}`;
      if (!taken.has(candidate.toLowerCase())) return candidate;
    }
  }

  /** The plan's custom-role limit (SPEC §4 plans): the same refusal for a new role and a copy. */
  private async assertRoom({ tx, account }: MutationContext): Promise<void> {
    const limit = planLimits(account.plan).customRoles;
    const count = await tx.manager.getRepository(RoleEntity).countBy({ accountId: account.id });
    if (limit !== null && count >= limit)
      throw new DomainError('PLAN_FEATURE_UNAVAILABLE', `The ${account.plan} plan allows ${limit} custom roles`, {
        limit,
        used: count,
      });
  }

  /** Writes a new custom role last in the order, its `role.created` entry, and queues `role.upserted`. */
  private async insert(
    { tx, account, log }: MutationContext,
    input: { name: string; description: string; icon: RoleIcon; permissions: PermissionKey[] },
    note: Record<string, unknown> = {},
  ): Promise<RoleDto> {
    const last = await tx.manager
      .getRepository(RoleEntity)
      .findOne({ where: { accountId: account.id }, order: { position: 'DESC' } });
    const now = this.clock.now().toISOString();
    const role = tx.manager.getRepository(RoleEntity).create({
      id: randomUUID(),
      accountId: account.id,
      systemKey: null,
      name: input.name,
      nameKey: input.name.toLowerCase(),
      description: input.description,
      icon: input.icon,
      permissions: input.permissions,
      position: (last?.position ?? SYSTEM_ROLES.length - 1) + 1,
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    await tx.manager.getRepository(RoleEntity).insert(role);
    await this.bumpRolesVersion(tx.manager, account);
    const entry = await log({
      action: 'role.created',
      target: { type: 'role', id: role.id, label: role.name },
      changes: { name: { after: role.name }, permissions: { after: input.permissions }, ...note },
    });
    const dto = await loadRoleDto(tx.manager, account.id, role);
    await publishRoleChanged(tx, account, role, dto, entry.seq);
    return dto;
  }

  /** The active members holding a role, as `roleChangeImpact` needs them. */
  private async holders(manager: EntityManager, account: AccountEntity, roleId: string) {
    const rows = await activeHolderRows(manager, account.id, roleId);
    return rows.map((row) => ({ ...row, isBillingContact: account.billingContactMemberId === row.id }));
  }

  private async impact(
    manager: EntityManager,
    account: AccountEntity,
    roleId: string,
    before: readonly PermissionKey[],
    after: readonly PermissionKey[],
  ): Promise<RoleImpactDto> {
    const holders = await this.holders(manager, account, roleId);
    const byId = new Map(holders.map((h) => [h.id, h]));
    return {
      ...diffPermissions(before, after),
      affectedMembers: roleChangeImpact(holders, before, after).map((impact) => ({
        ...impact,
        name: byId.get(impact.id)!.name,
        email: byId.get(impact.id)!.email,
        agentAccess: byId.get(impact.id)!.agentAccess,
      })),
    };
  }

  /** Edits a custom role; with `dryRun` only answers the impact. Holders' permission versions move in the same transaction. */
  async update(
    auth: RequestAuth,
    actor: Actor,
    id: string,
    ifMatch: number,
    change: RoleFields,
    dryRun: boolean,
  ): Promise<RoleDto | RoleImpactPreviewDto> {
    return this.changeCustomRole(auth, actor, { id, ifMatch, dryRun }, async ({ tx, account, log }, role) => {
      const permissions =
        change.permissions === undefined ? role.permissions : this.normalizePermissions(change.permissions);
      if (dryRun) {
        if (change.name !== undefined) await this.assertUniqueName(tx.manager, account.id, change.name, role.id);
        return { ...(await this.impact(tx.manager, account, role.id, role.permissions, permissions)), wouldFail: null };
      }
      const changes: Record<string, unknown> = {};
      if (change.name !== undefined && change.name !== role.name) {
        await this.assertUniqueName(tx.manager, account.id, change.name, role.id);
        changes['name'] = { before: role.name, after: change.name };
        role.name = change.name;
        role.nameKey = change.name.toLowerCase();
      }
      changeField(changes, role, 'description', change.description);
      changeField(changes, role, 'icon', change.icon);
      const diff = diffPermissions(role.permissions, permissions);
      let affected: PermissionRow[] = [];
      let serviceAccountIds: string[] = [];
      if (diff.added.length || diff.removed.length) {
        changes['permissions'] = diff;
        // Every holder's permission version moves with the role (one statement that also answers them).
        const holders = (await bumpRoleHolders(tx.manager, account.id, role.id)).map((row) => ({
          ...row,
          isBillingContact: account.billingContactMemberId === row.id,
        }));
        const changed = new Set(roleChangeImpact(holders, role.permissions, permissions).map((i) => i.id));
        affected = holders.filter((h) => changed.has(h.id)).map(({ isBillingContact: _, ...row }) => row);
        serviceAccountIds = await bumpServiceAccountRoleHolders(tx.manager, account.id, role.id);
        role.permissions = permissions;
      }
      if (Object.keys(changes).length === 0) return loadRoleDto(tx.manager, account.id, role);
      role.version += 1;
      role.updatedAt = this.clock.now().toISOString();
      await tx.manager.getRepository(RoleEntity).update(
        { id: role.id },
        {
          name: role.name,
          nameKey: role.nameKey,
          description: role.description,
          icon: role.icon,
          permissions: role.permissions,
          version: role.version,
          updatedAt: role.updatedAt,
        },
      );
      const entry = await log({
        action: 'role.updated',
        target: { type: 'role', id: role.id, label: role.name },
        changes,
      });
      const dto = await loadRoleDto(tx.manager, account.id, role);
      const renamed = changes['name'] !== undefined || changes['icon'] !== undefined;
      await publishRoleChanged(tx, account, role, dto, entry.seq, { affected, renamed, serviceAccountIds });
      return dto;
    });
  }

  /** Deletes a custom role; members and pending invitations holding it move to `reassignTo` in the same transaction. */
  async remove(
    auth: RequestAuth,
    actor: Actor,
    id: string,
    ifMatch: number,
    reassignTo: string | undefined,
    dryRun: boolean,
  ): Promise<RoleImpactPreviewDto | null> {
    return this.changeCustomRole(auth, actor, { id, ifMatch, dryRun }, async ({ tx, account, log }, role) => {
      const members = await tx.manager.getRepository(MemberEntity).findBy({ accountId: account.id, roleId: role.id });
      const invitations = members.filter((m) => m.status === 'invited').length;
      let target: RoleEntity | null = null;
      if (reassignTo !== undefined) {
        if (reassignTo === role.id) throw validationFailed({ reassignTo: ['Choose another role'] });
        target = await this.findInAccount(tx.manager, account.id, reassignTo).catch(() => {
          throw validationFailed({ reassignTo: ['No such role in this account'] });
        });
      }
      if (members.length > 0 && !target) {
        const inUse = new DomainError(
          'ROLE_IN_USE',
          `${members.length - invitations} members and ${invitations} invitations hold this role; choose a role to move them to`,
          {
            members: members.length - invitations,
            invitations,
          },
        );
        // A dry run answers the refusal inside its 200 (issue 15); the real request answers 409.
        if (dryRun) return { ...NO_IMPACT, wouldFail: dryRunFailure(inUse) };
        throw inUse;
      }
      const targetPermissions = target ? rolePermissions(target) : [];
      if (dryRun)
        return {
          ...(await this.impact(
            tx.manager,
            account,
            role.id,
            role.permissions,
            target ? targetPermissions : role.permissions,
          )),
          wouldFail: null,
        };
      const affected = target
        ? roleChangeImpact(await this.holders(tx.manager, account, role.id), role.permissions, targetPermissions).map(
            (i) => i.id,
          )
        : [];
      for (const member of members) {
        await tx.manager
          .getRepository(MemberEntity)
          .update(
            { id: member.id },
            { roleId: target!.id, permissionsVersion: member.permissionsVersion + 1, version: member.version + 1 },
          );
      }
      const serviceAccountIds = await bumpServiceAccountRoleHolders(tx.manager, account.id, role.id);
      await tx.manager.getRepository(RoleEntity).delete({ id: role.id });
      await this.bumpRolesVersion(tx.manager, account);
      const entry = await log({
        action: 'role.deleted',
        target: { type: 'role', id: role.id, label: role.name },
        changes: {
          name: { before: role.name, after: null },
          reassignedTo: target ? { id: target.id, name: target.name } : null,
          membersMoved: members.length - invitations,
          invitationsMoved: invitations,
        },
      });
      await publishRoleRemoved(tx, account, role.id, entry.seq, {
        memberIds: members.map((m) => m.id),
        changedMemberIds: affected,
        target,
        serviceAccountIds,
      });
      return null;
    });
  }

  /** The full list of custom role ids in their new order, guarded by the account's `rolesVersion`. */
  async reorder(auth: RequestAuth, actor: Actor, ifMatch: number, roleIds: string[]): Promise<RoleListDto> {
    return this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      if (account.rolesVersion !== ifMatch) throw versionMismatch(await this.listIn(tx.manager, account));
      const custom = await tx.manager
        .getRepository(RoleEntity)
        .find({ where: { accountId: account.id }, order: { position: 'ASC' } });
      const expected = new Set(custom.map((r) => r.id));
      if (
        roleIds.length !== expected.size ||
        new Set(roleIds).size !== roleIds.length ||
        !roleIds.every((rid) => expected.has(rid))
      ) {
        throw validationFailed(
          { roleIds: ['Send every custom role of the account exactly once'] },
          'The list must hold exactly the custom roles',
        );
      }
      const before = custom.map((r) => r.id);
      for (const [index, roleId] of roleIds.entries()) {
        await tx.manager.getRepository(RoleEntity).update({ id: roleId }, { position: SYSTEM_ROLES.length + index });
      }
      await this.bumpRolesVersion(tx.manager, account);
      const entry = await log({
        action: 'roles.reordered',
        target: { type: 'account', id: account.id, label: account.name },
        changes: { roleIds: { before, after: roleIds } },
      });
      tx.publish({ type: 'roles.reordered', accountId: account.id, roleIds, seq: entry.seq });
      return this.listIn(tx.manager, account);
    });
  }
}
