import type { PermissionChangeReason, RoleDto } from '@rolecall/contracts';
import { In, type EntityManager } from 'typeorm';
import type { CommittedPermissions, CommittedServiceAccounts, DomainEventOf } from '../events/domain-events.js';
import { accountUpdated, memberEvent, memberEvents, teamEvent } from './account-events.js';
import type { Tx } from './database.service.js';
import { AccountEntity } from './entities/account.entity.js';
import { MemberEntity } from './entities/member.entity.js';
import { RoleEntity } from './entities/role.entity.js';
import { ServiceAccountEntity } from './entities/service-account.entity.js';
import { permissionRows, type PermissionRow } from './permission-rows.js';

/**
 * The events of account, role, team and person changes, carrying what the live layer pushes as the
 * change's transaction committed it (issue 18 (a), as committed-member.ts does for member changes).
 * Call each after the change's last write: the live layer reads nothing after the COMMIT, so a later
 * change committed before such a read would have run is never pushed under this change's seq. A
 * failure here throws inside the transaction: the change rolls back and nothing is pushed.
 */

/**
 * Changed sets of `rows` with the roles they hold (`known` when the change holds them, else read in
 * one statement) and the account: null when no row is active (no session to tell).
 */
async function committedPermissions(
  manager: EntityManager,
  account: Pick<AccountEntity, 'id' | 'billingContactMemberId'>,
  rows: PermissionRow[],
  known: readonly RoleEntity[] = [],
): Promise<CommittedPermissions | null> {
  if (!rows.some((row) => row.status === 'active')) return null;
  const roleIds = [...new Set(rows.map((row) => row.roleId))];
  const roles = roleIds.every((id) => known.some((role) => role.id === id))
    ? known.filter((role) => roleIds.includes(role.id))
    : await manager.getRepository(RoleEntity).findBy({ id: In(roleIds) });
  return { rows, roles, account: { id: account.id, billingContactMemberId: account.billingContactMemberId } };
}

/** The service accounts `ids` with the roles they hold now (none for a deleted role), or null for none. */
export async function committedServiceAccounts(
  manager: EntityManager,
  account: Pick<AccountEntity, 'id' | 'billingContactMemberId'>,
  ids: readonly string[],
): Promise<CommittedServiceAccounts | null> {
  if (ids.length === 0) return null;
  const holders = await manager.getRepository(ServiceAccountEntity).findBy({ accountId: account.id, id: In([...ids]) });
  if (holders.length === 0) return null;
  const roles = await manager
    .getRepository(RoleEntity)
    .findBy({ id: In([...new Set(holders.map((holder) => holder.roleId))]) });
  return { holders, roles, account: { id: account.id, billingContactMemberId: account.billingContactMemberId } };
}

/**
 * Queues `account.changed` for the entry `seq`: `account.updated`, the events of `memberIds` (members
 * whose JSON changed: owner / billing-contact marks), and with a `reason` the sets of
 * `permissionMemberIds`, all as this transaction leaves them.
 */
export async function publishAccountChanged(
  tx: Tx,
  accountId: string,
  seq: number,
  change: { memberIds: string[]; permissionMemberIds: string[]; reason: PermissionChangeReason | null } = {
    memberIds: [],
    permissionMemberIds: [],
    reason: null,
  },
): Promise<void> {
  const { manager } = tx;
  const account = await manager.getRepository(AccountEntity).findOneByOrFail({ id: accountId });
  const updated = await accountUpdated(manager, account, seq);
  const members = await memberEvents(manager, account, change.memberIds, seq);
  const permissions =
    change.reason && change.permissionMemberIds.length
      ? await committedPermissions(
          manager,
          account,
          await permissionRows(manager, account.id, change.permissionMemberIds),
        )
      : null;
  tx.publish({
    type: 'account.changed',
    accountId,
    seq,
    permissionMemberIds: change.permissionMemberIds,
    reason: change.reason,
    committed: { account: updated, members, permissions },
  });
}

/**
 * Queues `role.changed` for the entry `seq` that created or edited `role` (`dto`: its JSON as
 * committed). `change`: the active holders whose sets changed (`affected`, as the edit left them),
 * whether its name or icon changed (its active holders, read here, are told `me.updated`) and the
 * service accounts holding it. A new role has none of these.
 */
export async function publishRoleChanged(
  tx: Tx,
  account: AccountEntity,
  role: RoleEntity,
  dto: RoleDto,
  seq: number,
  change: { affected: PermissionRow[]; renamed: boolean; serviceAccountIds: string[] } = {
    affected: [],
    renamed: false,
    serviceAccountIds: [],
  },
): Promise<void> {
  const { manager } = tx;
  const holderIds = change.renamed
    ? (
        await manager
          .getRepository(MemberEntity)
          .find({ select: { id: true }, where: { accountId: account.id, roleId: role.id, status: 'active' } })
      ).map((holder) => holder.id)
    : [];
  const event: DomainEventOf<'role.changed'> = {
    type: 'role.changed',
    accountId: account.id,
    roleId: role.id,
    seq,
    role: dto,
    renamed: change.renamed,
    serviceAccountIds: change.serviceAccountIds,
    committed: {
      holderIds,
      permissions: await committedPermissions(manager, account, change.affected, [role]),
      serviceAccounts: await committedServiceAccounts(manager, account, change.serviceAccountIds),
    },
  };
  tx.publish(event);
}

/**
 * Queues `role.removed` for the entry `seq` that deleted `roleId`: the moved members' events, the sets
 * of `changedMemberIds` (now holding `target`) and the holding service accounts', as committed.
 */
export async function publishRoleRemoved(
  tx: Tx,
  account: AccountEntity,
  roleId: string,
  seq: number,
  moved: { memberIds: string[]; changedMemberIds: string[]; target: RoleEntity | null; serviceAccountIds: string[] },
): Promise<void> {
  const { manager } = tx;
  const members = await memberEvents(manager, account, moved.memberIds, seq);
  const permissions = moved.changedMemberIds.length
    ? await committedPermissions(
        manager,
        account,
        await permissionRows(manager, account.id, moved.changedMemberIds),
        moved.target ? [moved.target] : [],
      )
    : null;
  tx.publish({
    type: 'role.removed',
    accountId: account.id,
    roleId,
    seq,
    movedMemberIds: moved.memberIds,
    serviceAccountIds: moved.serviceAccountIds,
    committed: {
      members,
      permissions,
      serviceAccounts: await committedServiceAccounts(manager, account, moved.serviceAccountIds),
    },
  });
}

/** Queues `team.changed` or `team.removed` for the entry `seq`, with the team's event as committed. */
export async function publishTeamChanged(
  tx: Tx,
  type: 'team.changed' | 'team.removed',
  accountId: string,
  teamId: string,
  seq: number,
): Promise<void> {
  tx.publish({ type, accountId, teamId, seq, committed: await teamEvent(tx.manager, accountId, teamId, seq) });
}

/** Queues `person.updated` for the entry `seq` in `account`, with the person's member event there as committed. */
export async function publishPersonUpdated(
  tx: Tx,
  account: AccountEntity,
  personId: string,
  seq: number,
): Promise<void> {
  const member = await tx.manager.getRepository(MemberEntity).findOneBy({ personId, accountId: account.id });
  tx.publish({
    type: 'person.updated',
    personId,
    accountId: account.id,
    seq,
    committed: member ? await memberEvent(tx.manager, account, member.id, seq) : null,
  });
}
