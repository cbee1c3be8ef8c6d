/**
 * "Rolecall can't reach its database — retrying": what the dashboard knows about an outage.
 *
 * The API client (api.ts) reports one when an answer is 503 `UNAVAILABLE` (the API is up, its
 * database or Redis is not) or when a request cannot reach the API at all, and clears it at the
 * next answer that is not. GET requests are retried by the client until they get through; writes
 * are never retried on their own (the person sees the message, their form stays filled, and they
 * send it again). So that the banner also goes once a failed write is the last thing that was
 * tried, the outage probes `GET /health` with back-off until the database answers again.
 */
import type { HealthDto } from '@rolecall/contracts';

export type OutageKind = 'database' | 'network';

/** Back-off between retries: 1 s, 2 s, 4 s … at most 15 s, each ±25 %; a Retry-After hint is honoured (up to a minute). */
const BASE_MS = 1000;
const MAX_MS = 15_000;
const MAX_HINT_MS = 60_000;

export function backoffMs(attempt: number, retryAfterMs: number | null): number {
  const exponential = Math.min(MAX_MS, BASE_MS * 2 ** attempt) * (0.75 + Math.random() * 0.5);
  return Math.max(exponential, Math.min(retryAfterMs ?? 0, MAX_HINT_MS));
}

/** `Retry-After` in milliseconds (seconds or an HTTP date), or null. */
export function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Waits `ms`, or rejects with the signal's AbortError when it is aborted first. */
export function pause(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

class Outage {
  /** What is unreachable right now, or null while everything answers. */
  kind = $state<OutageKind | null>(null);

  #probing = false;
  #retryAfterMs: number | null = null;

  /** An answer said the API cannot do its work now (or nothing answered). */
  report(kind: OutageKind, retryAfter: number | null = null): void {
    this.kind = kind;
    this.#retryAfterMs = retryAfter;
    if (!this.#probing) void this.#probe();
  }

  /** An answer came through: whatever was down is back. */
  clear(): void {
    this.kind = null;
  }

  async #probe(): Promise<void> {
    this.#probing = true;
    try {
      for (let attempt = 0; this.kind; attempt++) {
        await pause(backoffMs(attempt, this.#retryAfterMs));
        if (!this.kind) return;
        try {
          const response = await fetch('/api/v1/health', {
            headers: { Accept: 'application/json' },
            credentials: 'same-origin',
          });
          const health = (await response.json().catch(() => null)) as Partial<HealthDto> | null;
          this.#retryAfterMs = retryAfterMs(response.headers.get('Retry-After'));
          // Redis being down makes /health 503 too, but the dashboard's requests work: only the database counts.
          if (health?.db === 'ok') this.clear();
          else this.kind = 'database';
        } catch {
          this.kind = 'network';
        }
      }
    } finally {
      this.#probing = false;
    }
  }
}

export const outage = new Outage();
