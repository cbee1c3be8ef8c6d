import type { MemberStatus } from '@rolecall/contracts';
import type { EntityManager, QueryResult, SelectQueryBuilder } from 'typeorm';
import { MemberEntity } from './entities/member.entity.js';

/** The columns that decide a member's effective permission set. */
export interface PermissionRow {
  id: string;
  status: MemberStatus;
  roleId: string;
  agentAccess: boolean;
  permissionsVersion: number;
}

/** A role holder as the impact of a role edit needs it. */
export interface HolderRow extends PermissionRow {
  name: string | null;
  email: string;
}

interface RawRow {
  id: string;
  status: MemberStatus;
  roleId: string;
  agentAccess: boolean | number;
  permissionsVersion: number | string;
}

function select(manager: EntityManager, extra: ('name' | 'email')[] = []): SelectQueryBuilder<MemberEntity> {
  const query = manager
    .getRepository(MemberEntity)
    .createQueryBuilder('m')
    .select('m.id', 'id')
    .addSelect('m.status', 'status')
    .addSelect('m.role_id', 'roleId')
    .addSelect('m.agent_access', 'agentAccess')
    .addSelect('m.permissions_version', 'permissionsVersion');
  for (const column of extra) query.addSelect(`m.${column}`, column);
  return query;
}

/** SQLite gives booleans as 0/1; PostgreSQL may give bigint counters as strings. */
function toRow<R extends RawRow>(raw: R): Omit<R, keyof RawRow> & PermissionRow {
  return { ...raw, agentAccess: Boolean(raw.agentAccess), permissionsVersion: Number(raw.permissionsVersion) };
}

/**
 * Permission rows of many members in one statement, without entity hydration or one bound parameter
 * per id: a role edit reaches thousands of members, and TypeORM's expansion of `IN (:...ids)` and
 * its hydration cost more than the query. The ids travel as one array (PostgreSQL) or one JSON text
 * (SQLite's `json_each`), so both databases look each id up by primary key.
 */
export async function permissionRows(
  manager: EntityManager,
  accountId: string,
  ids: readonly string[],
): Promise<PermissionRow[]> {
  if (ids.length === 0) return [];
  const query = select(manager).where('m.account_id = :accountId', { accountId });
  if (manager.connection.options.type === 'postgres') query.andWhere('m.id = ANY(:ids)', { ids: [...ids] });
  else query.andWhere('m.id IN (SELECT value FROM json_each(:ids))', { ids: JSON.stringify(ids) });
  return (await query.getRawMany<RawRow>()).map(toRow);
}

/** The active members holding a role (only they have permissions to change), with what a role edit's impact shows of them. */
export async function activeHolderRows(
  manager: EntityManager,
  accountId: string,
  roleId: string,
): Promise<HolderRow[]> {
  const rows = await select(manager, ['name', 'email'])
    .where("m.account_id = :accountId AND m.role_id = :roleId AND m.status = 'active'", { accountId, roleId })
    .getRawMany<RawRow & { name: string | null; email: string }>();
  return rows.map(toRow);
}

/**
 * Moves the permission version of every member holding a role (so no cached set of the old role
 * survives) and answers the active ones as they now are — one statement for both, where a read
 * then an update would walk thousands of rows twice.
 */
export async function bumpRoleHolders(
  manager: EntityManager,
  accountId: string,
  roleId: string,
): Promise<PermissionRow[]> {
  const runner = manager.queryRunner;
  if (!runner) throw new Error('bumpRoleHolders runs inside a transaction');
  const [account, role] = manager.connection.options.type === 'postgres' ? ['$1', '$2'] : ['?', '?'];
  const result = (await runner.query(
    `UPDATE members SET permissions_version = permissions_version + 1 WHERE account_id = ${account} AND role_id = ${role} ` +
      `RETURNING id, status, role_id AS "roleId", agent_access AS "agentAccess", permissions_version AS "permissionsVersion"`,
    [accountId, roleId],
    true,
  )) as QueryResult<RawRow>;
  return result.records.map(toRow).filter((row) => row.status === 'active');
}
