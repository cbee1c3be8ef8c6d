import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Mutex } from 'async-mutex';
import { DataSource, type EntityManager } from 'typeorm';
import { AccountEntity } from '../accounts/account.entity.js';
import { notFound } from '../common/domain-error.js';
import { DomainEventBus, type DomainEvent } from '../events/domain-events.js';
import type { DatabaseKind } from './data-source.js';

const DEADLOCK_ATTEMPTS = 3;

/** PostgreSQL's deadlock_detected, as TypeORM passes it on. */
function isDeadlock(error: unknown): boolean {
  const failure = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return (failure?.driverError?.code ?? failure?.code) === '40P01';
}

/** A running transaction: its entity manager, and the domain events to publish once it commits. */
export interface Tx {
  readonly manager: EntityManager;
  readonly kind: DatabaseKind;
  /** Queues an event; it is published only if, and after, the transaction commits. */
  publish(event: DomainEvent): void;
}

/**
 * The only door to the database. Every write goes through `transaction()`, which publishes the
 * transaction's domain events after commit.
 *
 * SQLite has one connection and one writer: TypeORM shares that connection between callers, so
 * interleaved async work could land in another caller's transaction. Every read and transaction
 * therefore takes one mutex on SQLite (statements are microseconds; nothing slow runs inside).
 * PostgreSQL uses its pool; per-account invariants are serialised with `SELECT … FOR UPDATE` on the
 * account row (`lockAccount`).
 */
@Injectable()
export class Database implements OnModuleDestroy {
  private readonly logger = new Logger(Database.name);
  private readonly mutex = new Mutex();
  readonly kind: DatabaseKind;

  constructor(
    readonly dataSource: DataSource,
    @Inject(DomainEventBus) private readonly events: DomainEventBus,
  ) {
    this.kind = dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }

  /** Runs reads outside a transaction (serialised with writers on SQLite, see above). */
  read<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.kind === 'sqlite') return this.mutex.runExclusive(() => work(this.dataSource.manager));
    return work(this.dataSource.manager);
  }

  /**
   * Runs `work` in a transaction. On PostgreSQL a transaction that loses a deadlock (40P01) is run
   * again from the start, up to three times: a few flows lock more than one account row (a claimed
   * email logs in every account of the person) and cannot always take them in one global order.
   */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    let queued: DomainEvent[] = [];
    const run = () => {
      queued = [];
      return this.dataSource.transaction((manager) =>
        work({ manager, kind: this.kind, publish: (event) => queued.push(event) }),
      );
    };
    let result: T;
    if (this.kind === 'sqlite') result = await this.mutex.runExclusive(run);
    else {
      for (let attempt = 1; ; attempt++) {
        try {
          result = await run();
          break;
        } catch (error) {
          if (attempt >= DEADLOCK_ATTEMPTS || !isDeadlock(error)) throw error;
          this.logger.warn(`Transaction lost a deadlock; running it again (attempt ${attempt + 1} of ${DEADLOCK_ATTEMPTS})`);
        }
      }
    }
    for (const event of queued) {
      try {
        this.events.publish(event);
      } catch (error) {
        this.logger.error(`A listener of ${event.type} failed: ${String(error)}`);
      }
    }
    return result;
  }

  /** Loads the account and holds its row lock until the transaction ends (PostgreSQL; SQLite is already serial). */
  async lockAccount(tx: Tx, accountId: string): Promise<AccountEntity> {
    const query = tx.manager.getRepository(AccountEntity).createQueryBuilder('account').where('account.id = :accountId', { accountId });
    if (tx.kind === 'postgres') query.setLock('pessimistic_write');
    const account = await query.getOne();
    if (!account) throw notFound('Account');
    return account;
  }

  async ping(): Promise<boolean> {
    try {
      await this.read((manager) => manager.query('SELECT 1'));
      return true;
    } catch {
      return false;
    }
  }

  async onModuleDestroy(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
