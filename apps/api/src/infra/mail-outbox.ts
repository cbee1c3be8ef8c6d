import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { InvitationMailDto } from '@rolecall/contracts';
import { randomUUID } from 'node:crypto';
import { In, type EntityManager } from 'typeorm';
import { Clock } from '../common/clock.js';
import { RoundFailures } from '../common/observability/outage-log.js';
import { Database } from '../database/database.service.js';
import { MemberEntity } from '../database/entities/member.entity.js';
import { MailOutboxEntity, type OutboxMailKind } from '../database/entities/mail-outbox.entity.js';
import { MailService, type Mail } from './mail.service.js';

/** How the outbox retries; from the environment (README, "Mail outbox"). */
export interface OutboxSettings {
  /** Attempts before a mail is marked failed (`MAIL_MAX_ATTEMPTS`, default 8). */
  readonly maxAttempts: number;
  /** Wait after the first failed attempt, doubled after each further one (`MAIL_RETRY_BASE_MS`, default 30 s)… */
  readonly retryBaseMs: number;
  /** …up to this (1 h). */
  readonly retryMaxMs: number;
  /** How long a node holds a mail it is sending; one that died mid-send lets go after it (2 min). */
  readonly leaseMs: number;
}

function outboxSettings(env: NodeJS.ProcessEnv = process.env): OutboxSettings {
  const positive = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
    return value;
  };
  return {
    maxAttempts: positive('MAIL_MAX_ATTEMPTS', 8),
    retryBaseMs: positive('MAIL_RETRY_BASE_MS', 30_000),
    retryMaxMs: 60 * 60 * 1000,
    leaseMs: 2 * 60 * 1000,
  };
}

/** Which pending mails to try now: these ids, or every pending mail of a kind to an address. */
export type OutboxSelection = { ids: readonly string[] } | { kind: OutboxMailKind; to: string };

/** Mails claimed per round of the sweep. */
const BATCH = 20;
/** How long an invitation request waits for its mails before answering (they go on in the background). */
const INLINE_WAIT_MS = 5_000;
/** Finished rows are kept this long (an invitation's "sent 2 min ago"), then pruned. */
const KEEP_FINISHED_MS = 30 * 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

/**
 * The mail outbox (issue 14 §3). A change that mails someone (an invitation, a verification or
 * password-reset link, a 2FA reset) writes the rendered mail into `mail_outbox` in its own
 * transaction, so a committed change cannot lose its mail to a crash. After commit the caller asks
 * for it to be sent at once; whatever is left — the process died, the mail server was down — is
 * picked up by the sweep on start-up and then every few seconds, with exponential back-off per mail
 * and a bounded number of attempts, after which it is marked `failed` (logged).
 *
 * Claiming is atomic, so two nodes on one PostgreSQL database never send the same mail twice:
 * `SELECT … FOR UPDATE SKIP LOCKED` then a lease (`leased_until`) in the same transaction; on SQLite
 * the one writer does the same. Delivery is at least once: a node that dies after the mail server
 * took the mail and before recording it sends it again after the lease.
 *
 * Secrets: the rendered mail holds a raw link token that is stored nowhere else (tokens are kept
 * hashed), so re-rendering later is impossible and the row keeps the mail while it is pending. Once
 * sent or failed for good the subject and bodies are wiped (`NULL`); an invitation's row stays, as
 * its delivery status, and the others are deleted.
 */
@Injectable()
export class MailOutbox implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MailOutbox.name);
  readonly settings = outboxSettings();
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private prunedAt = 0;
  private stopped = false;
  /** An outage logs one line, not one per tick. */
  private readonly failures = new RoundFailures(
    this.logger,
    'The mail outbox sweep',
    'The mail outbox sweep works again',
  );

  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(MailService) private readonly mail: MailService,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    // Start-up: everything pending is tried now, whatever its back-off said. Sweeps are not waited
    // for at shutdown (a mail left half-sent is retried after its lease by whichever node is up).
    void this.sweep(true);
    const every = Math.min(15_000, Math.max(50, Math.floor(this.settings.retryBaseMs / 2)));
    this.timer = setInterval(() => {
      if (!this.sweeping && !this.stopped) void this.sweep(false);
    }, every);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Writes a mail into the outbox in the caller's transaction and returns its id. A pending mail of
   * the same kind to the same member (invitation) or address (links) is dropped: its link died when
   * the new one was issued.
   */
  async enqueue(
    manager: EntityManager,
    kind: OutboxMailKind,
    mail: Mail,
    memberId: string | null = null,
  ): Promise<string> {
    const repository = manager.getRepository(MailOutboxEntity);
    if (memberId) await repository.delete({ kind, memberId });
    else await repository.delete({ kind, recipient: mail.to, status: 'pending' });
    const now = this.clock.now().toISOString();
    const id = randomUUID();
    await repository.insert({
      id,
      kind,
      recipient: mail.to,
      memberId,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      leasedUntil: null,
      lastError: null,
      sentAt: null,
      createdAt: now,
      updatedAt: now,
    });
    return id;
  }

  /**
   * After commit: tries the selected mails now and waits for them (at most a few seconds: a mail
   * server that hangs does not hold the answer; the attempt goes on and the sweep retries).
   */
  async deliverNow(selection: OutboxSelection): Promise<void> {
    const task = this.mail.later('Sending mail from the outbox', () => this.deliverOrLeave(selection));
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([task, new Promise<void>((resolve) => (timeout = setTimeout(resolve, INLINE_WAIT_MS)))]);
    clearTimeout(timeout);
  }

  /** After commit, without waiting: the caller has answered already or must not wait. */
  deliverLater(selection: OutboxSelection): void {
    void this.mail.later('Sending mail from the outbox', () => this.deliverOrLeave(selection));
  }

  /**
   * `deliver`, where a failure of the database (down, or closed by a shutdown) is one log line: the
   * mail is safe in the outbox and the sweep of this node or another, or the next start, sends it.
   */
  private async deliverOrLeave(selection: OutboxSelection): Promise<void> {
    try {
      await this.deliver(selection);
    } catch (error) {
      this.logger.warn(
        `Mail left in the outbox for the next attempt: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Claims the selected pending mails (regardless of their back-off) and sends them. */
  async deliver(selection: OutboxSelection): Promise<void> {
    const claimed = await this.claim(selection);
    for (const row of claimed) await this.send(row);
  }

  /**
   * One round of retries: claims due mails (every pending one on start-up) and sends them, batch
   * after batch, and prunes long-finished rows. A failure (the database is down) is logged once.
   */
  async sweep(startup: boolean): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (;;) {
        if (this.stopped) return;
        const claimed = await this.claim({ due: true, startup });
        for (const row of claimed) await this.send(row);
        if (claimed.length < BATCH) break;
      }
      if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
        await this.prune();
        this.prunedAt = Date.now();
      }
      this.failures.succeeded();
    } catch (error) {
      this.failures.failed(error);
    } finally {
      this.sweeping = false;
    }
  }

  /** What `GET /users/:id` shows of an invited member's invitation mail; null when there is none. */
  async invitationStatus(manager: EntityManager, memberId: string): Promise<InvitationMailDto | null> {
    const row = await manager
      .getRepository(MailOutboxEntity)
      .findOne({ where: { kind: 'invitation', memberId }, order: { createdAt: 'DESC' } });
    if (!row) return null;
    return {
      status: row.status,
      attempts: row.attempts,
      lastError: row.lastError,
      sentAt: row.sentAt,
      nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt : null,
    };
  }

  /** Leases pending mails in one transaction; on PostgreSQL rows another node holds are skipped. */
  private async claim(selection: OutboxSelection | { due: true; startup: boolean }): Promise<MailOutboxEntity[]> {
    return this.db.transaction(async (tx) => {
      const now = this.clock.now();
      const at = now.toISOString();
      const query = tx.manager
        .getRepository(MailOutboxEntity)
        .createQueryBuilder('m')
        .where('m.status = :pending', { pending: 'pending' })
        .andWhere('(m.leased_until IS NULL OR m.leased_until <= :at)', { at });
      if ('ids' in selection) {
        if (selection.ids.length === 0) return [];
        query.andWhere('m.id IN (:...ids)', { ids: [...selection.ids] });
      } else if ('kind' in selection) {
        query.andWhere('m.kind = :kind AND m.recipient = :to', { kind: selection.kind, to: selection.to });
      } else if (!selection.startup) {
        query.andWhere('m.next_attempt_at <= :at', { at });
      }
      query.orderBy('m.next_attempt_at', 'ASC').limit(BATCH);
      if (tx.kind === 'postgres') query.setLock('pessimistic_write').setOnLocked('skip_locked');
      const rows = await query.getMany();
      if (rows.length === 0) return [];
      const leasedUntil = new Date(now.getTime() + this.settings.leaseMs).toISOString();
      await tx.manager
        .getRepository(MailOutboxEntity)
        .createQueryBuilder()
        .update()
        .set({ leasedUntil, updatedAt: at, attempts: () => 'attempts + 1' })
        .where({ id: In(rows.map((row) => row.id)) })
        .execute();
      return rows.map((row) => Object.assign(row, { leasedUntil, attempts: row.attempts + 1 }));
    });
  }

  /** One attempt at a claimed mail; records the outcome (sent, retry later, or failed for good). */
  private async send(row: MailOutboxEntity): Promise<void> {
    const repository = (manager: EntityManager) => manager.getRepository(MailOutboxEntity);
    if (row.kind === 'invitation' && row.memberId) {
      // Cancelled or accepted in the meantime: the link is dead, the mail is not sent.
      const member = await this.db.read((manager) =>
        manager.getRepository(MemberEntity).findOneBy({ id: row.memberId! }),
      );
      if (member?.status !== 'invited') {
        await this.db.transaction((tx) => repository(tx.manager).delete({ id: row.id }));
        return;
      }
    }
    let failure: string | null = null;
    try {
      await this.mail.send({
        to: row.recipient,
        subject: row.subject ?? '',
        text: row.text ?? '',
        html: row.html ?? '',
      });
    } catch (error) {
      failure = (error instanceof Error ? error.message : String(error)).slice(0, 300) || 'unknown error';
    }
    const now = this.clock.now();
    const at = now.toISOString();
    const wiped = { subject: null, text: null, html: null, leasedUntil: null, updatedAt: at };
    await this.db.transaction(async (tx) => {
      if (failure === null) {
        if (row.kind === 'invitation')
          await repository(tx.manager).update(
            { id: row.id },
            { ...wiped, status: 'sent', sentAt: at, lastError: null },
          );
        else await repository(tx.manager).delete({ id: row.id });
      } else if (row.attempts >= this.settings.maxAttempts) {
        await repository(tx.manager).update({ id: row.id }, { ...wiped, status: 'failed', lastError: failure });
      } else {
        const delay = Math.min(this.settings.retryMaxMs, this.settings.retryBaseMs * 2 ** (row.attempts - 1));
        await repository(tx.manager).update(
          { id: row.id },
          {
            nextAttemptAt: new Date(now.getTime() + delay).toISOString(),
            leasedUntil: null,
            lastError: failure,
            updatedAt: at,
          },
        );
      }
    });
    if (failure === null)
      this.logger.log(`The ${mailName(row)} to ${row.recipient} was sent (attempt ${row.attempts})`);
    else if (row.attempts >= this.settings.maxAttempts) {
      this.logger.error(
        `Gave up on the ${mailName(row)} to ${row.recipient} after ${row.attempts} attempts: ${failure}`,
      );
    } else
      this.logger.warn(
        `The ${mailName(row)} to ${row.recipient} could not be sent (attempt ${row.attempts} of ${this.settings.maxAttempts}; retrying): ${failure}`,
      );
  }

  /** Deletes finished rows older than a month (failed mails of every kind, sent invitations). */
  private async prune(): Promise<void> {
    const before = new Date(this.clock.now().getTime() - KEEP_FINISHED_MS).toISOString();
    await this.db.transaction((tx) =>
      tx.manager
        .getRepository(MailOutboxEntity)
        .createQueryBuilder()
        .delete()
        .where("status <> 'pending' AND updated_at < :before", { before })
        .execute(),
    );
  }
}

const KIND_NAMES: Record<OutboxMailKind, string> = {
  invitation: 'invitation mail',
  verify_email: 'verification mail',
  password_reset: 'password reset mail',
  two_factor_reset: '2FA reset mail',
};

const mailName = (row: Pick<MailOutboxEntity, 'kind'>): string => KIND_NAMES[row.kind];
