/**
 * Support for the live browser matrix (issue 15): what a tab's Socket.IO connection is doing, a
 * wait that measures how long the page took to show something, and the page × event table the
 * matrix prints.
 */
import type { Page, WebSocket } from 'playwright-core';

/**
 * The Socket.IO traffic of one tab, across navigations and reloads. `nextConnection()` (called
 * before navigating) resolves at the next connection the server accepts (its `40` CONNECT packet)
 * in a document loaded after the call. `settled` is true while the current document's connection
 * is up and every acknowledged request the page sent on it (`42<id>[…]`: a subscription, `sync`,
 * presence) has had its answer (`43<id>[…]`).
 *
 * Playwright reports no `close` for the sockets of a document that was left, and the document being
 * left may still open one as the navigation starts: so each socket is tied to the document it was
 * opened in (counted at each DOMContentLoaded; the app opens its socket only after fetching
 * `/me`), and a new document forgets the previous one's socket.
 */
export class LiveTraffic {
  #document = 0;
  #current: WebSocket | null = null;
  #connected = false;
  #pending = new Set<string>();
  #waiters: { after: number; resolve: () => void }[] = [];

  constructor(page: Page) {
    page.on('domcontentloaded', () => {
      this.#document += 1;
      this.#current = null;
      this.#connected = false;
      this.#pending.clear();
    });
    page.on('websocket', (socket) => {
      if (!socket.url().includes('/socket.io/')) return;
      const document = this.#document;
      this.#current = socket;
      this.#connected = false;
      this.#pending.clear();
      const current = () => this.#current === socket && this.#document === document;
      socket.on('framesent', (frame) => {
        const ack = /^42(\d+)\[/.exec(String(frame.payload));
        if (ack && current()) this.#pending.add(ack[1]!);
      });
      socket.on('framereceived', (frame) => {
        if (!current()) return;
        const payload = String(frame.payload);
        if (payload.startsWith('40')) {
          this.#connected = true;
          const ready = this.#waiters.filter((waiter) => document > waiter.after);
          this.#waiters = this.#waiters.filter((waiter) => document <= waiter.after);
          ready.forEach((waiter) => waiter.resolve());
        }
        const answer = /^43(\d+)\[/.exec(payload);
        if (answer) this.#pending.delete(answer[1]!);
      });
      socket.on('close', () => {
        if (current()) this.#connected = false;
      });
    });
  }

  /** Register before `goto`/`reload`: resolves when a document loaded after this call connects, or rejects after `timeoutMs`. */
  nextConnection(timeoutMs: number): Promise<void> {
    const after = this.#document;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`no live connection within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push({ after, resolve: done });
    });
  }

  get settled(): boolean {
    return this.#current !== null && this.#connected && this.#pending.size === 0;
  }
}

/**
 * Checks `condition` every `intervalMs` until it holds (true) or `timeoutMs` has passed (false): a
 * wait for what the page shows, like `expect.poll`, but one that reports instead of throwing so a
 * cell that never updates is recorded and the matrix goes on. A check that throws counts as false.
 */
export async function until(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 25,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return true;
    } catch {
      // The page is between documents, or an element went away while being read: look again.
    }
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export type CellResult = { ms: number } | { failure: string };

/** Rows × columns of results; a cell never run is "—" (the event does not concern that page). */
export class Matrix {
  readonly #cells = new Map<string, CellResult>();

  constructor(
    readonly rows: readonly string[],
    readonly columns: readonly string[],
  ) {}

  record(row: string, column: string, result: CellResult): void {
    if (!this.rows.includes(row) || !this.columns.includes(column)) throw new Error(`no cell ${row} × ${column}`);
    this.#cells.set(`${row}\u0000${column}`, result);
  }

  /** Every failed cell as "row × column: why". */
  failures(): string[] {
    const out: string[] = [];
    for (const row of this.rows) {
      for (const column of this.columns) {
        const result = this.#cells.get(`${row}\u0000${column}`);
        if (result && 'failure' in result) out.push(`${row} × ${column}: ${result.failure}`);
      }
    }
    return out;
  }

  get size(): number {
    return this.#cells.size;
  }

  /** A plain-text table: ms until the page showed the change, FAIL, or — where the event does not apply. */
  table(): string {
    const cell = (row: string, column: string): string => {
      const result = this.#cells.get(`${row}\u0000${column}`);
      if (!result) return '—';
      return 'failure' in result ? 'FAIL' : String(Math.round(result.ms));
    };
    const firstWidth = Math.max(...this.rows.map((row) => row.length), 4);
    const widths = this.columns.map((column) => Math.max(column.length, 5));
    const line = (first: string, rest: string[]) =>
      [first.padEnd(firstWidth), ...rest.map((value, index) => value.padStart(widths[index]!))].join('  ');
    const lines = [
      line('page', [...this.columns]),
      line(
        '-'.repeat(firstWidth),
        widths.map((width) => '-'.repeat(width)),
      ),
    ];
    for (const row of this.rows)
      lines.push(
        line(
          row,
          this.columns.map((column) => cell(row, column)),
        ),
      );
    return lines.join('\n');
  }
}
