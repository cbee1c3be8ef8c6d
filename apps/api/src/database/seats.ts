import { checkSeats, seatUsageAfter, type SeatCount } from '@rolecall/domain';
import type { EntityManager } from 'typeorm';
import { DomainError } from '../common/domain-error.js';
import type { AccountEntity } from './entities/account.entity.js';
import { seatCount } from './accounts.dto.js';

/**
 * Refuses a change that would take the account past its plan's seats or agent seats. Called
 * inside the transaction that holds the account lock, so racing changes cannot both pass.
 */
export async function assertSeatsFor(
  manager: EntityManager,
  account: AccountEntity,
  change: { seats: number; agents: number; invited?: number },
): Promise<SeatCount> {
  const before = await seatCount(manager, account.id);
  const after = seatUsageAfter(before, change);
  const check = checkSeats(account.plan, after);
  if (!check.ok) {
    const what = check.code === 'SEAT_LIMIT_REACHED' ? 'seats' : 'agent seats';
    const used = check.code === 'SEAT_LIMIT_REACHED' ? before.used : before.agents;
    const requested = check.code === 'SEAT_LIMIT_REACHED' ? change.seats : change.agents;
    throw new DomainError(
      check.code,
      `The ${account.plan} plan has ${check.limit} ${what}; ${used} are in use and this needs ${requested} more`,
      {
        limit: check.limit,
        used,
        requested,
      },
    );
  }
  return after;
}
