import type { AccountDto } from '@rolecall/contracts';
import { agentCost, countSeatsGrouped, planLimits, type SeatCount } from '@rolecall/domain';
import type { EntityManager } from 'typeorm';
import { MemberEntity } from '../members/member.entity.js';
import type { AccountEntity } from './account.entity.js';

/** Seat and agent-seat usage of an account, counted in the database. */
export async function seatCount(manager: EntityManager, accountId: string): Promise<SeatCount> {
  const rows: { status: MemberEntity['status']; agentAccess: boolean | number; n: string | number }[] = await manager
    .getRepository(MemberEntity)
    .createQueryBuilder('m')
    .select('m.status', 'status')
    .addSelect('m.agent_access', 'agentAccess')
    .addSelect('COUNT(*)', 'n')
    .where('m.account_id = :accountId', { accountId })
    .groupBy('m.status')
    .addGroupBy('m.agent_access')
    .getRawMany();
  return countSeatsGrouped(rows.map((row) => ({ status: row.status, agentAccess: Boolean(row.agentAccess), count: Number(row.n) })));
}

export function toAccountDto(account: AccountEntity, seats: SeatCount): AccountDto {
  const limits = planLimits(account.plan);
  const cost = agentCost(account.plan, seats.agents);
  return {
    id: account.id,
    name: account.name,
    plan: account.plan,
    seats: { limit: limits.seats, used: seats.used, invited: seats.invited },
    agentSeats: { limit: limits.agentSeats, used: seats.agents, ...cost },
    ownerId: account.ownerMemberId,
    billingContactId: account.billingContactMemberId,
    authEnforcement: account.authEnforcement,
    require2fa: account.require2fa,
    okta: account.oktaIssuer && account.oktaClientId ? { issuer: account.oktaIssuer, clientId: account.oktaClientId } : null,
    teamsEnabled: account.teamsEnabled,
    validated: account.validatedAt !== null,
    rolesVersion: account.rolesVersion,
    activitySeq: account.activitySeq,
    version: account.version,
    createdAt: account.createdAt,
  };
}

export async function loadAccountDto(manager: EntityManager, account: AccountEntity): Promise<AccountDto> {
  return toAccountDto(account, await seatCount(manager, account.id));
}
