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

const escapeLike = (value: string): string => value.replace(/[\\%_]/g, (c) => `\\${c}`);

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

  private filtered(accountId: string, filter: MemberFilter): SelectQueryBuilder<MemberEntity> {
    const query = this.repo.createQueryBuilder('m').where('m.account_id = :accountId', { accountId });
    if (filter.roles?.length) query.andWhere('m.role_id IN (:...roles)', { roles: filter.roles });
    if (filter.status) query.andWhere('m.status = :status', { status: filter.status });
    if (filter.agent !== undefined) {
      query.andWhere('m.agent_access = :agent', { agent: this.kind === 'sqlite' ? Number(filter.agent) : filter.agent });
    }
    if (filter.team) {
      query.andWhere('EXISTS (SELECT 1 FROM member_teams mt WHERE mt.member_id = m.id AND mt.team_id = :team)', { team: filter.team });
    }
    if (filter.enforcedAuth) {
      const { state, match } = filter.enforcedAuth;
      if (!match) query.andWhere('1 = 0');
      else {
        const exists = identityExistsSql('m', match);
        query.andWhere(state === 'linked' ? exists.sql : `NOT ${exists.sql}`, exists.params);
      }
    }
    if (filter.q) {
      const prefix = `${escapeLike(filter.q.toLowerCase())}%`;
      query.andWhere("(m.sort_name LIKE :prefix ESCAPE '\\' OR m.email LIKE :prefix ESCAPE '\\')", { prefix });
    }
    return query;
  }

  /** One page in keyset order plus the total matching the filters. */
  async page(accountId: string, query: MemberPageQuery): Promise<{ rows: MemberEntity[]; total: number; nextCursor: string | null }> {
    const descending = query.sort?.startsWith('-') ?? false;
    const key = (query.sort?.replace(/^-/, '') || 'name') as SortKey;
    const column = `m.${SORT_COLUMNS[key]}`;
    const base = this.filtered(accountId, query);
    const total = await base.clone().getCount();
    const pageQuery = base.clone();
    if (query.cursor) {
      const [value, id] = decodeCursor(query.cursor);
      const op = descending ? '<' : '>';
      pageQuery.andWhere(`(${column} ${op} :cursorValue OR (${column} = :cursorValue AND m.id ${op} :cursorId))`, { cursorValue: value, cursorId: id });
    }
    const rows = await pageQuery
      .orderBy(column, descending ? 'DESC' : 'ASC')
      .addOrderBy('m.id', descending ? 'DESC' : 'ASC')
      .limit(query.limit + 1)
      .getMany();
    const more = rows.length > query.limit;
    if (more) rows.pop();
    const last = rows.at(-1);
    return { rows, total, nextCursor: more && last ? encodeCursor(String(last[SORT_PROPERTY[key]] ?? ''), last.id) : null };
  }
}
