import type { EntityManager } from 'typeorm';
import type { CommittedMember } from '../events/domain-events.js';
import type { AccountEntity } from './entities/account.entity.js';
import type { MemberEntity } from './entities/member.entity.js';
import { RoleEntity } from './entities/role.entity.js';
import { loadMemberDtos } from './members.dto.js';

/**
 * A changed member as its transaction will commit it, for `memberChanged(…, committed)`: read in
 * the transaction after the change's last write of the member, so the live layer pushes exactly this
 * and reads nothing after the COMMIT — a later change of the same member, committed before a delivery
 * that read would have run, is never pushed under this change's seq and reason. With
 * `permissionsChanged` it carries the member's row, its role (`role` when the change holds it, else
 * read here) and the account, to resolve the set pushed to the member's sessions.
 */
export async function committedMember(
  manager: EntityManager,
  account: AccountEntity,
  member: MemberEntity,
  options: { permissionsChanged: boolean; role?: RoleEntity | undefined },
): Promise<CommittedMember> {
  const { permissionsChanged, role } = options;
  const current = !permissionsChanged
    ? null
    : role?.id === member.roleId
      ? role
      : await manager.getRepository(RoleEntity).findOneByOrFail({ id: member.roleId });
  const [dto] = await loadMemberDtos(manager, account, [member], current ? [current] : []);
  // The member entity, as saved, is its own permission row (id, status, role, agent access, version).
  return { member: dto!, permissions: current && { row: member, role: current, account } };
}
