import { systemRoleById, type EnforcedAuthState, type MemberDto, type PermissionKey, type TeamRef } from '@rolecall/contracts';
import { In, type EntityManager } from 'typeorm';
import type { AccountEntity } from '../accounts/account.entity.js';
import { PersonEntity } from '../persons/person.entity.js';
import { enforcedIdentity, personsWithIdentity } from '../sso/identities.js';
import { RoleEntity } from '../roles/role.entity.js';
import { MemberTeamEntity, TeamEntity } from '../teams/team.entity.js';
import type { MemberEntity } from './member.entity.js';

/** What a member's JSON is made from, loaded in batches by `loadMemberDtos`. */
export interface MemberDtoParts {
  person: PersonEntity | null;
  role: Pick<RoleEntity, 'id' | 'name' | 'icon'>;
  teams: TeamRef[];
  /** Under SSO enforcement: whether the person has an identity of the enforced provider; null otherwise. */
  enforcedAuth: EnforcedAuthState | null;
}

export function toMemberDto(member: MemberEntity, account: AccountEntity, parts: MemberDtoParts): MemberDto {
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
    twoFactorEnabled: member.status === 'invited' || !parts.person ? null : parts.person.totpSecret !== null,
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
  const match = enforcedIdentity(account);
  // One after another: the manager may be a transaction's, and one connection cannot run queries in parallel.
  const persons = personIds.length ? await manager.getRepository(PersonEntity).findBy({ id: In(personIds) }) : [];
  const roles = await manager.getRepository(RoleEntity).find({ where: { id: In(roleIds) }, select: { id: true, name: true, icon: true } });
  const links = await manager.getRepository(MemberTeamEntity).findBy({ memberId: In(members.map((m) => m.id)) });
  const linked = match ? await personsWithIdentity(manager, personIds, match) : new Set<string>();
  const teamIds = [...new Set(links.map((link) => link.teamId))];
  const teams = teamIds.length
    ? await manager.getRepository(TeamEntity).find({ where: { id: In(teamIds) }, select: { id: true, name: true } })
    : [];
  const personById = new Map(persons.map((p) => [p.id, p]));
  const roleById = new Map(roles.map((r) => [r.id, r]));
  const teamById = new Map(teams.map((t) => [t.id, { id: t.id, name: t.name }]));
  const teamsOf = new Map<string, TeamRef[]>();
  for (const link of links) {
    const team = teamById.get(link.teamId);
    if (team) (teamsOf.get(link.memberId) ?? teamsOf.set(link.memberId, []).get(link.memberId)!).push(team);
  }
  return members.map((member) =>
    toMemberDto(member, account, {
      person: member.personId ? (personById.get(member.personId) ?? null) : null,
      role: roleById.get(member.roleId) ?? fallbackRole(member.roleId),
      teams: (teamsOf.get(member.id) ?? []).sort((a, b) => a.name.localeCompare(b.name)),
      enforcedAuth: match ? (member.personId && linked.has(member.personId) ? 'linked' : 'pending') : null,
    }),
  );
}

function fallbackRole(roleId: string): Pick<RoleEntity, 'id' | 'name' | 'icon'> {
  const system = systemRoleById(roleId);
  if (!system) throw new Error(`Role ${roleId} of a member does not exist`);
  return system;
}

/** The permission keys a role grants: system roles from the catalogue, custom roles as stored. */
export function rolePermissions(role: Pick<RoleEntity, 'id' | 'permissions'>): readonly PermissionKey[] {
  return systemRoleById(role.id)?.permissions ?? role.permissions;
}
