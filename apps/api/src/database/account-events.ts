import type { AccountEvent } from '@rolecall/contracts';
import { In, type EntityManager } from 'typeorm';
import { loadAccountDto } from './accounts.dto.js';
import { AccountEntity } from './entities/account.entity.js';
import { MemberEntity } from './entities/member.entity.js';
import { RoleEntity } from './entities/role.entity.js';
import { TeamEntity } from './entities/team.entity.js';
import { loadMemberDtos } from './members.dto.js';
import { loadRoleDto } from './roles.dto.js';
import { teamDto } from './teams.dto.js';
import type { AccountUpdatedEvent, MemberEvent, TeamEvent } from '../events/domain-events.js';

/**
 * The account events of SPEC §6 for one resource with the seq of the entry that changed it, as
 * `manager` sees the resource: inside a change's transaction after its last write (the live push,
 * as it committed: see committed-events.ts), or now (a `sync` replay, LiveSync). A resource gone is
 * its `*.removed` event.
 */
export async function memberEvent(
  manager: EntityManager,
  account: AccountEntity,
  memberId: string,
  seq: number,
): Promise<MemberEvent> {
  const member = await manager.getRepository(MemberEntity).findOneBy({ id: memberId, accountId: account.id });
  if (!member) return { event: 'user.removed', data: { seq, id: memberId } };
  const [dto] = await loadMemberDtos(manager, account, [member]);
  return { event: 'user.upserted', data: { seq, member: dto! } };
}

/** Members read (and their JSON built) per statement by `memberEvents`. */
const MEMBERS_AT_ONCE = 500;

/**
 * `memberEvent` for each of `memberIds`, in order, batched: a role deletion can move thousands of
 * members, and its transaction builds their events (one read and one DTO load per batch, not per member).
 */
export async function memberEvents(
  manager: EntityManager,
  account: AccountEntity,
  memberIds: readonly string[],
  seq: number,
): Promise<MemberEvent[]> {
  const events: MemberEvent[] = [];
  for (let start = 0; start < memberIds.length; start += MEMBERS_AT_ONCE) {
    const ids = memberIds.slice(start, start + MEMBERS_AT_ONCE);
    const found = await manager.getRepository(MemberEntity).findBy({ accountId: account.id, id: In([...ids]) });
    const dtos = new Map((await loadMemberDtos(manager, account, found)).map((dto) => [dto.id, dto]));
    for (const id of ids) {
      const member = dtos.get(id);
      events.push(
        member ? { event: 'user.upserted', data: { seq, member } } : { event: 'user.removed', data: { seq, id } },
      );
    }
  }
  return events;
}

/** See `memberEvent`. */
export async function roleEvent(
  manager: EntityManager,
  accountId: string,
  roleId: string,
  seq: number,
): Promise<AccountEvent> {
  const role = await manager.getRepository(RoleEntity).findOneBy({ id: roleId, accountId });
  if (!role) return { event: 'role.removed', data: { seq, id: roleId } };
  return { event: 'role.upserted', data: { seq, role: await loadRoleDto(manager, accountId, role) } };
}

/** See `memberEvent`. */
export async function teamEvent(
  manager: EntityManager,
  accountId: string,
  teamId: string,
  seq: number,
): Promise<TeamEvent> {
  const team = await manager.getRepository(TeamEntity).findOneBy({ id: teamId, accountId });
  if (!team) return { event: 'team.removed', data: { seq, id: teamId } };
  return { event: 'team.upserted', data: { seq, team: await teamDto(manager, team) } };
}

/** See `memberEvent`. */
export async function accountEvent(
  manager: EntityManager,
  accountId: string,
  seq: number,
): Promise<AccountUpdatedEvent> {
  return accountUpdated(manager, await manager.getRepository(AccountEntity).findOneByOrFail({ id: accountId }), seq);
}

/** `accountEvent` for the account as read by the caller. */
export async function accountUpdated(
  manager: EntityManager,
  account: AccountEntity,
  seq: number,
): Promise<AccountUpdatedEvent> {
  return { event: 'account.updated', data: { seq, account: await loadAccountDto(manager, account) } };
}
