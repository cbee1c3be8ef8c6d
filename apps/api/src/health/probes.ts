import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import pg from 'pg';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { Database } from '../database/database.service.js';
import { REDIS, RedisBridge, type RedisConnections } from '../infra/redis-bridge.js';
import { Lifecycle } from './lifecycle.js';

/**
 * Every probe gives up after this long, so a health answer never waits longer than about one
 * probe (they run side by side): well within the 1 s promised to load balancers.
 */
const PROBE_TIMEOUT_MS = 500;

/**
 * How long the work behind a probe (opening the probe's connection, a `SELECT 1`) may take before
 * it is given up and the connection dropped: longer than one answer, so that a slow connect still
 * completes, and short enough that a connection the network swallowed is replaced within seconds.
 */
const PROBE_WORK_TIMEOUT_MS = 3000;

/** An event loop stalled this long in the last window means the process is not sound. */
const EVENT_LOOP_STALL_MS = 5000;
const EVENT_LOOP_WINDOW_MS = 10_000;

/**
 * The database: `SELECT 1`, given up after PROBE_TIMEOUT_MS.
 *
 * On PostgreSQL the probe has a one-connection pool of its own with a connect timeout and a query
 * timeout: a probe through the app's pool would wait for a free connection, and a probe stuck on a
 * connection the network swallowed would keep that connection forever (the app's pool has no
 * timeouts), one more at every probe, until the pool was full of them. This pool drops a connection
 * that timed out, so once the database is back the next probe gets a fresh one.
 *
 * The answer waits PROBE_TIMEOUT_MS; the work behind it gets PROBE_WORK_TIMEOUT_MS and is shared:
 * at most one `SELECT 1` is outstanding, and a probe that gave up waiting leaves it running for the
 * next probe to join. Cutting the connect at the answer's budget made a database (or a host) slow
 * to open connections unready for good: every probe abandoned its connect at 500 ms and the next
 * one started over (health.spec, "slower to accept"). The connection is also opened at boot, so the
 * first probe does not pay for it.
 */
@Injectable()
export class DatabaseProbe implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly pool: pg.Pool | null;
  private pendingSelect: Promise<void> | null = null;

  constructor(
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(Database) private readonly database: Database,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.pool =
      database.kind === 'postgres' && config.databaseUrl
        ? new pg.Pool({
            connectionString: config.databaseUrl,
            max: 1,
            connectionTimeoutMillis: PROBE_WORK_TIMEOUT_MS,
            query_timeout: PROBE_WORK_TIMEOUT_MS,
            idleTimeoutMillis: 30_000,
            allowExitOnIdle: true,
            application_name: 'rolecall-health',
          })
        : null;
    // An idle probe connection that breaks is reported by the next probe; it must not throw here.
    this.pool?.on('error', () => undefined);
  }

  onApplicationBootstrap(): void {
    // Opens the probe's connection now; a failure here is reported by the first probe.
    this.select()?.catch(() => undefined);
  }

  /** The one outstanding `SELECT 1` on the probe's pool (null on SQLite). */
  private select(): Promise<void> | null {
    if (!this.pool) return null;
    this.pendingSelect ??= this.pool
      .query('SELECT 1')
      .then(() => undefined)
      .finally(() => (this.pendingSelect = null));
    return this.pendingSelect;
  }

  /**
   * Up when `SELECT 1` answers. A full disk does not take the database down (reads are served, and
   * routing away would not help: every node writes to the same database), so it is reported as
   * `storage: 'full'` in the details, and `/health` says `degraded`.
   */
  check(): PromiseLike<HealthIndicatorResult<'database'>> {
    return this.indicators
      .check('database')
      .attempt(async () => {
        const select = this.select();
        if (select) await select;
        else if (!(await this.database.ping())) throw new Error('SELECT 1 failed');
        return { storage: this.storage() };
      })
      .withTimeout(PROBE_TIMEOUT_MS);
  }

  /** Whether the database can grow: see Database.storageState(). */
  storage(): 'ok' | 'full' {
    return this.database.storageState();
  }

  onModuleDestroy(): void {
    // Not awaited: with the database unreachable, ending waits on connections that never answer.
    void this.pool?.end().catch(() => undefined);
  }
}

/**
 * Redis, when `REDIS_URL` is set: every connection of the node must be connected, and a PING must
 * come back within PROBE_TIMEOUT_MS. While a client is disconnected its commands wait in an offline
 * queue (a PING there waited 15 s and more), so a disconnected client is reported at once, and at
 * most one PING is outstanding: the next probe waits on the same one instead of queueing another.
 */
@Injectable()
export class RedisProbe {
  private pendingPing: Promise<'ok' | 'down' | 'disabled'> | null = null;

  constructor(
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: RedisConnections | null,
    @Inject(RedisBridge) private readonly bridge: RedisBridge,
  ) {}

  get configured(): boolean {
    return this.redis !== null;
  }

  check(): PromiseLike<HealthIndicatorResult<'redis'>> {
    return this.indicators
      .check('redis')
      .attempt(async () => {
        const redis = this.redis;
        if (!redis) return;
        const disconnected = (['pub', 'sub', 'events'] as const).filter((name) => !redis[name].isReady);
        if (disconnected.length) throw new Error(`not connected (${disconnected.join(', ')})`);
        this.pendingPing ??= this.bridge.ping().finally(() => (this.pendingPing = null));
        if ((await this.pendingPing) !== 'ok') throw new Error('PING failed');
      })
      .withTimeout(PROBE_TIMEOUT_MS);
  }
}

/**
 * The process itself: not shutting down, and an event loop that did not stall for
 * EVENT_LOOP_STALL_MS in the last window (the longest delay is reported either way).
 */
@Injectable()
export class ProcessProbe implements OnModuleDestroy {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private previousWindowMaxMs = 0;
  private readonly rollover: ReturnType<typeof setInterval>;

  constructor(
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(Lifecycle) private readonly lifecycle: Lifecycle,
  ) {
    this.histogram.enable();
    this.rollover = setInterval(() => {
      this.previousWindowMaxMs = this.histogram.max / 1e6;
      this.histogram.reset();
    }, EVENT_LOOP_WINDOW_MS);
    this.rollover.unref();
  }

  check(): HealthIndicatorResult<'process'> {
    const session = this.indicators.check('process');
    const eventLoopDelayMs = Math.round(Math.max(this.previousWindowMaxMs, this.histogram.max / 1e6));
    if (this.lifecycle.shuttingDown) return session.down({ message: 'shutting down', eventLoopDelayMs });
    if (eventLoopDelayMs >= EVENT_LOOP_STALL_MS)
      return session.down({ message: 'event loop stalled', eventLoopDelayMs });
    return session.up({ eventLoopDelayMs });
  }

  onModuleDestroy(): void {
    clearInterval(this.rollover);
    this.histogram.disable();
  }
}

/**
 * Logs readiness when it changes (not at every probe): one line when a dependency goes, one when
 * it is back. `down` maps each failing check to its message.
 */
@Injectable()
export class ReadinessLog {
  private readonly logger = new Logger('Health');
  private lastDown = '';

  record(down: Record<string, string>): void {
    const names = Object.keys(down).sort().join(', ');
    if (names === this.lastDown) return;
    if (names)
      this.logger.warn(
        `Not ready: ${Object.entries(down)
          .map(([name, message]) => `${name} ${message}`)
          .join('; ')}`,
      );
    else this.logger.log('Ready again');
    this.lastDown = names;
  }
}
