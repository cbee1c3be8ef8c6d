import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of this process (prom-client), served at `GET /metrics` (metrics-endpoint.ts).
 *
 * One registry per process, like the process it describes: everything that records a metric —
 * Nest providers, the Redis clients made before the app, the error filter — imports these
 * functions instead of being handed a service. Tests that start several apps in one process see
 * their sum; they compare counts before and after, never absolute values.
 *
 * Labels are bounded sets only: route patterns (never raw URLs), HTTP methods and statuses, event
 * names of the contract, limit names, error kinds.
 */
export const registry = new Registry();

let defaultMetrics = false;
/** Node.js process metrics (`process_*`, `nodejs_*`): CPU, memory, event-loop lag, GC, handles. */
export function collectProcessMetrics(): void {
  if (defaultMetrics) return;
  defaultMetrics = true;
  collectDefaultMetrics({ register: registry });
}

const httpDuration = new Histogram({
  name: 'rolecall_http_request_duration_seconds',
  help: 'Time from a request arriving to its answer being written (or the client going away), by method, route pattern and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

const liveSockets = new Gauge({
  name: 'rolecall_live_sockets',
  help: 'Socket.IO connections open on this node',
  registers: [registry],
});

/** A counter of this registry with one label. */
function counterBy<L extends string>(label: L, name: string, help: string): Counter<L> {
  return new Counter({ name, help, labelNames: [label] as const, registers: [registry] });
}

const liveEventsPushed = counterBy(
  'event',
  'rolecall_live_events_pushed_total',
  'Server-to-client live events written to sockets of this node (one per socket reached), by event name',
);

const pushLatency = new Histogram({
  name: 'rolecall_live_push_latency_seconds',
  help: 'Time from a transaction committing to the live events it causes being emitted (on the node that committed it), by domain event',
  labelNames: ['event'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

const databaseErrors = counterBy(
  'kind',
  'rolecall_database_errors_total',
  'Database reads and transactions that failed because of the database, by kind',
);

const redisErrors = counterBy(
  'kind',
  'rolecall_redis_errors_total',
  'Redis client errors (connection lost or refused, failed commands), by kind',
);

const rateLimitRefusals = counterBy(
  'limit',
  'rolecall_rate_limit_refusals_total',
  'Requests and live events refused by a rate limit, by limit',
);

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** One answered (or abandoned) HTTP request. `route` is a pattern such as `/api/v1/users/:id`. */
export function recordHttpRequest(method: string, route: string, status: number, seconds: number): void {
  httpDuration.observe({ method: METHODS.has(method) ? method : 'other', route, status: String(status) }, seconds);
}

export function liveSocketOpened(): void {
  liveSockets.inc();
}

export function liveSocketClosed(): void {
  liveSockets.dec();
}

export function liveEventPushed(event: string): void {
  liveEventsPushed.inc({ event });
}

/** `unavailable` and `storage_full` are the outages (503, 507); the rest are failed statements. */
export type DatabaseErrorKind = 'unavailable' | 'storage_full' | 'deadlock' | 'constraint' | 'timeout' | 'other';
export type RedisErrorKind = 'connection' | 'timeout' | 'command';

export function countDatabaseError(kind: DatabaseErrorKind): void {
  databaseErrors.inc({ kind });
}

export function countRedisError(kind: RedisErrorKind): void {
  redisErrors.inc({ kind });
}

/** A refusal by a named limit (`signInIp`, `invitations`, `liveEvents`, …). */
export function countRateLimited(limit: string): void {
  rateLimitRefusals.inc({ limit });
}

/**
 * When each domain event was published, i.e. when its transaction committed (events are published
 * right after COMMIT, synchronously). Weak: an event nobody delivers is simply forgotten.
 */
const committedAt = new WeakMap<object, number>();

/** Events that push nothing to sockets: no push latency for them. */
const SILENT_EVENTS: ReadonlySet<string> = new Set(['account.created', 'session.signed_in']);

/** Called as a domain event is published after its commit. */
export function markCommitted(event: { type: string }): void {
  committedAt.set(event, performance.now());
}

/** Called once the live layer has emitted what `event` causes. */
export function observePush(event: { type: string }): void {
  const at = committedAt.get(event);
  if (at === undefined || SILENT_EVENTS.has(event.type)) return;
  committedAt.delete(event);
  pushLatency.observe({ event: event.type }, (performance.now() - at) / 1000);
}
