import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import { Clock } from '../common/clock.js';
import { Database, type Tx } from '../database/database.service.js';
import { ActivityEntity } from './activity.entity.js';
import { AccountEntity } from '../accounts/account.entity.js';
import type { ActivityEntryDto, PageDto } from '@rolecall/contracts';

/** Who did it, from where: taken from the request by the controller. */
export interface Actor {
  readonly memberId: string | null;
  readonly email: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export interface ActivityInput {
  readonly action: string;
  readonly target: { type: string; id: string | null; label: string | null };
  readonly changes?: Record<string, unknown> | null;
}

/** The fields covered by the hash: everything but `id`, `prevHash` and `hash` themselves. */
export function hashedContent(entry: Omit<ActivityEntity, 'id' | 'prevHash' | 'hash'>): Record<string, unknown> {
  return {
    accountId: entry.accountId,
    seq: entry.seq,
    at: entry.at,
    actorMemberId: entry.actorMemberId,
    actorEmail: entry.actorEmail,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    targetLabel: entry.targetLabel,
    changes: entry.changes,
    ip: entry.ip,
    userAgent: entry.userAgent,
  };
}

/** `hash = sha256(prevHash + canonical JSON of the entry)` (RFC 8785 canonical JSON). */
export function chainHash(prevHash: string, content: Record<string, unknown>): string {
  return createHash('sha256')
    .update(prevHash + canonicalize(content))
    .digest('hex');
}

/**
 * The audit log. `append` runs inside the mutation's transaction, after `Database.lockAccount`,
 * so seq is gap-free and the chain has one head per account.
 */
@Injectable()
export class ActivityService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async append(tx: Tx, account: AccountEntity, actor: Actor, input: ActivityInput): Promise<ActivityEntity> {
    const seq = account.activitySeq + 1;
    const content = {
      accountId: account.id,
      seq,
      at: this.clock.now().toISOString(),
      actorMemberId: actor.memberId,
      actorEmail: actor.email,
      action: input.action,
      targetType: input.target.type,
      targetId: input.target.id,
      targetLabel: input.target.label?.slice(0, 300) ?? null,
      changes: input.changes ?? null,
      ip: actor.ip?.slice(0, 64) ?? null,
      userAgent: actor.userAgent?.slice(0, 300) ?? null,
    };
    const prevHash = account.activityHash;
    const entry = tx.manager.getRepository(ActivityEntity).create({
      id: randomUUID(),
      ...content,
      prevHash,
      hash: chainHash(prevHash, hashedContent(content)),
    });
    // simple-json column: TypeORM's deep-partial type cannot express an open record.
    await tx.manager.getRepository(ActivityEntity).insert(entry as never);
    await tx.manager
      .getRepository(AccountEntity)
      .update({ id: account.id }, { activitySeq: seq, activityHash: entry.hash });
    account.activitySeq = seq;
    account.activityHash = entry.hash;
    tx.publish({ type: 'activity.appended', entry });
    return entry;
  }

  /** Entries newest first, filtered (actor member, target member, actions, time range), keyset by seq. */
  async list(
    accountId: string,
    query: { actor?: string | undefined; member?: string | undefined; action?: string[] | undefined; from?: string | undefined; to?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<PageDto<ActivityEntryDto>> {
    return this.db.read(async (manager) => {
      const q = manager.getRepository(ActivityEntity).createQueryBuilder('a').where('a.account_id = :accountId', { accountId });
      if (query.actor) q.andWhere('a.actor_member_id = :actor', { actor: query.actor });
      if (query.member) q.andWhere("a.target_type = 'member' AND a.target_id = :member", { member: query.member });
      if (query.action?.length) q.andWhere('a.action IN (:...actions)', { actions: query.action });
      if (query.from) q.andWhere('a.at >= :from', { from: new Date(query.from).toISOString() });
      if (query.to) q.andWhere('a.at < :to', { to: new Date(query.to).toISOString() });
      if (query.cursor) q.andWhere('a.seq < :cursor', { cursor: Number(query.cursor) });
      const rows = await q.orderBy('a.seq', 'DESC').limit(query.limit + 1).getMany();
      const more = rows.length > query.limit;
      if (more) rows.pop();
      return { items: rows.map(toActivityDto), nextCursor: more ? String(rows.at(-1)!.seq) : null };
    });
  }

  /** Entries after `afterSeq`, oldest first (for catching up on missed events). */
  async since(accountId: string, afterSeq: number, limit: number): Promise<ActivityEntity[]> {
    return this.db.read((manager) =>
      manager.getRepository(ActivityEntity).createQueryBuilder('a').where('a.account_id = :accountId AND a.seq > :afterSeq', { accountId, afterSeq }).orderBy('a.seq', 'ASC').limit(limit).getMany(),
    );
  }

  /** Walks the chain from the first entry: `{ ok, checked, firstBadSeq }`. */
  async verify(accountId: string): Promise<{ ok: boolean; checked: number; firstBadSeq: number | null }> {
    const entries = await this.db.read((manager) =>
      manager.getRepository(ActivityEntity).find({ where: { accountId }, order: { seq: 'ASC' } }),
    );
    let prevHash = '';
    let expectedSeq = 1;
    for (const entry of entries) {
      const bad = entry.seq !== expectedSeq || entry.prevHash !== prevHash || entry.hash !== chainHash(prevHash, hashedContent(entry));
      if (bad) return { ok: false, checked: expectedSeq - 1, firstBadSeq: entry.seq };
      prevHash = entry.hash;
      expectedSeq += 1;
    }
    return { ok: true, checked: entries.length, firstBadSeq: null };
  }
}

export function toActivityDto(entry: ActivityEntity): ActivityEntryDto {
  return {
    seq: entry.seq,
    at: entry.at,
    actor: { memberId: entry.actorMemberId, email: entry.actorEmail },
    action: entry.action,
    target: { type: entry.targetType, id: entry.targetId, label: entry.targetLabel },
    changes: entry.changes,
    ip: entry.ip,
    userAgent: entry.userAgent,
    hash: entry.hash,
    prevHash: entry.prevHash,
  };
}
