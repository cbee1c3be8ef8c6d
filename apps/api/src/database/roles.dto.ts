import type { RoleDto } from '@rolecall/contracts';
import { In, IsNull, type EntityManager } from 'typeorm';
import { MemberEntity } from './entities/member.entity.js';
import { PersonEntity } from './entities/person.entity.js';
import { RoleEntity } from './entities/role.entity.js';
import { rolePermissions } from './permissions.service.js';

/** Active holders shown on a role's card. */
const MEMBERS_SHOWN = 100;

/** System roles first (Admin, Editor, Read only), then the account's custom roles in their order. */
export async function orderedRoles(manager: EntityManager, accountId: string): Promise<RoleEntity[]> {
  const repo = manager.getRepository(RoleEntity);
  const system = await repo.find({ where: { accountId: IsNull() }, order: { position: 'ASC' } });
  const custom = await repo.find({ where: { accountId }, order: { position: 'ASC', createdAt: 'ASC' } });
  return [...system, ...custom];
}

/**
 * Roles as the API answers them: permissions, active and invited counts and the first active
 * holders (by name); `position` is the index in `roles`.
 */
export async function roleDtos(manager: EntityManager, accountId: string, roles: RoleEntity[]): Promise<RoleDto[]> {
  if (roles.length === 0) return [];
  const ids = roles.map((r) => r.id);
  const counts: { roleId: string; status: string; n: string | number }[] = await manager
    .getRepository(MemberEntity)
    .createQueryBuilder('m')
    .select('m.role_id', 'roleId')
    .addSelect('m.status', 'status')
    .addSelect('COUNT(*)', 'n')
    .where('m.account_id = :accountId AND m.role_id IN (:...ids)', { accountId, ids })
    .groupBy('m.role_id')
    .addGroupBy('m.status')
    .getRawMany();
  const shown = new Map<string, RoleDto['members']>();
  for (const role of roles) {
    const members = await manager.getRepository(MemberEntity).find({
      where: { accountId, roleId: role.id, status: 'active' },
      order: { sortName: 'ASC' },
      take: MEMBERS_SHOWN,
      select: { id: true, name: true, personId: true },
    });
    const persons = members.length
      ? await manager.getRepository(PersonEntity).find({
          where: { id: In(members.map((m) => m.personId!).filter(Boolean)) },
          select: { id: true, avatarUrl: true },
        })
      : [];
    const avatar = new Map(persons.map((p) => [p.id, p.avatarUrl]));
    shown.set(
      role.id,
      members.map((m) => ({ id: m.id, name: m.name, avatarUrl: (m.personId && avatar.get(m.personId)) || null })),
    );
  }
  const count = (roleId: string, status: string) =>
    Number(counts.find((c) => c.roleId === roleId && c.status === status)?.n ?? 0);
  return roles.map((role, index) => ({
    id: role.id,
    name: role.name,
    description: role.description,
    icon: role.icon,
    system: role.accountId === null,
    permissions: [...rolePermissions(role)],
    position: index,
    memberCount: count(role.id, 'active'),
    invitedCount: count(role.id, 'invited'),
    members: shown.get(role.id) ?? [],
    version: role.version,
  }));
}

/** One role as `GET /roles/:id` answers it, with its place in the account's order. */
export async function loadRoleDto(manager: EntityManager, accountId: string, role: RoleEntity): Promise<RoleDto> {
  const ordered = await orderedRoles(manager, accountId);
  const [dto] = await roleDtos(manager, accountId, [role]);
  return { ...dto!, position: ordered.findIndex((r) => r.id === role.id) };
}
