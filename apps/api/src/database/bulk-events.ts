import { BULK_EVENT_PART, type AccountEvent, type BulkEventData } from '@rolecall/contracts';
import { In, type EntityManager } from 'typeorm';
import type { AccountEntity } from './entities/account.entity.js';
import { MemberEntity } from './entities/member.entity.js';
import { loadMemberDtos } from './members.dto.js';

/**
 * A bulk action's `users.bulk` events: `memberIds[i]` changed with the entry of seq `fromSeq + i`;
 * parts of `BULK_EVENT_PART` members, each with its own seq range. A member gone (cancelled, deleted)
 * is in `removedIds`. Built inside the bulk's own transaction after its last write (the live push:
 * the members as it committed them) and for `sync` replays (the members as they are now).
 */
export async function bulkAccountEvents(
  manager: EntityManager,
  account: AccountEntity,
  bulk: Omit<BulkEventData, 'seq' | 'fromSeq' | 'total' | 'members' | 'removedIds'>,
  fromSeq: number,
  memberIds: readonly string[],
): Promise<AccountEvent[]> {
  const events: AccountEvent[] = [];
  for (let start = 0; start < memberIds.length; start += BULK_EVENT_PART) {
    const ids = memberIds.slice(start, start + BULK_EVENT_PART);
    const found =
      bulk.action === 'cancel'
        ? []
        : await manager.getRepository(MemberEntity).findBy({ accountId: account.id, id: In(ids) });
    const members = await loadMemberDtos(manager, account, found);
    const present = new Set(found.map((m) => m.id));
    events.push({
      event: 'users.bulk',
      data: {
        ...bulk,
        fromSeq: fromSeq + start,
        seq: fromSeq + start + ids.length - 1,
        total: memberIds.length,
        members,
        removedIds: ids.filter((id) => !present.has(id)),
      },
    });
  }
  return events;
}
