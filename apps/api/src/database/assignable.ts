import { In, type EntityManager } from 'typeorm';
import { validationFailed } from '../common/domain-error.js';
import type { AccountEntity } from './entities/account.entity.js';
import { RoleEntity } from './entities/role.entity.js';
import { TeamEntity } from './entities/team.entity.js';

/** The role must be a system role or a custom role of this account. */
export async function assertRole(manager: EntityManager, accountId: string, roleId: string): Promise<RoleEntity> {
  const role = await manager.getRepository(RoleEntity).findOneBy({ id: roleId });
  if (!role || (role.accountId !== null && role.accountId !== accountId)) {
    throw validationFailed({ roleId: ['No such role in this account'] });
  }
  return role;
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
