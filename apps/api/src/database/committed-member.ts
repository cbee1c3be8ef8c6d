import type { MemberDto, PermissionChangeReason } from '@rolecall/contracts';
import type { EntityManager } from 'typeorm';
import { memberChanged, type CommittedMember } from '../events/domain-events.js';
import type { Tx } from './database.service.js';
import type { AccountEntity } from './entities/account.entity.js';
import type { MemberEntity } from './entities/member.entity.js';
import { RoleEntity } from './entities/role.entity.js';
import { loadMemberDtos } from './members.dto.js';

/**
 * A changed member as its transaction will commit it, for `memberChanged(…, committed, …)`: read in
 * the transaction after the change's last write of the member, so the live layer pushes exactly this
 * and reads nothing after the COMMIT — a later change of the same member, committed before a delivery
 * that read would have run, is never pushed under this change's seq and reason. With
 * `permissionsChanged` it carries the member's row, its role (`role` when the change holds it, else
 * read here) and the account, to resolve the set pushed to the member's sessions.
 */
async function committedMember(
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
  return { member: dto!, permissions: current && { rows: [member], roles: [current], account } };
}

/**
 * Queues `member.changed` for the activity entry `seq` with the member as this transaction leaves it
 * (`committedMember`; call it after the change's last write of the member). Every change that pushes
 * a member goes through here or builds the same event from `committedMember`: none is pushed from a
 * read after its COMMIT. `reason`: the member's effective permissions changed (`role`: the role the
 * change already holds, when it is the member's). Returns what is pushed; its DTO doubles as the
 * change's response.
 */
export async function publishMemberChanged(
  tx: Tx,
  account: AccountEntity,
  member: MemberEntity,
  seq: number,
  reason: PermissionChangeReason | null = null,
  role?: RoleEntity,
): Promise<CommittedMember> {
  const committed = await committedMember(tx.manager, account, member, { permissionsChanged: reason !== null, role });
  tx.publish(memberChanged(account.id, seq, committed, reason));
  return committed;
}

/**
 * `publishMemberChanged` for many members, each with the seq of its own activity entry: their DTOs
 * in one read after the last write, in order, returned for the response. `change`: their effective
 * permissions changed, and each now holds `change.role` (a SCIM group push moves many members to one
 * role); without it, only their JSON did (new invitations: a batch, a CSV import).
 */
export async function publishMembersChanged(
  tx: Tx,
  account: AccountEntity,
  changed: readonly { member: MemberEntity; seq: number }[],
  change: { reason: PermissionChangeReason; role: RoleEntity } | null = null,
): Promise<MemberDto[]> {
  if (change) {
    // The set pushed is the role's: pushing it to a member who holds another would be wrong access.
    const other = changed.find(({ member }) => member.roleId !== change.role.id);
    if (other) throw new Error(`Member ${other.member.id} does not hold role ${change.role.id}`);
  }
  const dtos = await loadMemberDtos(
    tx.manager,
    account,
    changed.map(({ member }) => member),
    change ? [change.role] : [],
  );
  changed.forEach(({ member, seq }, i) =>
    tx.publish(
      memberChanged(
        account.id,
        seq,
        { member: dtos[i]!, permissions: change ? { rows: [member], roles: [change.role], account } : null },
        change?.reason ?? null,
      ),
    ),
  );
  return dtos;
}
