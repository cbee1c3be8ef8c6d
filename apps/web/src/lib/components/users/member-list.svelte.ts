/**
 * The Users table's rows: one filtered, sorted page at a time from `GET /users` (keyset cursor,
 * "Load more" appends), kept current by live events — a changed member is replaced, moved,
 * inserted or dropped according to the filters and sort in force, without reloading the list.
 */
import type { MemberDto } from '@rolecall/contracts';
import {
  EMPTY_FILTERS,
  listMembers,
  matchesFilters,
  memberComparator,
  type MemberFilters,
} from '$lib/services/users.service';

export type LiveChange =
  | { kind: 'inserted'; member: MemberDto }
  | { kind: 'updated'; member: MemberDto; before: MemberDto }
  | { kind: 'left'; member: MemberDto; before: MemberDto }
  | { kind: 'unseen'; member: MemberDto };

export class MemberList {
  items = $state<MemberDto[]>([]);
  total = $state(0);
  nextCursor = $state<string | null>(null);
  loading = $state(false);
  loadingMore = $state(false);
  error = $state<unknown>(null);
  /** The filters of the rows shown (set by `load`). */
  filters = $state<MemberFilters>({ ...EMPTY_FILTERS });

  #controller: AbortController | null = null;
  #totalTimer: ReturnType<typeof setTimeout> | undefined;

  /** Loads the first page for `filters`; a newer call cancels an older one still in flight. */
  async load(filters: MemberFilters): Promise<void> {
    this.#controller?.abort();
    const controller = new AbortController();
    this.#controller = controller;
    this.filters = { ...filters, roles: [...filters.roles] };
    this.loading = true;
    try {
      const page = await listMembers(this.filters, { signal: controller.signal });
      if (controller.signal.aborted) return;
      this.items = page.items;
      this.total = page.total;
      this.nextCursor = page.nextCursor;
      this.error = null;
    } catch (error) {
      if (controller.signal.aborted) return;
      this.error = error;
    } finally {
      if (this.#controller === controller) {
        this.loading = false;
        this.#controller = null;
      }
    }
  }

  async more(): Promise<void> {
    if (!this.nextCursor || this.loadingMore) return;
    this.loadingMore = true;
    const filters = this.filters;
    try {
      const page = await listMembers(filters, { cursor: this.nextCursor });
      if (filters !== this.filters) return;
      const known = new Set(this.items.map((m) => m.id));
      this.items = [...this.items, ...page.items.filter((m) => !known.has(m.id))];
      this.total = page.total;
      this.nextCursor = page.nextCursor;
      this.error = null;
    } catch (error) {
      this.error = error;
    } finally {
      this.loadingMore = false;
    }
  }

  /** Applies a member as it now is; says what happened to the rows (for announcing it). */
  upsert(member: MemberDto): LiveChange {
    const index = this.items.findIndex((m) => m.id === member.id);
    const before = index >= 0 ? this.items[index] : undefined;
    if (before && before.version > member.version) return { kind: 'updated', member: before, before };
    const rows = index >= 0 ? this.items.filter((m) => m.id !== member.id) : [...this.items];
    const fits = matchesFilters(member, this.filters);
    let placed = false;
    if (fits) {
      const compare = memberComparator(this.filters.sort);
      let at = rows.findIndex((row) => compare(member, row) < 0);
      if (at === -1 && this.nextCursor === null) at = rows.length;
      // Past the last loaded row while more pages exist: it will come with "Load more".
      if (at !== -1) {
        rows.splice(at, 0, member);
        placed = true;
      }
    }
    this.items = rows;
    this.refreshTotalSoon();
    if (!before) return placed ? { kind: 'inserted', member } : { kind: 'unseen', member };
    return placed ? { kind: 'updated', member, before } : { kind: 'left', member, before };
  }

  /**
   * A bulk action's part (`users.bulk`): every member as it now is, the cancelled ones dropped —
   * one pass over the rows, where thousands of `upsert`s would copy them thousands of times.
   */
  applyBulk(members: readonly MemberDto[], removedIds: readonly string[]): void {
    const changed = new Map(members.map((m) => [m.id, m]));
    const gone = new Set(removedIds);
    const shown = new Set(this.items.map((m) => m.id));
    const compare = memberComparator(this.filters.sort);
    const rows: MemberDto[] = [];
    for (const row of this.items) {
      if (gone.has(row.id)) continue;
      const now = changed.get(row.id);
      if (!now || now.version < row.version) rows.push(row);
      else if (matchesFilters(now, this.filters)) rows.push(now);
    }
    // Members not shown before that now match (e.g. the list is filtered on the new role): placed in order, within the loaded range.
    const last = rows.at(-1);
    for (const member of members) {
      if (shown.has(member.id) || !matchesFilters(member, this.filters)) continue;
      if (this.nextCursor !== null && last && compare(member, last) > 0) continue;
      rows.push(member);
    }
    rows.sort(compare);
    this.items = rows;
    this.refreshTotalSoon();
  }

  /** Drops a member; returns the row it was, if it was shown. */
  remove(id: string): MemberDto | undefined {
    const before = this.items.find((m) => m.id === id);
    if (before) this.items = this.items.filter((m) => m.id !== id);
    this.refreshTotalSoon();
    return before;
  }

  /**
   * The total is the server's count for the filters. With every page loaded it is simply the
   * number of rows; otherwise it is asked again (cheaply, at most every 300 ms) after live changes.
   */
  refreshTotalSoon(): void {
    if (this.nextCursor === null) this.total = this.items.length;
    if (this.#totalTimer !== undefined) return;
    this.#totalTimer = setTimeout(() => {
      this.#totalTimer = undefined;
      const filters = this.filters;
      listMembers(filters, { limit: 1 })
        .then((page) => {
          if (filters === this.filters) this.total = page.total;
        })
        .catch(() => undefined);
    }, 300);
  }

  dispose(): void {
    this.#controller?.abort();
    clearTimeout(this.#totalTimer);
    this.#totalTimer = undefined;
  }
}
