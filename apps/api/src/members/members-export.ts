import { Inject, Injectable } from '@nestjs/common';
import { MEMBER_EXPORT_COLUMNS, type MemberDto, type exportMembersQuerySchema } from '@rolecall/contracts';
import { stringify, type Options } from 'csv-stringify/sync';
import type { Response } from 'express';
import type { z } from 'zod';
import type { AccountEntity } from '../database/entities/account.entity.js';
import { AccountMutations } from '../database/account-mutation.js';
import type { Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { write } from '../common/stream-write.js';
import { Database } from '../database/database.service.js';
import { enforcedIdentity } from '../database/identities.js';
import { memberListDtos } from '../database/members.dto.js';
import { MembersRepository, type MemberFilter, type MemberPageQuery } from '../database/members.repository.js';

/** Members read per page: what the export holds in memory at once, whatever the account's size. */
const EXPORT_PAGE = 500;

type ExportQuery = z.output<typeof exportMembersQuerySchema>;

/** `GET /users`' query as the repository's filter: the list's and the export's one mapping. */
export function memberFilterOf(
  query: Omit<ExportQuery, 'format'>,
  account: AccountEntity,
): MemberFilter & { sort?: string } {
  return {
    ...(query.role ? { roles: query.role } : {}),
    ...(query.status ? { status: query.status } : {}),
    ...(query.team ? { team: query.team } : {}),
    ...(query.agent ? { agent: query.agent === 'true' } : {}),
    ...(query.twoFactor ? { twoFactor: query.twoFactor === 'true' } : {}),
    ...(query.q ? { q: query.q } : {}),
    ...(query.enforcedAuth ? { enforcedAuth: { state: query.enforcedAuth, match: enforcedIdentity(account) } } : {}),
    ...(query.sort ? { sort: query.sort } : {}),
  };
}

/**
 * A spreadsheet takes a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return for a
 * formula (CSV injection, OWASP): such a cell is written with a leading `'`, which spreadsheets show
 * as text and the import strips again.
 */
export function guardCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

const CSV_OPTIONS: Options = { columns: [...MEMBER_EXPORT_COLUMNS], cast: { string: guardCell } };

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

/** A member as a row of the export: the Users table's columns, in words a spreadsheet reads. */
function exportRow(member: MemberDto): Record<(typeof MEMBER_EXPORT_COLUMNS)[number], string> {
  return {
    ID: member.id,
    Name: member.name ?? '',
    Email: member.email,
    Role: member.role.name,
    Owner: yesNo(member.isOwner),
    'Billing contact': yesNo(member.isBillingContact),
    Status: member.status,
    '2FA': member.twoFactorEnabled === null ? '' : member.twoFactorEnabled ? 'on' : 'off',
    'Enforced sign-in': member.enforcedAuth ?? '',
    'Talk access': yesNo(member.agentAccess),
    Teams: member.teams.map((team) => team.name).join('; '),
    Invited: member.invitedAt ?? '',
    Joined: member.joinedAt ?? '',
    'Last active': member.lastActiveAt ?? '',
  };
}

/**
 * `GET /users/export?format=csv`: every member matching the list's filters, in the list's order, as
 * CSV, streamed like the activity export (keyset pages of `MembersRepository.page`, the next page read
 * only once the client took the last one). The export is logged first (`users.exported`, with the
 * filter and the count matching at that moment): personal data leaving the product is on the record
 * even when the download is cut.
 */
@Injectable()
export class MembersExport {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
  ) {}

  async stream(auth: RequestAuth, actor: Actor, query: ExportQuery, response: Response): Promise<void> {
    const { format, ...filterQuery } = query;
    const { account, total } = await this.mutations.run(auth, actor, async (context) => {
      const { tx, account } = context;
      const filter = memberFilterOf(filterQuery, account);
      const { total } = await new MembersRepository(tx.manager, tx.kind).page(account.id, { ...filter, limit: 1 });
      await context.log({
        action: 'users.exported',
        target: { type: 'account', id: account.id, label: account.name },
        changes: { format, count: total, filter: filterQuery as Record<string, unknown> },
      });
      return { account, total };
    });
    const filter = memberFilterOf(filterQuery, account);

    const stamp = new Date().toISOString().slice(0, 10);
    response.status(200);
    response.setHeader('Content-Type', 'text/csv; charset=utf-8');
    response.setHeader('Content-Disposition', `attachment; filename="rolecall-users-${stamp}.csv"`);
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('X-Total-Count', String(total));

    let closed = false;
    response.once('close', () => (closed = true));
    try {
      await write(response, stringify([], { ...CSV_OPTIONS, header: true }));
      let cursor: string | null = null;
      do {
        const pageQuery: MemberPageQuery = { ...filter, limit: EXPORT_PAGE, ...(cursor ? { cursor } : {}) };
        const next: { chunk: string; cursor: string | null } = await this.db.read(async (manager) => {
          const page = await new MembersRepository(manager, this.db.kind).page(account.id, pageQuery, total);
          const members = await memberListDtos(manager, account, page.rows);
          return {
            chunk: members.length ? stringify(members.map(exportRow), CSV_OPTIONS) : '',
            cursor: page.nextCursor,
          };
        });
        if (next.chunk) await write(response, next.chunk);
        cursor = next.cursor;
      } while (cursor && !closed);
    } catch (error) {
      // The header row is out: a cut connection is the only honest signal left (as the activity export).
      response.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    response.end();
  }
}
