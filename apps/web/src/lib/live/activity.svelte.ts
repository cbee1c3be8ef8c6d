/**
 * The Activity page's resource: the account's activity, newest first, loaded a page at a time and
 * kept live by the store's activity stream. A page creates one and calls `follow(filters)` in an
 * `$effect` (again whenever the filters change); it reads `entries`, `held`, `verify`… and never
 * touches the socket.
 *
 * An entry streamed while the first page is on its way is kept and merged with that page by seq
 * (the page used to overwrite it with the older list: opened by URL, it missed what was written in
 * its first moments until a reload).
 */
import type { ActivityEntryDto, ActivityVerifyDto, PageDto } from '@rolecall/contracts';
import { api } from '../api';
import { messageFor } from '../errors';
import { session } from '../session.svelte';
import { live, type ActivityFilter } from './store.svelte';

/** The Activity page's filters, as `GET /activity` takes them (times as ISO strings). */
export interface ActivityFilters {
  actor?: string;
  member?: string;
  action?: string;
  from?: string;
  to?: string;
}

export class ActivityFeed {
  /**
   * Raw (not deeply reactive): the lists are only ever replaced, and every row read its entry's
   * fields through proxies as it rendered (issue 21).
   */
  entries = $state.raw<ActivityEntryDto[]>([]);
  /** Entries streamed while paused, newest first (shown by `resume()`). */
  held = $state.raw<ActivityEntryDto[]>([]);
  paused = $state(false);
  nextCursor = $state<string | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);
  verify = $state<ActivityVerifyDto | null>(null);
  #filters: ActivityFilters = {};
  /** Entries streamed while the first page is loading (merged with it when it comes). */
  #arrived: ActivityEntryDto[] | null = null;
  #generation = 0;

  /** Loads the first page with `filters` and streams new entries until the returned function is called. */
  follow(filters: ActivityFilters): () => void {
    this.#filters = filters;
    this.held = [];
    void this.load(true);
    const offStream = live.followActivity(subscriptionOf(filters), (entry) => this.#receive(entry));
    // A reconnect or a change of the viewer's access reloads everything.
    const offFollow = live.follow({
      reload: () => {
        if (!session.can('activity.view')) return;
        this.held = [];
        void this.load(true);
        void this.checkChain();
      },
    });
    return () => {
      offStream();
      offFollow();
    };
  }

  /** The first page again (`reset`) or the next older one. */
  async load(reset: boolean): Promise<void> {
    const generation = ++this.#generation;
    this.loading = true;
    this.error = null;
    if (reset) this.#arrived = [];
    try {
      const page = await api.get<PageDto<ActivityEntryDto>>('/activity', {
        query: { ...this.#filters, limit: 50, cursor: reset ? undefined : (this.nextCursor ?? undefined) },
      });
      if (generation !== this.#generation) return;
      this.entries = reset ? newestFirst([...(this.#arrived ?? []), ...page.items]) : [...this.entries, ...page.items];
      this.nextCursor = page.nextCursor;
    } catch (cause) {
      if (generation === this.#generation) this.error = messageFor(cause);
    } finally {
      if (generation === this.#generation) {
        this.loading = false;
        this.#arrived = null;
      }
    }
  }

  async checkChain(): Promise<void> {
    try {
      this.verify = await api.get<ActivityVerifyDto>('/activity/verify');
    } catch (cause) {
      this.error = messageFor(cause);
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.entries = newestFirst([...this.held, ...this.entries]);
    this.held = [];
    this.paused = false;
  }

  #receive(entry: ActivityEntryDto): void {
    if (!matches(entry, this.#filters) || this.entries.some((e) => e.seq === entry.seq)) return;
    this.#arrived?.push(entry);
    if (this.paused) this.held = [entry, ...this.held];
    else this.entries = [entry, ...this.entries];
    if (this.verify?.ok) this.verify = { ...this.verify, checked: this.verify.checked + 1 };
  }
}

/** What the server streams: the filters it knows (the rest are applied here). */
function subscriptionOf(filters: ActivityFilters): ActivityFilter {
  return {
    ...(filters.action ? { action: [filters.action] } : {}),
    ...(filters.member ? { member: filters.member } : {}),
  };
}

function matches(entry: ActivityEntryDto, filters: ActivityFilters): boolean {
  if (filters.actor && entry.actor.memberId !== filters.actor) return false;
  if (filters.member && !(entry.target.type === 'member' && entry.target.id === filters.member)) return false;
  if (filters.action && entry.action !== filters.action) return false;
  if (filters.from && entry.at < filters.from) return false;
  if (filters.to && entry.at >= filters.to) return false;
  return true;
}

/** One row per seq, newest first. */
function newestFirst(entries: ActivityEntryDto[]): ActivityEntryDto[] {
  const bySeq = new Map(entries.map((entry) => [entry.seq, entry]));
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq);
}
