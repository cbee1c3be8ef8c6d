import { Inject, Injectable } from '@nestjs/common';
import { type AccountEvent, type BulkAction, type BulkEventData, type SyncResult } from '@rolecall/contracts';
import { In, type EntityManager } from 'typeorm';
import { accountEvent, memberEvent, memberEvents, roleEvent, teamEvent } from '../database/account-events.js';
import { AccountEntity } from '../database/entities/account.entity.js';
import type { ActivityEntity } from '../database/entities/activity.entity.js';
import { ActivityService } from '../database/activity.service.js';
import { Database } from '../database/database.service.js';
import { bulkAccountEvents } from '../database/bulk-events.js';
import { ReadBatcher } from '../database/read-batcher.js';

/** A client further behind than this reloads instead of replaying. */
const SYNC_LIMIT = 500;
/** Syncs one batch answers at most, and batches out at once (the rest gather for the next). */
const SYNC_BATCH = 200;
const SYNC_BATCHES_AT_ONCE = 2;

type SyncAnswer = SyncResult | { resync: true };
type SyncOutcome = { answer: SyncAnswer } | { error: unknown };

/**
 * Replays account events from the activity log for a client that missed some (`sync`), with the
 * builders a change uses to hand its events over as it commits (database/account-events.ts):
 * replayed events carry the resource as it is now, with the seq of the entry that changed it.
 */
@Injectable()
export class LiveSync {
  /** Syncs arriving in one turn of the event loop, answered together (`since`). */
  private readonly batches = new ReadBatcher<string, SyncOutcome>((keys) => this.answer(keys), {
    maxBatch: SYNC_BATCH,
    maxInFlight: SYNC_BATCHES_AT_ONCE,
    failed: (error) => error,
  });

  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(ActivityService) private readonly activity: ActivityService,
  ) {}

  /**
   * The account's events after `afterSeq`, or `{ resync: true }` when the client is ahead or more
   * than SYNC_LIMIT behind. Syncs arriving together (a reconnect storm: every session sends one)
   * share their reads (`batches`): one read of their accounts, one of each account's log from the
   * lowest seq asked, each replayed entry's event built once — every sync still gets exactly what it
   * gets alone, from reads made after it arrived; nothing is kept between batches. A client already
   * at the account's seq costs its share of the accounts' read only.
   */
  async since(accountId: string, afterSeq: number): Promise<SyncAnswer> {
    const outcome = await this.batches.get(`${accountId}\u0000${afterSeq}`);
    if (!outcome) throw new Error(`No sync answer for account ${accountId} after ${afterSeq}`);
    if ('error' in outcome) throw outcome.error;
    return outcome.answer;
  }

  /** The answers of one batch of syncs, by `accountId \0 afterSeq`; a failure is its own key's answer. */
  private async answer(keys: readonly string[]): Promise<Map<string, SyncOutcome>> {
    const asked = new Map<string, number[]>();
    for (const key of keys) {
      const [accountId, afterSeq] = key.split('\u0000') as [string, string];
      asked.set(accountId, [...(asked.get(accountId) ?? []), Number(afterSeq)]);
    }
    const accounts = await this.db.read((m) => m.getRepository(AccountEntity).findBy({ id: In([...asked.keys()]) }));
    const byId = new Map(accounts.map((account) => [account.id, account]));
    const out = new Map<string, SyncOutcome>();
    await Promise.all(
      [...asked].map(async ([accountId, afterSeqs]) => {
        const account = byId.get(accountId);
        const keyOf = (afterSeq: number) => `${accountId}\u0000${afterSeq}`;
        if (!account) {
          const error = new Error(`Account ${accountId} not found`);
          for (const afterSeq of afterSeqs) out.set(keyOf(afterSeq), { error });
          return;
        }
        try {
          for (const [afterSeq, answer] of await this.replays(account, afterSeqs)) out.set(keyOf(afterSeq), { answer });
        } catch (error) {
          for (const afterSeq of afterSeqs) out.set(keyOf(afterSeq), { error });
        }
      }),
    );
    return out;
  }

  /** Each `afterSeq`'s answer for one account, as read just now (`account`). */
  private async replays(account: AccountEntity, afterSeqs: readonly number[]): Promise<Map<number, SyncAnswer>> {
    const seq = account.activitySeq;
    const answers = new Map<number, SyncAnswer>();
    const behind: number[] = [];
    for (const afterSeq of afterSeqs) {
      if (afterSeq > seq || seq - afterSeq > SYNC_LIMIT) answers.set(afterSeq, { resync: true });
      else if (afterSeq === seq) answers.set(afterSeq, { events: [], seq });
      else behind.push(afterSeq);
    }
    if (behind.length === 0) return answers;
    // Every client behind is at most SYNC_LIMIT behind `seq`: the log from the lowest holds each one's
    // entries (and, as alone, the first SYNC_LIMIT after its own seq).
    const from = Math.min(...behind);
    const log = await this.activity.since(account.id, from, SYNC_LIMIT + (Math.max(...behind) - from));
    await this.db.read(async (manager) => {
      // One event list per entry that replays on its own; a bulk action's parts depend on where the
      // client's replay starts, so they are built per starting point.
      const single = new Map<number, Promise<AccountEvent[]>>();
      const bulks = new Map<string, Promise<AccountEvent[]>>();
      for (const afterSeq of behind) {
        const entries = log.filter((entry) => entry.seq > afterSeq).slice(0, SYNC_LIMIT);
        const out: AccountEvent[] = [];
        for (let i = 0; i < entries.length; i++) {
          // The entries of one bulk action replay as its `users.bulk` parts, as they went out live.
          const bulkId = bulkIdOf(entries[i]!);
          if (bulkId) {
            let end = i + 1;
            while (end < entries.length && bulkIdOf(entries[end]!) === bulkId) end++;
            const run = entries.slice(i, end);
            const runKey = `${run[0]!.seq}-${run.at(-1)!.seq}`;
            let built = bulks.get(runKey);
            if (!built) {
              built = bulkAccountEvents(
                manager,
                account,
                bulkSummary(run),
                run[0]!.seq,
                run.map((e) => e.targetId!),
              );
              bulks.set(runKey, built);
            }
            out.push(...(await built));
            i = end - 1;
          } else {
            const entry = entries[i]!;
            let built = single.get(entry.seq);
            if (!built) {
              built = this.eventsFor(manager, account, entry);
              single.set(entry.seq, built);
            }
            out.push(...(await built));
          }
        }
        answers.set(afterSeq, { events: out, seq });
      }
    });
    return answers;
  }

  /** The account events an activity entry stands for (none for sign-ins and sign-outs). */
  private async eventsFor(
    manager: EntityManager,
    account: AccountEntity,
    entry: ActivityEntity,
  ): Promise<AccountEvent[]> {
    const seq = entry.seq;
    const target = entry.targetId;
    switch (entry.action) {
      case 'ownership.transferred':
      case 'billing.transferred': {
        const before = (entry.changes?.['ownerId'] ?? entry.changes?.['billingContactId']) as
          { before?: string } | undefined;
        const members = [before?.before, target].filter((id): id is string => typeof id === 'string');
        return [await accountEvent(manager, account.id, seq), ...(await memberEvents(manager, account, members, seq))];
      }
      case 'roles.reordered':
        return [
          {
            event: 'roles.reordered',
            data: { seq, roleIds: (entry.changes?.['roleIds'] as { after?: string[] } | undefined)?.after ?? [] },
          },
        ];
      // A new name, 2FA turned on or off, or removed by a claimed email (which may rename the person too): the member JSON changed.
      case 'person.renamed':
      case 'person.2fa_enabled':
      case 'person.2fa_disabled':
      case 'person.email_claimed':
        return entry.actorMemberId ? [await memberEvent(manager, account, entry.actorMemberId, seq)] : [];
      case 'session.signed_in':
      case 'session.signed_out':
        return [];
      default:
        break;
    }
    if (!target) return [];
    switch (entry.targetType) {
      case 'member':
        return [await memberEvent(manager, account, target, seq)];
      case 'role':
        return [await roleEvent(manager, account.id, target, seq)];
      case 'team':
        return [await teamEvent(manager, account.id, target, seq)];
      case 'account':
        return [await accountEvent(manager, account.id, seq)];
      default:
        return [];
    }
  }
}

function bulkIdOf(entry: ActivityEntity): string | null {
  const id = entry.changes?.['bulkId'];
  return typeof id === 'string' && entry.targetType === 'member' && entry.targetId ? id : null;
}

/** What the `users.bulk` events of a replayed bulk say of it, read from its entries' changes. */
function bulkSummary(
  entries: ActivityEntity[],
): Omit<BulkEventData, 'seq' | 'fromSeq' | 'total' | 'members' | 'removedIds'> {
  const first = entries[0]!;
  const changes = first.changes ?? {};
  const names = (changes['names'] ?? {}) as Record<string, string>;
  const action = changes['bulkAction'] as BulkAction;
  const summary: Omit<BulkEventData, 'seq' | 'fromSeq' | 'total' | 'members' | 'removedIds'> = {
    bulkId: changes['bulkId'] as string,
    action,
    actor: {
      id: first.actorMemberId,
      name: first.actorMemberId ? (names[first.actorMemberId] ?? first.actorEmail) : (first.actorName ?? null),
    },
  };
  if (action === 'role') {
    const roleId = (changes['roleId'] as { after: string }).after;
    summary.role = { id: roleId, name: (changes['role'] as { after: string }).after };
  }
  if (action === 'agentAccess') summary.agentAccess = (changes['agentAccess'] as { after: boolean }).after;
  if (action === 'addTeam' || action === 'removeTeam') {
    const { before, after } = changes['teamIds'] as { before: string[]; after: string[] };
    const teamId =
      action === 'addTeam' ? after.find((id) => !before.includes(id)) : before.find((id) => !after.includes(id));
    if (teamId) summary.team = { id: teamId, name: names[teamId] ?? '' };
  }
  return summary;
}
