import { In, type EntityManager } from 'typeorm';
import { validationFailed } from '../common/domain-error.js';
import type { AccountEntity } from './entities/account.entity.js';
import { RoleEntity } from './entities/role.entity.js';
import { TeamEntity } from './entities/team.entity.js';

const assignableIn = (accountId: string, role: RoleEntity | null | undefined): role is RoleEntity =>
  !!role && (role.accountId === null || role.accountId === accountId);

/** The role must be a system role or a custom role of this account. */
export async function assertRole(manager: EntityManager, accountId: string, roleId: string): Promise<RoleEntity> {
  const role = await manager.getRepository(RoleEntity).findOneBy({ id: roleId });
  if (!assignableIn(accountId, role)) throw validationFailed({ roleId: ['No such role in this account'] });
  return role;
}

/**
 * `assertRole` for a member moving from the role it holds to `roleId`, in one read of both: the new
 * role, checked the same way, and the one held (null if no longer found), whose name the change's
 * activity entry gives.
 */
export async function assertRoleChange(
  manager: EntityManager,
  accountId: string,
  heldRoleId: string,
  roleId: string,
): Promise<{ role: RoleEntity; held: RoleEntity | null }> {
  const found = await manager.getRepository(RoleEntity).findBy({ id: In([roleId, heldRoleId]) });
  const role = found.find((candidate) => candidate.id === roleId);
  if (!assignableIn(accountId, role)) throw validationFailed({ roleId: ['No such role in this account'] });
  const held = found.find((candidate) => candidate.id === heldRoleId);
  return { role, held: assignableIn(accountId, held) ? held : null };
}

/** Teams must belong to the account, which must have Talk teams turned on. */
export async function assertTeams(
  manager: EntityManager,
  account: AccountEntity,
  teamIds: string[],
): Promise<string[]> {
  const unique = [...new Set(teamIds)];
  if (unique.length === 0) return unique;
  if (!account.teamsEnabled) throw validationFailed({ teamIds: ['Talk teams are turned off for this account'] });
  const found = await manager.getRepository(TeamEntity).findBy({ id: In(unique), accountId: account.id });
  if (found.length !== unique.length) throw validationFailed({ teamIds: ['No such team in this account'] });
  return unique;
}
