import { isWellFormedText, type MemberStatus } from '@rolecall/contracts';
import type { EntityManager, SelectQueryBuilder } from 'typeorm';
import { DomainError } from '../common/domain-error.js';
import type { DatabaseKind } from '../database/data-source.js';
import { identityExistsSql, type IdentityMatch } from '../sso/identities.js';
import { MemberEntity } from './member.entity.js';

export interface MemberFilter {
  roles?: string[];
  status?: MemberStatus;
  team?: string;
  agent?: boolean;
  /** With (`true`) or without (`false`) 2FA; invited members match neither. */
  twoFactor?: boolean;
  q?: string;
  /** Under SSO enforcement (`match` null: nothing is enforced, so no member is linked or pending). */
  enforcedAuth?: { state: 'linked' | 'pending'; match: IdentityMatch | null };
}

const SORT_COLUMNS = { name: 'sort_name', email: 'email', createdAt: 'created_at', lastActiveAt: 'last_active_sort' } as const;
type SortKey = keyof typeof SORT_COLUMNS;
const SORT_PROPERTY = { name: 'sortName', email: 'email', createdAt: 'createdAt', lastActiveAt: 'lastActiveSort' } as const;

export interface MemberPageQuery extends MemberFilter {
  sort?: string;
  cursor?: string;
  limit: number;
}

/** A keyset cursor: the sort value and id of the last row of a page (opaque to clients). */
function encodeCursor(value: string, id: string): string {
  return Buffer.from(JSON.stringify([value, id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string' &&
      parsed[0].length <= 300 &&
      isWellFormedText(parsed[0]) &&
      /^[0-9a-f-]{36}$/i.test(parsed[1])
    ) {
      return parsed as [string, string];
    }
  } catch {
    /* fall through */
  }
  throw new DomainError('VALIDATION_FAILED', 'The cursor is not valid', { fields: { cursor: ['Use nextCursor from a previous page'] } });
}

/**
 * The prefix `q` as a half-open range of text: in code point order (SQLite's BINARY collation,
 * PostgreSQL's "C"), `lo <= s < hi` holds exactly for the strings `s` that start with `lo`, so an
 * index range finds them and `%`, `_` and `\` need no escaping. `hi` is `lo` with its last code
 * point incremented (U+10FFFF has no successor: it is dropped and the one before is incremented);
 * null when every code point is U+10FFFF (no upper bound).
 */
export function prefixRange(prefix: string): { lo: string; hi: string | null } {
  const points = Array.from(prefix, (char) => char.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < 0x10ffff) {
      // Surrogate code points never occur in well-formed text: the successor of U+D7FF is U+E000.
      points.push(last === 0xd7ff ? 0xe000 : last + 1);
      return { lo: prefix, hi: String.fromCodePoint(...points) };
    }
  }
  return { lo: prefix, hi: null };
}

/** The only place that speaks SQL for members. */
export class MembersRepository {
  constructor(
    private readonly manager: EntityManager,
    private readonly kind: DatabaseKind,
  ) {}

  private get repo() {
    return this.manager.getRepository(MemberEntity);
  }

  findInAccount(accountId: string, id: string): Promise<MemberEntity | null> {
    return this.repo.findOneBy({ id, accountId });
  }

  findByEmails(accountId: string, emails: string[]): Promise<MemberEntity[]> {
    if (emails.length === 0) return Promise.resolve([]);
    return this.repo.createQueryBuilder('m').where('m.account_id = :accountId', { accountId }).andWhere('m.email IN (:...emails)', { emails }).getMany();
  }

  /** Every filter but `q`, on the members alias `m` (or another alias, for the search branches). */
  private filtered(accountId: string, filter: MemberFilter, m = 'm'): SelectQueryBuilder<MemberEntity> {
    const query = this.repo.createQueryBuilder(m).where(`${m}.account_id = :accountId`, { accountId });
    if (filter.roles?.length) query.andWhere(`${m}.role_id IN (:...roles)`, { roles: filter.roles });
    if (filter.status) query.andWhere(`${m}.status = :status`, { status: filter.status });
    if (filter.agent !== undefined) {
      query.andWhere(`${m}.agent_access = :agent`, { agent: this.kind === 'sqlite' ? Number(filter.agent) : filter.agent });
    }
    if (filter.twoFactor !== undefined) {
      // As `twoFactorEnabled` in the member JSON: null (matching neither) while invited or without a person.
      const totp = `EXISTS (SELECT 1 FROM persons p WHERE p.id = ${m}.person_id AND p.totp_secret IS NOT NULL)`;
      query.andWhere(`${m}.status <> 'invited' AND ${m}.person_id IS NOT NULL AND ${filter.twoFactor ? totp : `NOT ${totp}`}`);
    }
    if (filter.team) {
      query.andWhere(`EXISTS (SELECT 1 FROM member_teams mt WHERE mt.member_id = ${m}.id AND mt.team_id = :team)`, { team: filter.team });
    }
    if (filter.enforcedAuth) {
      const { state, match } = filter.enforcedAuth;
      if (!match) query.andWhere('1 = 0');
      else {
        const exists = identityExistsSql(m, match);
        query.andWhere(state === 'linked' ? exists.sql : `NOT ${exists.sql}`, exists.params);
      }
    }
    return query;
  }

  /** `alias.column` starts with the prefix (`:prefixLo`, `:prefixHi`), as an index range. */
  private startsWith(alias: string, column: 'sort_name' | 'email', hasUpperBound: boolean): string {
    // PostgreSQL compares in the database's collation unless told otherwise; "C" is code point order.
    const value = this.kind === 'postgres' ? `${alias}.${column} COLLATE "C"` : `${alias}.${column}`;
    return hasUpperBound ? `(${value} >= :prefixLo AND ${value} < :prefixHi)` : `${value} >= :prefixLo`;
  }

  /**
   * The members matching the filters as disjoint branches, so each one is an index range: without `q`
   * one branch; with `q` the name matches, and the email matches whose name does not match.
   */
  private branches(accountId: string, filter: MemberFilter): SelectQueryBuilder<MemberEntity>[] {
    if (!filter.q) return [this.filtered(accountId, filter)];
    const { lo, hi } = prefixRange(filter.q.toLowerCase());
    const prefix = { prefixLo: lo, prefixHi: hi };
    const byName = this.filtered(accountId, filter, 'mn').andWhere(this.startsWith('mn', 'sort_name', hi !== null), prefix);
    const byEmail = this.filtered(accountId, filter, 'me')
      .andWhere(this.startsWith('me', 'email', hi !== null), prefix)
      .andWhere(`NOT ${this.startsWith('me', 'sort_name', hi !== null)}`);
    return [byName, byEmail];
  }

  private async count(branches: SelectQueryBuilder<MemberEntity>[], parameters: Record<string, unknown>): Promise<number> {
    if (branches.length === 1) return branches[0]!.getCount();
    const union = branches.map((branch) => branch.select(`${branch.alias}.id`, 'id').getQuery()).join(' UNION ALL ');
    const row = await this.manager
      .createQueryBuilder()
      .select('COUNT(1)', 'cnt')
      .from(`(${union})`, 'matches')
      .setParameters(parameters)
      .getRawOne<{ cnt: number | string }>();
    return Number(row?.cnt ?? 0);
  }

  /** One page in keyset order plus the total matching the filters (counted unless `knownTotal` is given). */
  async page(accountId: string, query: MemberPageQuery, knownTotal?: number): Promise<{ rows: MemberEntity[]; total: number; nextCursor: string | null }> {
    const descending = query.sort?.startsWith('-') ?? false;
    const direction = descending ? 'DESC' : 'ASC';
    const key = (query.sort?.replace(/^-/, '') || 'name') as SortKey;
    const sortColumn = SORT_COLUMNS[key];
    const take = query.limit + 1;
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    /** After the cursor in keyset order, on alias `m`: a row value, so both databases seek to it in the sort index. */
    const afterCursor = (m: string) => `(${m}.${sortColumn}, ${m}.id) ${descending ? '<' : '>'} (:cursorValue, :cursorId)`;
    const cursorParams = cursor ? { cursorValue: cursor[0], cursorId: cursor[1] } : {};

    const branches = this.branches(accountId, query);
    const parameters = Object.assign({}, ...branches.map((branch) => branch.getParameters())) as Record<string, unknown>;
    const countBranches = branches.map((branch) => branch.clone());
    const count = async () => knownTotal ?? this.count(countBranches, parameters);
    let pageQuery: SelectQueryBuilder<MemberEntity>;
    if (branches.length === 1) {
      pageQuery = branches[0]!;
      if (cursor) pageQuery.andWhere(afterCursor('m'), cursorParams);
    } else {
      // The first `take` rows of a union are among the first `take` rows of each of its branches.
      const tops = branches.map((branch) => {
        const m = branch.alias;
        if (cursor) branch.andWhere(afterCursor(m), cursorParams);
        if (this.kind === 'postgres') {
          // PostgreSQL keeps no statistics for "C" comparisons on a column of the default collation and
          // would walk the sort index in the hope of meeting the prefix soon; behind OFFSET 0 it takes
          // the branch's matches by the prefix index first, then the top `take` of them.
          const matches = branch.select(`${m}.id`, 'id').addSelect(`${m}.${sortColumn}`, 'sort_key').getQuery();
          return `SELECT page_ids.id FROM (SELECT matched.id FROM (${matches} OFFSET 0) matched ORDER BY matched.sort_key ${direction}, matched.id ${direction} LIMIT ${take}) page_ids`;
        }
        return `SELECT page_ids.id FROM (${branch.select(`${m}.id`, 'id').orderBy(`${m}.${sortColumn}`, direction).addOrderBy(`${m}.id`, direction).limit(take).getQuery()}) page_ids`;
      });
      pageQuery = this.repo.createQueryBuilder('m').where(`m.id IN (${tops.join(' UNION ALL ')})`).setParameters({ ...parameters, ...cursorParams });
    }
    pageQuery.orderBy(`m.${sortColumn}`, direction).addOrderBy('m.id', direction).limit(take);
    // On the PostgreSQL pool both run at once, each on a connection of its own; a transaction has one
    // connection, which runs one query at a time (pg 9 throws otherwise), and SQLite has one anyway.
    const [total, rows] =
      this.kind === 'postgres' && !this.manager.queryRunner
        ? await Promise.all([count(), pageQuery.getMany()])
        : [await count(), await pageQuery.getMany()];
    const more = rows.length > query.limit;
    if (more) rows.pop();
    const last = rows.at(-1);
    return { rows, total, nextCursor: more && last ? encodeCursor(String(last[SORT_PROPERTY[key]] ?? ''), last.id) : null };
  }
}
