import { Inject, Injectable } from '@nestjs/common';
import type { ActivityExportLine } from '@rolecall/contracts';
import { stringify } from 'csv-stringify/sync';
import type { Response } from 'express';
import { AccountEntity } from '../database/entities/account.entity.js';
import { notFound } from '../common/domain-error.js';
import { write } from '../common/stream-write.js';
import { Database } from '../database/database.service.js';
import { ActivityEntity } from '../database/entities/activity.entity.js';
import { exportLine } from '../database/activity-export-line.js';

/** Entries read per page: what the export holds in memory at once, whatever the log's size. */
const PAGE = 1000;

/** The fields of an export line, in order: the CSV header too. */
const EXPORT_COLUMNS: readonly (keyof ActivityExportLine)[] = [
  'accountId',
  'seq',
  'at',
  'actorMemberId',
  'actorEmail',
  'actorKind',
  'actorName',
  'action',
  'targetType',
  'targetId',
  'targetLabel',
  'changes',
  'ip',
  'userAgent',
  'prevHash',
  'hash',
];

export interface ExportFilters {
  actor?: string | undefined;
  member?: string | undefined;
  action?: string[] | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/**
 * `GET /activity/export`: the account's activity, oldest first, as ndjson or CSV, streamed. Keyset
 * paging by seq (the `(account_id, seq)` index), one page in memory at a time, and the next page is
 * read only once the client has taken the last one (back-pressure), so memory does not grow with the
 * log. The export stops at the head it saw when it began: a consistent prefix of the chain.
 */
@Injectable()
export class ActivityExport {
  constructor(@Inject(Database) private readonly db: Database) {}

  async stream(accountId: string, format: 'ndjson' | 'csv', filters: ExportFilters, response: Response): Promise<void> {
    const head = await this.db.read(async (manager) => {
      const account = await manager
        .getRepository(AccountEntity)
        .findOne({ select: { id: true, activitySeq: true }, where: { id: accountId } });
      if (!account) throw notFound('Account');
      return account.activitySeq;
    });
    const stamp = new Date().toISOString().slice(0, 10);
    response.status(200);
    response.setHeader(
      'Content-Type',
      format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    );
    response.setHeader('Content-Disposition', `attachment; filename="activity-${stamp}.${format}"`);
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('X-Activity-Head-Seq', String(head));

    let closed = false;
    response.once('close', () => (closed = true));
    let after = 0;
    let first = true;
    try {
      while (!closed) {
        const rows = await this.page(accountId, filters, after, head);
        if (format === 'csv' && first) {
          await write(response, stringify([], { header: true, columns: [...EXPORT_COLUMNS] }));
        }
        first = false;
        if (rows.length === 0) break;
        const lines = rows.map(exportLine);
        const chunk =
          format === 'csv'
            ? stringify(
                lines.map((line) => ({
                  ...line,
                  changes: line.changes === null ? null : JSON.stringify(line.changes),
                })),
                { columns: [...EXPORT_COLUMNS] },
              )
            : lines.map((line) => `${JSON.stringify(line)}\n`).join('');
        await write(response, chunk);
        after = rows.at(-1)!.seq;
        if (rows.length < PAGE) break;
      }
    } catch (error) {
      // Headers (and maybe lines) are out: the only honest signal left is a cut connection, so a
      // client never takes a truncated export for a whole one.
      response.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    response.end();
  }

  /** One page after `after`, at most up to `head`, with `GET /activity`'s filters. */
  private page(accountId: string, filters: ExportFilters, after: number, head: number): Promise<ActivityEntity[]> {
    return this.db.read((manager) => {
      const q = manager
        .getRepository(ActivityEntity)
        .createQueryBuilder('a')
        .where('a.account_id = :accountId AND a.seq > :after AND a.seq <= :head', { accountId, after, head });
      // The same filters as ActivityService.list.
      if (filters.actor) q.andWhere('a.actor_member_id = :actor', { actor: filters.actor });
      if (filters.member) q.andWhere("a.target_type = 'member' AND a.target_id = :member", { member: filters.member });
      if (filters.action?.length) q.andWhere('a.action IN (:...actions)', { actions: filters.action });
      if (filters.from) q.andWhere('a.at >= :from', { from: new Date(filters.from).toISOString() });
      if (filters.to) q.andWhere('a.at < :to', { to: new Date(filters.to).toISOString() });
      return q.orderBy('a.seq', 'ASC').limit(PAGE).getMany();
    });
  }
}
