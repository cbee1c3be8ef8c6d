import { LRUCache } from 'lru-cache';
import type { MemberFilter } from '../database/members.repository.js';

/**
 * `GET /users` totals by account state. An exact count walks every matching index entry (~10 ms at
 * 100,000 members on SQLite), yet admins page and re-sort one list while nothing changes. Every
 * change to who is a member, their status, role, agent access or teams is logged in that account's
 * activity in its own transaction, so the account's `activitySeq` (read with the session) versions
 * these totals on every node alike. Filters that other changes can move — a name or email prefix
 * (`PATCH /me` renames in every account of the person), 2FA, SSO links — are never cached.
 */
export class MemberTotals {
  /** At most 1,000 totals, least recently used out first (a list's total is cheap to count again). */
  private readonly totals = new LRUCache<string, number>({ max: 1_000 });

  /** The cache key of a query's total, or null when the filter is not versioned by the activity log. */
  key(accountId: string, activitySeq: number, filter: MemberFilter): string | null {
    if (filter.q !== undefined || filter.twoFactor !== undefined || filter.enforcedAuth !== undefined) return null;
    const roles = filter.roles?.length ? [...new Set(filter.roles)].sort().join(',') : '';
    return JSON.stringify([accountId, activitySeq, roles, filter.status ?? '', filter.team ?? '', filter.agent ?? '']);
  }

  get(key: string | null): number | undefined {
    return key === null ? undefined : this.totals.get(key);
  }

  set(key: string | null, total: number): void {
    if (key !== null) this.totals.set(key, total);
  }
}
