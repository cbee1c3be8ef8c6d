import { isWellFormedText, type MemberStatus } from '@rolecall/contracts';
import type { EntityManager } from 'typeorm';
import { DomainError } from '../common/domain-error.js';
import type { DatabaseKind } from './data-source.js';
import { RowReader, SqlParams } from './entity-columns.js';
import { identityExistsSql, type IdentityMatch } from './identities.js';
import { MemberEntity, searchFold } from './entities/member.entity.js';
import {
  PERSON_SUMMARY_COLUMNS,
  personSummaryOf,
  ROLE_REF_COLUMNS,
  roleRefOf,
  type ListedMember,
  type MemberListRow,
} from './members.dto.js';

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

const SORT_COLUMNS = {
  name: 'sort_name',
  email: 'email',
  createdAt: 'created_at',
  lastActiveAt: 'last_active_sort',
} as const;
type SortKey = keyof typeof SORT_COLUMNS;
const SORT_PROPERTY = {
  name: 'sortName',
  email: 'email',
  createdAt: 'createdAt',
  lastActiveAt: 'lastActiveSort',
} as const;

export interface MemberPageQuery extends MemberFilter {
  sort?: string;
  cursor?: string;
  limit: number;
}

/** A search group: 0 for prefix matches of a `q` searched anywhere, 1 for the other matches. */
type SearchGroup = 0 | 1;

/**
 * A keyset cursor: the sort value and id of the last row of a page, and with a `q` searched anywhere
 * its group (opaque to clients).
 */
function encodeCursor(value: string, id: string, group?: SearchGroup): string {
  return Buffer.from(JSON.stringify(group === undefined ? [value, id] : [value, id, group])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string, SearchGroup | undefined] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      (parsed.length === 2 || (parsed.length === 3 && (parsed[2] === 0 || parsed[2] === 1))) &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string' &&
      parsed[0].length <= 300 &&
      isWellFormedText(parsed[0]) &&
      /^[0-9a-f-]{36}$/i.test(parsed[1])
    ) {
      return [parsed[0], parsed[1], parsed[2] as SearchGroup | undefined];
    }
  } catch {
    /* fall through */
  }
  throw new DomainError('VALIDATION_FAILED', 'The cursor is not valid', {
    fields: { cursor: ['Use nextCursor from a previous page'] },
  });
}

/**
 * The prefix `q` as a half-open range of text: in code point order (SQLite's BINARY collation,
 * PostgreSQL's "C"), `lo <= s < hi` holds exactly for the strings `s` that start with `lo`, so an
 * index range finds them and `%`, `_` and `\` need no escaping. `hi` is `lo` with its last code
 * point incremented (U+10FFFF has no successor: it is dropped and the one before is incremented);
 * null when every code point is U+10FFFF (no upper bound).
 */
function prefixRange(prefix: string): { lo: string; hi: string | null } {
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

/** `q` of at least this many characters (after `searchFold`) matches anywhere; a shorter one is a prefix. */
const SEARCH_ANYWHERE_MIN = 3;

/** A `q` searched anywhere in the name or email: the folded term and its prefix range. */
interface AnywhereTerm {
  term: string;
  range: { lo: string; hi: string | null };
}

/** The `q` searched anywhere, or null when it is a prefix (shorter than `SEARCH_ANYWHERE_MIN` once folded). */
function anywhereTerm(q: string | undefined): AnywhereTerm | null {
  if (!q) return null;
  const term = searchFold(q);
  return Array.from(term).length >= SEARCH_ANYWHERE_MIN ? { term, range: prefixRange(term) } : null;
}

/** `%`, `_` and `\` as themselves in a LIKE pattern (PostgreSQL's default escape is `\`). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
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
    return RowReader.of(this.manager.connection, MemberEntity, ['id', 'accountId']).one(this.manager, [id, accountId]);
  }

  findByEmails(accountId: string, emails: string[]): Promise<MemberEntity[]> {
    if (emails.length === 0) return Promise.resolve([]);
    return this.repo
      .createQueryBuilder('m')
      .where('m.account_id = :accountId', { accountId })
      .andWhere('m.email IN (:...emails)', { emails })
      .getMany();
  }

  /**
   * Every filter but `q`, as conditions on the members alias `m`. With `teamJoined` the team filter
   * is a condition on the joined `member_teams mt` (see `branches`); otherwise it is an `EXISTS`.
   */
  private conditions(
    accountId: string,
    filter: MemberFilter,
    m: string,
    params: SqlParams,
    teamJoined: boolean,
  ): string[] {
    const where = [`${m}.account_id = ${params.add(accountId)}`];
    if (filter.roles?.length)
      where.push(`${m}.role_id IN (${filter.roles.map((role) => params.add(role)).join(', ')})`);
    if (filter.status) where.push(`${m}.status = ${params.add(filter.status)}`);
    if (filter.agent !== undefined)
      where.push(`${m}.agent_access = ${params.add(this.kind === 'sqlite' ? Number(filter.agent) : filter.agent)}`);
    if (filter.twoFactor !== undefined) {
      // As `twoFactorEnabled` in the member JSON: null (matching neither) while invited or without a person.
      const totp = `EXISTS (SELECT 1 FROM persons tp WHERE tp.id = ${m}.person_id AND tp.totp_secret IS NOT NULL)`;
      where.push(`${m}.status <> 'invited'`, `${m}.person_id IS NOT NULL`, filter.twoFactor ? totp : `NOT ${totp}`);
    }
    if (filter.team) {
      where.push(
        teamJoined
          ? `${m}.id = mt.member_id AND mt.team_id = ${params.add(filter.team)}`
          : `EXISTS (SELECT 1 FROM member_teams mt WHERE mt.member_id = ${m}.id AND mt.team_id = ${params.add(filter.team)})`,
      );
    }
    if (filter.enforcedAuth) {
      const { state, match } = filter.enforcedAuth;
      if (!match) where.push('1 = 0');
      else {
        const exists = identityExistsSql(m, match, params);
        where.push(state === 'linked' ? exists : `NOT ${exists}`);
      }
    }
    return where;
  }

  /** `alias.column` starts with the prefix, as an index range. */
  private startsWith(
    alias: string,
    column: 'sort_name' | 'search_name' | 'email',
    range: { lo: string; hi: string | null },
    params: SqlParams,
  ): string {
    // PostgreSQL compares in the database's collation unless told otherwise; "C" is code point order.
    const value = this.kind === 'postgres' ? `${alias}.${column} COLLATE "C"` : `${alias}.${column}`;
    const from = `${value} >= ${params.add(range.lo)}`;
    return range.hi === null ? from : `(${from} AND ${value} < ${params.add(range.hi)})`;
  }

  /**
   * The folded term anywhere in `search_name` or `email`: on PostgreSQL a `LIKE` the `pg_trgm` GIN
   * indexes serve, on SQLite `instr` (literal, so nothing to escape) checked in the walked index.
   */
  private contains(alias: string, term: string, params: SqlParams): string {
    if (this.kind === 'postgres') {
      const pattern = `%${escapeLike(term)}%`;
      return `(${alias}.search_name LIKE ${params.add(pattern)} OR ${alias}.email LIKE ${params.add(pattern)})`;
    }
    return `(instr(${alias}.search_name, ${params.add(term)}) > 0 OR instr(${alias}.email, ${params.add(term)}) > 0)`;
  }

  /** A prefix match of a term searched anywhere (group 0): the name's or the email's prefix range. */
  private prefixMatch(alias: string, anywhere: AnywhereTerm, params: SqlParams): string {
    return `(${this.startsWith(alias, 'search_name', anywhere.range, params)} OR ${this.startsWith(alias, 'email', anywhere.range, params)})`;
  }

  /**
   * The FROM and WHERE of each disjoint branch of the members matching the filters (and `extra`, e.g.
   * the cursor), so each one is an index range: without `q` one branch on alias `m`; with `q` the name
   * matches (`mn`) and the email matches whose name does not match (`me`). `forCount` starts a team
   * filter's branch from the team's rows (`member_teams mt CROSS JOIN members`; SQLite takes CROSS
   * JOIN's left table as the outer loop, PostgreSQL plans it as any join): 55 → 20 ms for a team of
   * ~13,000 at 100,000 members on SQLite, where it otherwise walked the account probing the team per
   * member. A page keeps `EXISTS`, so it walks the sort index and stops after `limit + 1` rows.
   */
  private branches(
    accountId: string,
    filter: MemberFilter,
    params: SqlParams,
    options: { extra?: (m: string) => string; forCount?: boolean; group?: SearchGroup } = {},
  ): { alias: string; from: string; where: string }[] {
    const { extra } = options;
    const teamJoined = Boolean(options.forCount && filter.team);
    const build = (alias: string, more: () => string[], indexedBy?: string) => {
      const where = [...this.conditions(accountId, filter, alias, params, teamJoined), ...more()];
      if (extra) where.push(extra(alias));
      const table = `members ${alias}${indexedBy && this.kind === 'sqlite' ? ` INDEXED BY ${indexedBy}` : ''}`;
      return { alias, from: `${teamJoined ? 'member_teams mt CROSS JOIN ' : ''}${table}`, where: where.join(' AND ') };
    };
    if (!filter.q) return [build('m', () => [])];
    const anywhere = anywhereTerm(filter.q);
    if (anywhere) {
      // Every match (count, matchingIds) is one condition; a page asks for one group at a time: the
      // prefix matches as today's two index ranges (on the folded name), then the others.
      if (options.group === 0) {
        return [
          // SQLite would rather walk the sort index (it yields the order) than sort the range's few rows.
          build('mn', () => [this.startsWith('mn', 'search_name', anywhere.range, params)], 'ix_members_search_name'),
          build('me', () => [
            this.startsWith('me', 'email', anywhere.range, params),
            `NOT ${this.startsWith('me', 'search_name', anywhere.range, params)}`,
          ]),
        ];
      }
      if (options.group === 1)
        return [
          build('m', () => [
            this.contains('m', anywhere.term, params),
            `NOT ${this.prefixMatch('m', anywhere, params)}`,
          ]),
        ];
      return [build('m', () => [this.contains('m', anywhere.term, params)])];
    }
    const range = prefixRange(filter.q.toLowerCase());
    return [
      build('mn', () => [this.startsWith('mn', 'sort_name', range, params)]),
      build('me', () => [
        this.startsWith('me', 'email', range, params),
        `NOT ${this.startsWith('me', 'sort_name', range, params)}`,
      ]),
    ];
  }

  private async count(accountId: string, filter: MemberFilter): Promise<number> {
    const params = new SqlParams(this.manager.connection);
    const branches = this.branches(accountId, filter, params, { forCount: true });
    const sql =
      branches.length === 1
        ? `SELECT COUNT(*) AS cnt FROM ${branches[0]!.from} WHERE ${branches[0]!.where}`
        : `SELECT COUNT(*) AS cnt FROM (${branches.map(({ alias, from, where }) => `SELECT ${alias}.id FROM ${from} WHERE ${where}`).join(' UNION ALL ')}) matches`;
    const [row] = await this.manager.query<{ cnt: number | string }[]>(sql, params.values);
    return Number(row?.cnt ?? 0);
  }

  /**
   * The ids of every member matching the filters (bulk actions' "all N matching this filter"), in no
   * particular order, at most `limit` of them (the caller refuses a larger set rather than cut it).
   */
  async matchingIds(accountId: string, filter: MemberFilter, limit: number): Promise<string[]> {
    const params = new SqlParams(this.manager.connection);
    const branches = this.branches(accountId, filter, params);
    const sql = branches
      .map(({ alias, from, where }) => `SELECT ${alias}.id AS id FROM ${from} WHERE ${where}`)
      .join(' UNION ALL ');
    const rows = await this.manager.query<{ id: string }[]>(`${sql} LIMIT ${Math.floor(limit)}`, params.values);
    return rows.map((row) => row.id);
  }

  /**
   * One page in keyset order plus the total matching the filters (counted unless `knownTotal` is
   * given). Hand-written SQL (the list is the busiest read): each row comes with its person's name,
   * avatar and 2FA state and its role's name and icon, so the member JSON needs only the teams more.
   *
   * With a `q` searched anywhere the order is (group, sort key, id): the prefix matches (group 0) in
   * the chosen sort, then the other matches (group 1) in the chosen sort — a descending sort reverses
   * the order within each group, never the groups. The cursor carries the group of the last row; a
   * page runs group 0 from the cursor and, if that leaves room, group 1 from its start (or only group
   * 1 from the cursor once there).
   */
  async page(
    accountId: string,
    query: MemberPageQuery,
    knownTotal?: number,
  ): Promise<{ rows: MemberListRow[]; total: number; nextCursor: string | null }> {
    const descending = query.sort?.startsWith('-') ?? false;
    const key = (query.sort?.replace(/^-/, '') || 'name') as SortKey;
    const take = query.limit + 1;
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    const anywhere = anywhereTerm(query.q) !== null;
    const cursorGroup: SearchGroup = cursor?.[2] ?? 0;

    const runPage = async (
      total: number | null,
    ): Promise<{ raw: Record<string, unknown>[]; groups: SearchGroup[] }> => {
      if (!anywhere) return { raw: await this.pageOf(accountId, query, { key, descending, take, cursor }), groups: [] };
      const raw: Record<string, unknown>[] = [];
      const groups: SearchGroup[] = [];
      // PostgreSQL estimates a `LIKE '%term%'` well but assumes its matches are spread evenly over the
      // sort order, so it walks the sort index expecting `take` of them soon; for a term whose few
      // matches sort late ("usuf" in a first name) that read the whole account (65 ms at 100,000
      // members). With few matches the page takes them by the trigram indexes first, then sorts them.
      const fence = this.kind === 'postgres' && total !== null && total <= FENCE_BELOW_MATCHES;
      for (const group of [0, 1] as const) {
        if (group < cursorGroup || raw.length >= take) continue;
        const rows = await this.pageOf(accountId, query, {
          key,
          descending,
          take: take - raw.length,
          cursor: group === cursorGroup ? cursor : null,
          group,
          fence,
        });
        raw.push(...rows);
        groups.push(...rows.map(() => group));
      }
      return { raw, groups };
    };
    const count = async () => knownTotal ?? this.count(accountId, query);
    // On the PostgreSQL pool both run at once, each on a connection of its own; a transaction has one
    // connection, which runs one query at a time (pg 9 throws otherwise), and SQLite has one anyway.
    // A search anywhere counts first: the page's plan depends on how many match.
    const [total, { raw, groups }] =
      this.kind === 'postgres' && !this.manager.queryRunner && !anywhere
        ? await Promise.all([count(), runPage(null)])
        : await count().then(async (counted) => [counted, await runPage(counted)] as const);
    const more = raw.length > query.limit;
    if (more) raw.pop();
    const rows = raw.map((row): MemberListRow => ({
      member: listedMember(row),
      person: personSummaryOf(row),
      role: roleRefOf(row),
    }));
    const last = rows.at(-1)?.member;
    const nextCursor =
      more && last
        ? encodeCursor(String(last[SORT_PROPERTY[key]] ?? ''), last.id, anywhere ? groups[rows.length - 1] : undefined)
        : null;
    return { rows, total, nextCursor };
  }

  /** One statement: up to `take` rows of the members matching the filters (and `group`), after `cursor`, in keyset order. */
  private pageOf(
    accountId: string,
    query: MemberPageQuery,
    options: {
      key: SortKey;
      descending: boolean;
      take: number;
      cursor: readonly [string, string, ...unknown[]] | null;
      group?: SearchGroup;
      fence?: boolean;
    },
  ): Promise<Record<string, unknown>[]> {
    const { key, descending, take, cursor } = options;
    const sortColumn = SORT_COLUMNS[key];
    const direction = descending ? 'DESC' : 'ASC';
    const params = new SqlParams(this.manager.connection);
    /** After the cursor in keyset order: a row value, so both databases seek to it in the sort index. */
    const afterCursor = cursor
      ? (m: string) =>
          `(${m}.${sortColumn}, ${m}.id) ${descending ? '<' : '>'} (${params.add(cursor[0])}, ${params.add(cursor[1])})`
      : undefined;
    const branches = this.branches(accountId, query, params, {
      ...(afterCursor ? { extra: afterCursor } : {}),
      ...(options.group === undefined ? {} : { group: options.group }),
    });
    const order = (m: string) => `ORDER BY ${m}.${sortColumn} ${direction}, ${m}.id ${direction}`;
    let where: string;
    if (branches.length === 1 && !(options.fence && this.kind === 'postgres')) where = branches[0]!.where;
    else {
      // The first `take` rows of a union are among the first `take` rows of each of its branches.
      const tops = branches.map(({ alias: m, from, where: matching }) =>
        this.kind === 'postgres'
          ? // PostgreSQL keeps no statistics for "C" comparisons on a column of the default collation and
            // would walk the sort index in the hope of meeting the prefix soon; behind OFFSET 0 it takes
            // the branch's matches by the prefix index first, then the top `take` of them (and so for
            // a `fence`d search: by the trigram indexes).
            `SELECT page_ids.id FROM (SELECT matched.id FROM (SELECT ${m}.id AS id, ${m}.${sortColumn} AS sort_key FROM ${from} WHERE ${matching} OFFSET 0) matched ` +
            `ORDER BY matched.sort_key ${direction}, matched.id ${direction} LIMIT ${take}) page_ids`
          : `SELECT page_ids.id FROM (SELECT ${m}.id AS id FROM ${from} WHERE ${matching} ${order(m)} LIMIT ${take}) page_ids`,
      );
      where = `m.id IN (${tops.join(' UNION ALL ')})`;
    }
    const pageSql =
      `SELECT ${LISTED_COLUMNS}, ${PERSON_SUMMARY_COLUMNS}, ${ROLE_REF_COLUMNS} ` +
      `FROM members m LEFT JOIN persons p ON p.id = m.person_id LEFT JOIN roles r ON r.id = m.role_id WHERE ${where} ${order('m')} LIMIT ${take}`;
    return this.manager.query<Record<string, unknown>[]>(pageSql, params.values);
  }
}

/**
 * A search anywhere with at most this many matches takes them by the trigram indexes and sorts them
 * (PostgreSQL): ~1 µs a match, so ≤ ~10 ms, against a walk of the sort index that costs up to the
 * account's size when the matches sort late. Above it matches are dense enough that the walk meets
 * `take` of them early (10,000 of 100,000: one in ten rows).
 */
const FENCE_BELOW_MATCHES = 10_000;

/** The page's member columns, named as `ListedMember`'s properties (so a row maps without TypeORM's metadata). */
const LISTED_COLUMNS =
  'm.id AS "id", m.email AS "email", m.name AS "name", m.status AS "status", m.role_id AS "roleId", m.agent_access AS "agentAccess", ' +
  'm.person_id AS "personId", m.invited_at AS "invitedAt", m.joined_at AS "joinedAt", m.last_active_at AS "lastActiveAt", m.version AS "version", ' +
  'm.sort_name AS "sortName", m.created_at AS "createdAt", m.last_active_sort AS "lastActiveSort"';

function listedMember(row: Record<string, unknown>): ListedMember {
  return {
    id: row['id'] as string,
    email: row['email'] as string,
    name: row['name'] as string | null,
    status: row['status'] as MemberStatus,
    roleId: row['roleId'] as string,
    // SQLite answers 0/1.
    agentAccess: Boolean(row['agentAccess']),
    personId: row['personId'] as string | null,
    invitedAt: row['invitedAt'] as string | null,
    joinedAt: row['joinedAt'] as string | null,
    lastActiveAt: row['lastActiveAt'] as string | null,
    version: Number(row['version']),
    sortName: row['sortName'] as string,
    createdAt: row['createdAt'] as string,
    lastActiveSort: row['lastActiveSort'] as string,
  };
}
