import { systemRoleById, type EnforcedAuthState, type MemberDto, type TeamRef } from '@rolecall/contracts';
import type { EntityManager } from 'typeorm';
import type { AccountEntity } from './entities/account.entity.js';
import { inList, listParameter } from './entity-columns.js';
import { enforcedIdentity, personsWithIdentity } from './identities.js';
import { RoleEntity } from './entities/role.entity.js';
import type { MemberEntity } from './entities/member.entity.js';

/** What a member's JSON shows of its person. */
export interface PersonSummary {
  name: string;
  avatarUrl: string | null;
  twoFactorEnabled: boolean;
}

export type RoleRef = Pick<RoleEntity, 'id' | 'name' | 'icon'>;

/** What the member JSON and the list's cursor read of a member. */
export type ListedMember = Pick<
  MemberEntity,
  | 'id'
  | 'email'
  | 'name'
  | 'status'
  | 'roleId'
  | 'agentAccess'
  | 'personId'
  | 'invitedAt'
  | 'joinedAt'
  | 'lastActiveAt'
  | 'version'
  | 'sortName'
  | 'createdAt'
  | 'lastActiveSort'
>;

/** A member with what its JSON shows of its person and role (a row of the member list's page). */
export interface MemberListRow {
  member: ListedMember;
  /** null while invited (no person yet). */
  person: PersonSummary | null;
  /** null only if the role row is missing (the JSON then falls back to the system catalogue). */
  role: RoleRef | null;
}

/** A person's summary as columns of alias `p` (an outer join may find none: `p_id` is then null). */
export const PERSON_SUMMARY_COLUMNS =
  'p.id AS "p_id", p.name AS "p_name", p.avatar_url AS "p_avatar_url", CASE WHEN p.totp_secret IS NULL THEN 0 ELSE 1 END AS "p_totp"';

export function personSummaryOf(row: Record<string, unknown>): PersonSummary | null {
  if (row['p_id'] == null) return null;
  return {
    name: row['p_name'] as string,
    avatarUrl: (row['p_avatar_url'] as string | null) ?? null,
    twoFactorEnabled: Number(row['p_totp']) === 1,
  };
}

/** A role's reference as columns of alias `r`. */
export const ROLE_REF_COLUMNS = 'r.id AS "r_id", r.name AS "r_name", r.icon AS "r_icon"';

export function roleRefOf(row: Record<string, unknown>): RoleRef | null {
  if (row['r_id'] == null) return null;
  return { id: row['r_id'] as string, name: row['r_name'] as string, icon: row['r_icon'] as RoleRef['icon'] };
}

/** What a member's JSON is made from, loaded in batches by `loadMemberDtos`. */
interface MemberDtoParts {
  person: PersonSummary | null;
  role: RoleRef;
  teams: TeamRef[];
  /** Under SSO enforcement: whether the person has an identity of the enforced provider; null otherwise. */
  enforcedAuth: EnforcedAuthState | null;
}

function toMemberDto(member: ListedMember, account: AccountEntity, parts: MemberDtoParts): MemberDto {
  return {
    id: member.id,
    email: member.email,
    name: parts.person?.name ?? member.name,
    avatarUrl: parts.person?.avatarUrl ?? null,
    status: member.status,
    role: { id: parts.role.id, name: parts.role.name, icon: parts.role.icon },
    isOwner: account.ownerMemberId === member.id,
    isBillingContact: account.billingContactMemberId === member.id,
    agentAccess: member.agentAccess,
    teams: parts.teams,
    twoFactorEnabled: member.status === 'invited' || !parts.person ? null : parts.person.twoFactorEnabled,
    enforcedAuth: parts.enforcedAuth,
    invitedAt: member.invitedAt,
    joinedAt: member.joinedAt,
    lastActiveAt: member.lastActiveAt,
    version: member.version,
  };
}

/** Builds the JSON of many members of one account with one query per related table. */
export async function loadMemberDtos(
  manager: EntityManager,
  account: AccountEntity,
  members: MemberEntity[],
  /** Roles the caller read in this transaction (as they are now): when they are every member's, no roles read. */
  knownRoles: readonly RoleRef[] = [],
): Promise<MemberDto[]> {
  if (members.length === 0) return [];
  const personIds = [...new Set(members.map((m) => m.personId).filter((id): id is string => id !== null))];
  const roleIds = [...new Set(members.map((m) => m.roleId))];
  // A whole RoleEntity may be passed: toMemberDto takes only the reference's fields.
  const known = new Map(knownRoles.map((role): [string, RoleRef] => [role.id, role]));
  const source = manager.connection;
  // Prepared statements with the ids as one parameter (see EntityColumns); one after another: the
  // manager may be a transaction's, and one connection cannot run queries in parallel. The persons
  // and the teams come in one statement (issue 18: a round trip fewer for every member change's
  // response and push); a row is a person's (`p_id`) or a team link's (`t_member_id`).
  const partRows = await manager.query<Record<string, unknown>[]>(
    `SELECT ${PERSON_SUMMARY_COLUMNS}, NULL AS "t_member_id", NULL AS "t_id", NULL AS "t_name" FROM persons p WHERE ${inList(source, 'p.id', 1)} ` +
      `UNION ALL SELECT NULL, NULL, NULL, NULL, mt.member_id, t.id, t.name FROM member_teams mt JOIN teams t ON t.id = mt.team_id WHERE ${inList(source, 'mt.member_id', 2)}`,
    [
      listParameter(source, personIds),
      listParameter(
        source,
        members.map((m) => m.id),
      ),
    ],
  );
  const roles = roleIds.every((id) => known.has(id))
    ? []
    : await manager.query<Record<string, unknown>[]>(
        `SELECT ${ROLE_REF_COLUMNS} FROM roles r WHERE ${inList(source, 'r.id', 1)}`,
        [listParameter(source, roleIds)],
      );
  const personById = new Map<string, PersonSummary | null>();
  const teamRows: TeamLinkRow[] = [];
  for (const row of partRows) {
    if (row['p_id'] != null) personById.set(row['p_id'] as string, personSummaryOf(row));
    else
      teamRows.push({
        memberId: row['t_member_id'] as string,
        id: row['t_id'] as string,
        name: row['t_name'] as string,
      });
  }
  const roleById = new Map<string, RoleRef | null>(known);
  for (const row of roles) roleById.set(row['r_id'] as string, roleRefOf(row));
  return memberListDtos(
    manager,
    account,
    members.map((member) => ({
      member,
      person: member.personId ? (personById.get(member.personId) ?? null) : null,
      role: roleById.get(member.roleId) ?? null,
    })),
    teamRows,
  );
}

/** A member's link to a team, with the team's name. */
interface TeamLinkRow {
  memberId: string;
  id: string;
  name: string;
}

/**
 * The JSON of members that come with their person and role (the member list's page query): adds
 * teams (read here unless the caller read them: `teamRows`) and SSO links.
 */
export async function memberListDtos(
  manager: EntityManager,
  account: AccountEntity,
  rows: readonly MemberListRow[],
  teamRows?: readonly TeamLinkRow[],
): Promise<MemberDto[]> {
  if (rows.length === 0) return [];
  const source = manager.connection;
  const match = enforcedIdentity(account);
  const links =
    teamRows ??
    (await manager.query<TeamLinkRow[]>(
      `SELECT mt.member_id AS "memberId", t.id, t.name FROM member_teams mt JOIN teams t ON t.id = mt.team_id WHERE ${inList(source, 'mt.member_id', 1)}`,
      [
        listParameter(
          source,
          rows.map((row) => row.member.id),
        ),
      ],
    ));
  const personIds = rows.map((row) => row.member.personId).filter((id): id is string => id !== null);
  const linked = match ? await personsWithIdentity(manager, personIds, match) : new Set<string>();
  const teamsOf = new Map<string, TeamRef[]>();
  for (const { memberId, id, name } of links)
    (teamsOf.get(memberId) ?? teamsOf.set(memberId, []).get(memberId)!).push({ id, name });
  return rows.map(({ member, person, role }) =>
    toMemberDto(member, account, {
      person,
      role: role ?? fallbackRole(member.roleId),
      teams: (teamsOf.get(member.id) ?? []).sort((a, b) => a.name.localeCompare(b.name)),
      enforcedAuth: match ? (member.personId && linked.has(member.personId) ? 'linked' : 'pending') : null,
    }),
  );
}

function fallbackRole(roleId: string): RoleRef {
  const system = systemRoleById(roleId);
  if (!system) throw new Error(`Role ${roleId} of a member does not exist`);
  return system;
}
