import { Logger } from '@nestjs/common';
import { DomainError } from '../domain-error.js';
import { databaseFailure } from '../database-errors.js';

/** A line about an outage: its kind, what happened, and how many more of that kind were not printed. */
export interface OutageLine {
  readonly outage: string;
  readonly message: string;
  /** Failures of this kind since the previous line that were counted instead of printed. */
  readonly suppressed: number;
}

/**
 * Expected outages (database or Redis unreachable, storage full) are not bugs: a stack trace says
 * nothing, and a line per failed request buries everything else while the outage lasts. This
 * prints the first failure of a kind at once, then at most one line per `intervalMs` for that
 * kind, carrying the count of the ones it held back; when the failures stop, the last count is
 * still printed at the end of its interval.
 */
export class OutageLog {
  private readonly windows = new Map<string, { suppressed: number; message: string; timer: NodeJS.Timeout }>();

  constructor(
    private readonly write: (line: OutageLine) => void,
    private readonly intervalMs: number,
  ) {}

  report(kind: string, message: string): void {
    const window = this.windows.get(kind);
    if (window) {
      window.suppressed += 1;
      window.message = message;
      return;
    }
    this.write({ outage: kind, message, suppressed: 0 });
    this.open(kind, message);
  }

  private open(kind: string, message: string): void {
    const window = { suppressed: 0, message, timer: undefined as unknown as NodeJS.Timeout };
    window.timer = setTimeout(() => {
      this.windows.delete(kind);
      if (window.suppressed === 0) return;
      this.write({ outage: kind, message: window.message, suppressed: window.suppressed });
      this.open(kind, window.message);
    }, this.intervalMs);
    // Never what keeps a stopping process alive.
    window.timer.unref();
    this.windows.set(kind, window);
  }
}

/** One line per failure kind per interval (see `OutageLog`). */
const OUTAGE_LOG_INTERVAL_MS = 30_000;

const logger = new Logger('Outage');
const outages = new OutageLog(
  ({ outage, message, suppressed }) =>
    // warn: the outage is answered for (503/507, readiness); an error line is for what nobody handled.
    logger.warn(
      { outage, suppressed },
      suppressed === 0
        ? message
        : `${message} (${suppressed} more like this in the last ${OUTAGE_LOG_INTERVAL_MS / 1000} s)`,
    ),
  OUTAGE_LOG_INTERVAL_MS,
);

/**
 * Logs an expected outage without a stack trace, at most one line per kind per 30 s (with the
 * count of the others). `kind` is a short dotted name: `database.unreachable`,
 * `database.storage_full`, `redis.connection`, …
 */
export function outageLog(kind: string, message: string): void {
  outages.report(kind, message);
}

/**
 * The outage an error stands for, or null when it is not one: a request's STORAGE_FULL or
 * UNAVAILABLE, or a raw database failure of those kinds (a connection refused, the disk full).
 */
export function outageKindOf(error: unknown): string | null {
  const cause =
    error instanceof DomainError
      ? error.code === 'STORAGE_FULL' || error.code === 'UNAVAILABLE'
        ? ((error as { cause?: unknown }).cause ?? error)
        : null
      : error;
  if (cause === null) return null;
  const failure = databaseFailure(cause);
  if (failure === 'storage_full') return 'database.storage_full';
  if (failure === 'unavailable') return 'database.unreachable';
  return error instanceof DomainError ? `outage.${error.code}` : null;
}

/**
 * Logs that `what` failed: an expected outage as an outage line (no stack, one per kind per
 * interval), anything else — a bug — with its stack on `logger`. For the places that catch
 * failures of background work (mail after an answer, live deliveries).
 */
export function logFailure(logger: Logger, what: string, error: unknown): void {
  const kind = outageKindOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (kind) outageLog(kind, `${what} failed: ${message}`);
  else logger.error(`${what} failed: ${error instanceof Error ? (error.stack ?? message) : message}`);
}

/**
 * The log of background work that retries by itself in rounds (the mail outbox sweep, webhook
 * deliveries): a failure is logged once however many rounds it lasts (again only when its message
 * changes), and the recovery once.
 */
export class RoundFailures {
  private last: string | null = null;

  constructor(
    private readonly logger: Logger,
    /** `The mail outbox sweep` → "The mail outbox sweep failed (retrying): …". */
    private readonly what: string,
    private readonly recovered: string,
  ) {}

  succeeded(): void {
    if (this.last) this.logger.log(this.recovered);
    this.last = null;
  }

  /** `quiet` (the work is stopping) remembers the failure without a line. */
  failed(error: unknown, quiet = false): void {
    const message = error instanceof Error ? error.message : String(error);
    if (message !== this.last && !quiet) this.logger.warn(`${this.what} failed (retrying): ${message}`);
    this.last = message;
  }
}
