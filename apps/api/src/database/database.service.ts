import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Mutex } from 'async-mutex';
import { DataSource, type EntityManager } from 'typeorm';
import { AccountEntity } from '../accounts/account.entity.js';
import { notFound } from '../common/domain-error.js';
import { DomainEventBus, type DomainEvent } from '../events/domain-events.js';
import type { DatabaseKind } from './data-source.js';

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

  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const queued: DomainEvent[] = [];
    const run = () =>
      this.dataSource.transaction((manager) =>
        work({ manager, kind: this.kind, publish: (event) => queued.push(event) }),
      );
    const result = this.kind === 'sqlite' ? await this.mutex.runExclusive(run) : await run();
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
