import type { AccountDto, AccountSummaryDto } from '@rolecall/contracts';
import { agentCost, countSeatsGrouped, planLimits, type SeatCount } from '@rolecall/domain';
import { LRUCache } from 'lru-cache';
import { In, type DataSource, type EntityManager } from 'typeorm';
import { MemberEntity } from './entities/member.entity.js';
import { AccountEntity } from './entities/account.entity.js';

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
  return countSeatsGrouped(
    rows.map((row) => ({ status: row.status, agentAccess: Boolean(row.agentAccess), count: Number(row.n) })),
  );
}

/** Usages per data source (one app): at most 1,000, least recently used out first. */
const usageCache = new WeakMap<DataSource, LRUCache<string, SeatCount>>();

/**
 * Seat usage for showing (`GET /me`, `GET /account`, the live layer's resync), cached by the
 * account's activity seq as `MemberTotals` caches list totals: every change of a member's status or
 * agent access is logged in the account's activity in its own transaction, so a seq names one usage
 * on every node. The seq is read (with the account) before the count, so a count stored under a
 * seq is never older than it. Inside a transaction (seat checks, a change's answer) it is always
 * counted: the change may not have been logged yet.
 */
async function seatUsage(manager: EntityManager, account: AccountEntity): Promise<SeatCount> {
  if (manager.queryRunner) return seatCount(manager, account.id);
  let cache = usageCache.get(manager.connection);
  if (!cache) usageCache.set(manager.connection, (cache = new LRUCache({ max: 1_000 })));
  const key = `${account.id}|${account.activitySeq}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const usage = await seatCount(manager, account.id);
  cache.set(key, usage);
  return usage;
}

function toAccountDto(account: AccountEntity, seats: SeatCount): AccountDto {
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
    okta:
      account.oktaIssuer && account.oktaClientId
        ? { issuer: account.oktaIssuer, clientId: account.oktaClientId }
        : null,
    teamsEnabled: account.teamsEnabled,
    validated: account.validatedAt !== null,
    rolesVersion: account.rolesVersion,
    activitySeq: account.activitySeq,
    version: account.version,
    createdAt: account.createdAt,
  };
}

export async function loadAccountDto(manager: EntityManager, account: AccountEntity): Promise<AccountDto> {
  return toAccountDto(account, await seatUsage(manager, account));
}

/** Active memberships of a person, oldest first, for the account switcher. */
export async function accountsOf(manager: EntityManager, personId: string): Promise<AccountSummaryDto[]> {
  const members = await manager
    .getRepository(MemberEntity)
    .find({ where: { personId, status: 'active' }, order: { joinedAt: 'ASC' } });
  if (members.length === 0) return [];
  const accounts = await manager.getRepository(AccountEntity).find({
    where: { id: In(members.map((m) => m.accountId)) },
    select: { id: true, name: true },
  });
  const nameOf = new Map(accounts.map((a) => [a.id, a.name]));
  return members.map((m) => ({
    id: m.accountId,
    name: nameOf.get(m.accountId) ?? '',
    memberId: m.id,
    status: m.status,
  }));
}
