import { systemRoleById, type EnforcedAuthState, type MemberDto, type PermissionKey, type TeamRef } from '@rolecall/contracts';
import type { EntityManager } from 'typeorm';
import type { AccountEntity } from '../accounts/account.entity.js';
import { inList, listParameter } from '../database/entity-columns.js';
import { enforcedIdentity, personsWithIdentity } from '../sso/identities.js';
import { RoleEntity } from '../roles/role.entity.js';
import type { MemberEntity } from './member.entity.js';
import type { ListedMember, MemberListRow } from './members.repository.js';

/** What a member's JSON shows of its person. */
export interface PersonSummary {
  name: string;
  avatarUrl: string | null;
  twoFactorEnabled: boolean;
}

export type RoleRef = Pick<RoleEntity, 'id' | 'name' | 'icon'>;

/** What a member's JSON is made from, loaded in batches by `loadMemberDtos`. */
export interface MemberDtoParts {
  person: PersonSummary | null;
  role: RoleRef;
  teams: TeamRef[];
  /** Under SSO enforcement: whether the person has an identity of the enforced provider; null otherwise. */
  enforcedAuth: EnforcedAuthState | null;
}

export function toMemberDto(member: ListedMember, account: AccountEntity, parts: MemberDtoParts): MemberDto {
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
export async function loadMemberDtos(manager: EntityManager, account: AccountEntity, members: MemberEntity[]): Promise<MemberDto[]> {
  if (members.length === 0) return [];
  const personIds = [...new Set(members.map((m) => m.personId).filter((id): id is string => id !== null))];
  const roleIds = [...new Set(members.map((m) => m.roleId))];
  const source = manager.connection;
  // Prepared statements with the ids as one parameter (see EntityColumns); one after another: the
  // manager may be a transaction's, and one connection cannot run queries in parallel.
  const persons = personIds.length
    ? await manager.query<{ id: string; name: string; avatarUrl: string | null; totp: number | boolean }[]>(
        `SELECT p.id, p.name, p.avatar_url AS "avatarUrl", CASE WHEN p.totp_secret IS NULL THEN 0 ELSE 1 END AS totp FROM persons p WHERE ${inList(source, 'p.id', 1)}`,
        [listParameter(source, personIds)],
      )
    : [];
  const roles = await manager.query<RoleRef[]>(`SELECT r.id, r.name, r.icon FROM roles r WHERE ${inList(source, 'r.id', 1)}`, [listParameter(source, roleIds)]);
  const personById = new Map(persons.map((p) => [p.id, { name: p.name, avatarUrl: p.avatarUrl, twoFactorEnabled: Number(p.totp) === 1 }]));
  const roleById = new Map(roles.map((r) => [r.id, r]));
  return memberListDtos(
    manager,
    account,
    members.map((member) => ({
      member,
      person: member.personId ? (personById.get(member.personId) ?? null) : null,
      role: roleById.get(member.roleId) ?? null,
    })),
  );
}

/** The JSON of members that come with their person and role (the member list's page query): adds teams and SSO links. */
export async function memberListDtos(manager: EntityManager, account: AccountEntity, rows: readonly MemberListRow[]): Promise<MemberDto[]> {
  if (rows.length === 0) return [];
  const source = manager.connection;
  const match = enforcedIdentity(account);
  const teamRows = await manager.query<{ memberId: string; id: string; name: string }[]>(
    `SELECT mt.member_id AS "memberId", t.id, t.name FROM member_teams mt JOIN teams t ON t.id = mt.team_id WHERE ${inList(source, 'mt.member_id', 1)}`,
    [listParameter(source, rows.map((row) => row.member.id))],
  );
  const personIds = rows.map((row) => row.member.personId).filter((id): id is string => id !== null);
  const linked = match ? await personsWithIdentity(manager, personIds, match) : new Set<string>();
  const teamsOf = new Map<string, TeamRef[]>();
  for (const { memberId, id, name } of teamRows) (teamsOf.get(memberId) ?? teamsOf.set(memberId, []).get(memberId)!).push({ id, name });
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

/** The permission keys a role grants: system roles from the catalogue, custom roles as stored. */
export function rolePermissions(role: Pick<RoleEntity, 'id' | 'permissions'>): readonly PermissionKey[] {
  return systemRoleById(role.id)?.permissions ?? role.permissions;
}
