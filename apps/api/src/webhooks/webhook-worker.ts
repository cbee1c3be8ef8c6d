import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { WebhookPayload } from '@rolecall/contracts';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { In, type SelectQueryBuilder } from 'typeorm';
import { AccountMutations } from '../database/account-mutation.js';
import { exportLine } from '../database/activity-export-line.js';
import { ActivityEntity } from '../database/entities/activity.entity.js';
import type { Actor } from '../database/activity.service.js';
import { Clock } from '../common/clock.js';
import { RoundFailures } from '../common/observability/outage-log.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { Database } from '../database/database.service.js';
import { DomainEventBus } from '../events/domain-events.js';
import { SecretBox } from '../common/secret-box.js';
import { postTo, resolveTarget, TargetRefused, type PostResult } from './webhook-target.js';
import { WebhookDeliveryEntity, WebhookEndpointEntity } from '../database/entities/webhook.entity.js';
import { actionMatches, urlForLog, webhookMessageId } from './webhooks.dto.js';

/** Endpoints claimed per round (each is then delivered to on its own, in seq order). */
const CLAIM = 10;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** The system, as the actor of `webhook.disabled`. */
const SYSTEM: Actor = { memberId: null, email: null, ip: null, userAgent: null };

/** Stands for `anyDue`'s clock in its statement built once (an ISO time is never this). */
const DUE_AT = '(due at)';

/**
 * Delivers the activity log to webhook endpoints (issue 16 §4). The log itself is the durable queue:
 * each endpoint keeps a cursor (the last seq handled) and a next-attempt time. On every node, this
 * worker claims due endpoints that are behind the account's head with a lease (`SELECT … FOR UPDATE
 * SKIP LOCKED` on PostgreSQL, the one writer on SQLite; then `leased_until`/`lease_owner`), so two
 * nodes never deliver to one endpoint at once; it then posts the entries after the cursor one by one,
 * in seq order, and advances the cursor only after a 2xx (entries the filter leaves out move it too).
 * A failure stops that endpoint until its back-off ends (exponential, ±20 % jitter); after a day of
 * failures without one success it is disabled and `webhook.disabled` is written. Delivery is at least
 * once: a node that dies between the receiver's 2xx and recording it posts that entry again (same
 * `webhook-id`) once its lease has run out.
 *
 * Woken after every commit that appends an entry, and by a timer. Never throws: a database that is
 * down only delays (one log line per distinct failure); stops on shutdown (an attempt in flight may
 * finish; its endpoint's lease then lets another node or the next start carry on).
 */
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookWorker.name);
  private readonly node = randomUUID();
  private readonly settings: AppConfig['webhooks'];
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private prunedAt = 0;
  /** Aborted at shutdown: a POST in flight is cut instead of holding the shutdown for its timeout. */
  private readonly stopping = new AbortController();
  private readonly failures = new RoundFailures(this.logger, 'Webhook delivery round', 'Webhook deliveries work again');
  /**
   * `anyDue`'s statement and parameters, built once from `due` (its clock bound as `DUE_AT`, replaced
   * on each call): it runs after every committed change.
   */
  private anyDueQuery: { sql: string; parameters: unknown[] } | null = null;

  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(DomainEventBus) private readonly events: DomainEventBus,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(SecretBox) private readonly secrets: SecretBox,
  ) {
    this.settings = config.webhooks;
  }

  onApplicationBootstrap(): void {
    this.stopped = false;
    this.unsubscribe = this.events.on('activity.appended', () => this.nudge());
    this.timer = setInterval(() => this.nudge(), this.settings.pollMs);
    this.timer.unref();
    this.nudge();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // Let the round in flight notice `stopped` (each step checks it) before the database closes.
    await this.running;
  }

  /** Asks for a round now (or right after the one running). Cheap; safe to call from anywhere. */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.rounds().finally(() => (this.running = null));
  }

  private async rounds(): Promise<void> {
    try {
      do {
        this.again = false;
        for (;;) {
          if (this.stopped) return;
          // A read first: the write transaction of a claim only when some endpoint has work due.
          if (!(await this.anyDue())) break;
          const claimed = await this.claim();
          if (claimed.length === 0) break;
          const outcomes = await Promise.allSettled(claimed.map((endpoint) => this.drain(endpoint)));
          const failed = outcomes.find((outcome) => outcome.status === 'rejected');
          // That endpoint keeps its lease until it runs out: no other round retries it in a loop.
          if (failed) throw failed.reason;
        }
      } while (this.again && !this.stopped);
      if (Date.now() - this.prunedAt > PRUNE_EVERY_MS && !this.stopped) {
        await this.prune();
        this.prunedAt = Date.now();
      }
      this.failures.succeeded();
    } catch (error) {
      this.failures.failed(error, this.stopped);
    }
  }

  /**
   * Whether an enabled endpoint is due, not leased, and behind its account's head: `due`'s
   * conditions, built by the query builder once and the SQL kept, since it is asked after every
   * committed change (issue 18: built each time it was ~3 % of a role change's CPU).
   */
  private async anyDue(): Promise<boolean> {
    const at = this.clock.now().toISOString();
    const rows = await this.db.read((manager) => {
      if (!this.anyDueQuery) {
        const [sql, parameters] = this.due(manager.getRepository(WebhookEndpointEntity).createQueryBuilder('e'), DUE_AT)
          .select('e.id', 'id')
          .limit(1)
          .getQueryAndParameters();
        this.anyDueQuery = { sql, parameters };
      }
      const { sql, parameters } = this.anyDueQuery;
      return manager.query<{ id: string }[]>(
        sql,
        parameters.map((value) => (value === DUE_AT ? at : value)),
      );
    });
    return rows.length > 0;
  }

  private due(query: SelectQueryBuilder<WebhookEndpointEntity>, at: string): SelectQueryBuilder<WebhookEndpointEntity> {
    return query
      .innerJoin('accounts', 'a', 'a.id = e.account_id')
      .where('e.enabled = :enabled', { enabled: true })
      .andWhere('e.next_attempt_at <= :at', { at })
      .andWhere('(e.leased_until IS NULL OR e.leased_until <= :at)', { at })
      .andWhere('e.cursor_seq < a.activity_seq');
  }

  /** Leases due endpoints that have entries to deliver; rows another node holds are skipped. */
  private claim(): Promise<WebhookEndpointEntity[]> {
    return this.db.transaction(async (tx) => {
      const now = this.clock.now();
      const at = now.toISOString();
      const query = this.due(tx.manager.getRepository(WebhookEndpointEntity).createQueryBuilder('e'), at)
        .orderBy('e.next_attempt_at', 'ASC')
        .limit(CLAIM);
      if (tx.kind === 'postgres') query.setLock('pessimistic_write', undefined, ['e']).setOnLocked('skip_locked');
      const rows = await query.getMany();
      if (rows.length === 0) return [];
      const leasedUntil = new Date(now.getTime() + this.settings.leaseMs).toISOString();
      await tx.manager
        .getRepository(WebhookEndpointEntity)
        .update({ id: In(rows.map((row) => row.id)) }, { leasedUntil, leaseOwner: this.node });
      return rows;
    });
  }

  /**
   * Delivers everything after the endpoint's cursor, in order, until it is done, an attempt fails,
   * the lease is lost (the endpoint was changed, disabled or deleted under it) or the node stops.
   */
  private async drain(claimed: WebhookEndpointEntity): Promise<void> {
    let cursor = claimed.cursorSeq;
    let moved = false;
    for (;;) {
      if (this.stopped) break;
      // The endpoint as it is now (URL, filter, secret may have changed), if still ours.
      const endpoint = await this.db.read((manager) =>
        manager.getRepository(WebhookEndpointEntity).findOneBy({ id: claimed.id }),
      );
      if (!endpoint || !endpoint.enabled || endpoint.leaseOwner !== this.node) return;
      const entries = await this.db.read((manager) =>
        manager
          .getRepository(ActivityEntity)
          .createQueryBuilder('a')
          .where('a.account_id = :accountId AND a.seq > :cursor', { accountId: endpoint.accountId, cursor })
          .orderBy('a.seq', 'ASC')
          .limit(this.settings.batch)
          .getMany(),
      );
      if (entries.length === 0) break;
      for (const entry of entries) {
        if (this.stopped) break;
        if (!actionMatches(endpoint.events, entry.action)) {
          cursor = entry.seq;
          moved = true;
          continue;
        }
        const result = await this.attempt(endpoint, entry);
        // Cut by the shutdown: not the receiver's failure. Let go of the endpoint below (best effort:
        // if the database is closing already, the lease runs out instead).
        if (this.stopped) break;
        const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
        if (ok) {
          cursor = entry.seq;
          moved = false;
          if (!(await this.recordSuccess(endpoint, entry, result))) return;
          Object.assign(endpoint, { failures: 0, failingSince: null });
        } else {
          await this.recordFailure(endpoint, entry, result, moved ? cursor : null);
          return;
        }
      }
    }
    // Done (or stopping): keep what the filter skipped, and let go of the endpoint.
    await this.db.transaction((tx) =>
      tx.manager
        .getRepository(WebhookEndpointEntity)
        .update(
          { id: claimed.id, leaseOwner: this.node },
          { ...(moved ? { cursorSeq: cursor } : {}), leasedUntil: null, leaseOwner: null },
        ),
    );
  }

  /** One signed POST of one entry; the SSRF rules are checked again first (DNS may have changed). */
  private async attempt(endpoint: WebhookEndpointEntity, entry: ActivityEntity): Promise<PostResult> {
    const started = performance.now();
    try {
      const target = await resolveTarget(endpoint.url, this.settings.allowLocal);
      const payload: WebhookPayload = { type: entry.action, timestamp: entry.at, data: exportLine(entry) };
      const body = JSON.stringify(payload);
      const id = webhookMessageId(endpoint.id, entry.seq);
      const now = this.clock.now();
      const signature = new Webhook(this.secrets.open(endpoint.secretSealed, endpoint.id)).sign(id, now, body);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'Rolecall-Webhooks/1.0',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signature,
      };
      return await postTo(target, headers, body, this.settings.timeoutMs, this.stopping.signal);
    } catch (error) {
      const message =
        error instanceof TargetRefused
          ? `Refused: ${error.message}`
          : error instanceof Error
            ? error.message
            : String(error);
      return { statusCode: null, error: message.slice(0, 300), durationMs: Math.round(performance.now() - started) };
    }
  }

  /** Logs the delivery and moves the cursor, if the lease is still ours; false when it is not. */
  private recordSuccess(endpoint: WebhookEndpointEntity, entry: ActivityEntity, result: PostResult): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const now = this.clock.now();
      const at = now.toISOString();
      const leasedUntil = new Date(now.getTime() + this.settings.leaseMs).toISOString();
      const moved = await tx.manager.getRepository(WebhookEndpointEntity).update(
        { id: endpoint.id, leaseOwner: this.node },
        {
          cursorSeq: entry.seq,
          failures: 0,
          failingSince: null,
          lastError: null,
          lastSuccessAt: at,
          nextAttemptAt: at,
          leasedUntil,
        },
      );
      if (!moved.affected) return false;
      await tx.manager.getRepository(WebhookDeliveryEntity).insert({
        endpointId: endpoint.id,
        seq: entry.seq,
        action: entry.action,
        at,
        ok: true,
        statusCode: result.statusCode,
        error: null,
        durationMs: result.durationMs,
      });
      return true;
    });
  }

  /**
   * Logs the failed attempt, schedules the next one with back-off, and lets go of the endpoint; after
   * a day of failures without a success, disables it with a `webhook.disabled` entry.
   */
  private async recordFailure(
    endpoint: WebhookEndpointEntity,
    entry: ActivityEntity,
    result: PostResult,
    skippedTo: number | null,
  ): Promise<void> {
    const now = this.clock.now();
    const at = now.toISOString();
    const failures = endpoint.failures + 1;
    const failingSince = endpoint.failingSince ?? at;
    const delay =
      Math.min(this.settings.retryMaxMs, this.settings.retryBaseMs * 2 ** Math.min(failures - 1, 30)) *
      (0.8 + Math.random() * 0.4);
    const error = result.error ?? `HTTP ${result.statusCode}`;
    const giveUp = now.getTime() - Date.parse(failingSince) >= this.settings.disableAfterMs;
    await this.db.transaction(async (tx) => {
      const updated = await tx.manager.getRepository(WebhookEndpointEntity).update(
        { id: endpoint.id, leaseOwner: this.node },
        {
          ...(skippedTo === null ? {} : { cursorSeq: skippedTo }),
          failures,
          failingSince,
          lastError: error.slice(0, 300),
          nextAttemptAt: new Date(now.getTime() + Math.round(delay)).toISOString(),
          leasedUntil: null,
          leaseOwner: null,
        },
      );
      if (!updated.affected) return;
      await tx.manager.getRepository(WebhookDeliveryEntity).insert({
        endpointId: endpoint.id,
        seq: entry.seq,
        action: entry.action,
        at,
        ok: false,
        statusCode: result.statusCode,
        error: error.slice(0, 300),
        durationMs: result.durationMs,
      });
    });
    if (giveUp) await this.disable(endpoint.id, failingSince, error);
  }

  /** A day of failures: the endpoint is turned off, in an ordinary mutation with its activity entry. */
  private async disable(id: string, failingSince: string, error: string): Promise<void> {
    const endpoint = await this.db.read((manager) => manager.getRepository(WebhookEndpointEntity).findOneBy({ id }));
    if (!endpoint?.enabled) return;
    await this.mutations.run(endpoint.accountId, SYSTEM, async ({ tx, log }) => {
      const at = this.clock.now().toISOString();
      const current = await tx.manager.getRepository(WebhookEndpointEntity).findOneBy({ id });
      if (!current?.enabled) return;
      await tx.manager
        .getRepository(WebhookEndpointEntity)
        .update({ id }, { enabled: false, disabledReason: 'failures', disabledAt: at, version: current.version + 1 });
      await log({
        action: 'webhook.disabled',
        target: { type: 'webhook', id, label: urlForLog(current.url) },
        changes: {
          enabled: { before: true, after: false },
          failingSince,
          lastError: error.slice(0, 300),
          undeliveredAfterSeq: current.cursorSeq,
        },
      });
    });
    this.logger.warn(`Webhook ${urlForLog(endpoint.url)} disabled after failing since ${failingSince}: ${error}`);
  }

  /** Deletes delivery-log rows older than the retention (7 days). */
  private async prune(): Promise<void> {
    const before = new Date(this.clock.now().getTime() - this.settings.keepDeliveriesMs).toISOString();
    await this.db.transaction((tx) =>
      tx.manager
        .getRepository(WebhookDeliveryEntity)
        .createQueryBuilder()
        .delete()
        .where('at < :before', { before })
        .execute(),
    );
  }
}
