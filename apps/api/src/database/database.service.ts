import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Mutex } from 'async-mutex';
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import { AccountEntity } from './entities/account.entity.js';
import { RowReader } from './entity-columns.js';
import { notFound } from '../common/domain-error.js';
import { DomainEventBus, type DomainEvent } from '../events/domain-events.js';
import { databaseDomainError, databaseFailure } from '../common/database-errors.js';
import { recordDatabaseError } from '../common/observability/failures.js';
import type { DatabaseKind } from './data-source.js';

const DEADLOCK_ATTEMPTS = 3;
/** Up to this many ms of random wait before running a transaction again: two that deadlocked, retried at once, deadlock again. */
const DEADLOCK_JITTER_MS = 50;

/** PostgreSQL's deadlock_detected, as TypeORM passes it on. */
function isDeadlock(error: unknown): boolean {
  const failure = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return (failure?.driverError?.code ?? failure?.code) === '40P01';
}

/** The parts of TypeORM's better-sqlite3 driver this service looks at: the one handle and the one shared query runner. */
interface SqliteDriver {
  databaseConnection: { readonly inTransaction: boolean; exec(sql: string): unknown };
  queryRunner?: QueryRunner;
}

/** Counts the failure (metrics) and hands it on. */
function recorded(error: unknown): unknown {
  recordDatabaseError(error);
  return error;
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
 *
 * A failed COMMIT or ROLLBACK must not leave that one SQLite connection in a state nobody knows
 * (issue 14 §1): SQLite rolls a transaction back by itself on SQLITE_FULL, TypeORM's own ROLLBACK then
 * fails and TypeORM keeps believing a transaction is open, so the next "transaction" became a
 * SAVEPOINT, and one failing inside an open transaction left it open for good — every later write
 * acknowledged and never committed. So around every SQLite transaction (and before every read) the
 * connection is checked against better-sqlite3's own `inTransaction`: an open transaction is rolled
 * back for real, and a query runner that still believes in one is replaced by a fresh one. A commit
 * after which the connection is still inside a transaction is not acknowledged.
 *
 * Failures the caller should see as such become domain errors: out of space → STORAGE_FULL (and
 * `storageState()` says 'full' until a write commits again), an unreachable database → UNAVAILABLE.
 */
@Injectable()
export class Database implements OnModuleDestroy {
  private readonly logger = new Logger(Database.name);
  private readonly mutex = new Mutex();
  readonly kind: DatabaseKind;
  private storage: 'ok' | 'full' = 'ok';

  constructor(
    readonly dataSource: DataSource,
    @Inject(DomainEventBus) private readonly events: DomainEventBus,
  ) {
    this.kind = dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }

  /**
   * 'full' since a write failed for lack of space, until a transaction that changed something commits
   * again (a read, or a transaction that wrote nothing, proves nothing); for readiness and /health.
   */
  storageState(): 'ok' | 'full' {
    return this.storage;
  }

  /** Runs reads outside a transaction (serialised with writers on SQLite, see above). */
  async read<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      if (this.kind === 'sqlite') {
        return await this.mutex.runExclusive(() => {
          this.settleSqlite('before a read');
          return work(this.dataSource.manager);
        });
      }
      return await work(this.dataSource.manager);
    } catch (error) {
      throw databaseDomainError(recorded(error));
    }
  }

  /**
   * Runs `work` in a transaction. On PostgreSQL a transaction that loses a deadlock (40P01) is run
   * again from the start, up to three times: a few flows lock more than one account row (a claimed
   * email logs in every account of the person) and cannot always take them in one global order.
   */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    let queued: DomainEvent[] = [];
    // While storage is 'full', whether this transaction changed anything: only a committed change says there is room again.
    let wrote = false;
    const run = () => {
      queued = [];
      return this.dataSource.transaction(async (manager) => {
        const changesBefore = this.storage === 'full' ? await this.changeMark(manager) : null;
        const result = await work({ manager, kind: this.kind, publish: (event) => queued.push(event) });
        if (this.kind === 'sqlite' && !this.sqliteHandle().inTransaction) {
          // SQLite rolled the transaction back under `work` (a failure it caught and went on from): nothing to acknowledge.
          throw new Error(
            'SQLite ended the transaction before COMMIT (a statement failed and SQLite rolled back); nothing was saved',
          );
        }
        if (changesBefore !== null) wrote = await this.changedSince(manager, changesBefore);
        return result;
      });
    };
    let result: T;
    try {
      if (this.kind === 'sqlite') result = await this.mutex.runExclusive(() => this.sqliteTransaction(run));
      else {
        for (let attempt = 1; ; attempt++) {
          try {
            result = await run();
            break;
          } catch (error) {
            if (attempt >= DEADLOCK_ATTEMPTS || !isDeadlock(error)) throw error;
            this.logger.warn(
              `Transaction lost a deadlock; running it again (attempt ${attempt + 1} of ${DEADLOCK_ATTEMPTS})`,
            );
            await new Promise((resolve) => setTimeout(resolve, Math.random() * DEADLOCK_JITTER_MS));
          }
        }
      }
    } catch (error) {
      if (databaseFailure(error) === 'storage_full' && this.storage !== 'full') {
        this.storage = 'full';
        this.logger.error('The database is out of space: writes are refused with STORAGE_FULL until space is freed');
      }
      throw databaseDomainError(recorded(error));
    }
    if (this.storage === 'full' && wrote) {
      this.storage = 'ok';
      this.logger.log('The database has room again: a write committed');
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

  /** SQLite: the connection's count of changed rows; PostgreSQL: nothing needed (see `changedSince`). */
  private async changeMark(manager: EntityManager): Promise<number> {
    if (this.kind === 'postgres') return 0;
    const [row] = (await manager.query('SELECT total_changes() AS changes')) as { changes: number }[];
    return Number(row?.changes ?? 0);
  }

  /** Whether the running transaction changed anything: rows changed since the mark (SQLite), a transaction id assigned (PostgreSQL). */
  private async changedSince(manager: EntityManager, mark: number): Promise<boolean> {
    if (this.kind === 'postgres') {
      const [row] = (await manager.query('SELECT txid_current_if_assigned() AS id')) as { id: string | null }[];
      return row?.id !== null && row?.id !== undefined;
    }
    return (await this.changeMark(manager)) > mark;
  }

  /** One SQLite transaction on a connection known to be outside any, which is left outside any whatever happens. */
  private async sqliteTransaction<T>(run: () => Promise<T>): Promise<T> {
    this.settleSqlite('before a transaction');
    let result: T;
    try {
      result = await run();
    } catch (error) {
      this.settleSqlite('after a failed transaction', error);
      throw error;
    }
    if (this.settleSqlite('after COMMIT')) {
      // TypeORM reported a commit, but the connection was still inside a transaction: nothing was saved.
      throw new Error('COMMIT left the SQLite connection inside a transaction; it was rolled back');
    }
    return result;
  }

  /**
   * Puts the SQLite connection back outside any transaction: rolls back a transaction still open on
   * the handle, and replaces TypeORM's shared query runner if it still believes one is open (its
   * transaction depth would turn the next BEGIN into a SAVEPOINT). Returns whether anything was wrong.
   * Runs under the mutex, so no transaction of ours can be in progress.
   */
  private sqliteHandle(): SqliteDriver['databaseConnection'] {
    return (this.dataSource.driver as unknown as SqliteDriver).databaseConnection;
  }

  private settleSqlite(when: string, cause?: unknown): boolean {
    const driver = this.dataSource.driver as unknown as SqliteDriver;
    const handle = driver.databaseConnection;
    const openOnHandle = handle.inTransaction;
    const runnerBelieves = driver.queryRunner?.isTransactionActive === true;
    if (!openOnHandle && !runnerBelieves) return false;
    if (openOnHandle) {
      try {
        handle.exec('ROLLBACK');
      } catch (error) {
        this.logger.error(`ROLLBACK ${when} failed: ${String(error)}`);
      }
    }
    // A fresh query runner on the same handle: transaction depth 0, no transaction believed open.
    driver.queryRunner = undefined;
    const detail = cause === undefined ? '' : ` (${cause instanceof Error ? cause.message : String(cause)})`;
    this.logger.warn(
      `SQLite connection reset ${when}${detail}: ${openOnHandle ? 'rolled back an open transaction' : 'no transaction was open'}` +
        `${runnerBelieves ? '; TypeORM believed one was, its query runner was replaced' : ''}`,
    );
    if (handle.inTransaction) throw new Error(`The SQLite connection is stuck inside a transaction ${when}`);
    return true;
  }

  /** Loads the account and holds its row lock until the transaction ends (PostgreSQL; SQLite is already serial). */
  async lockAccount(tx: Tx, accountId: string): Promise<AccountEntity> {
    const account = await RowReader.of(this.dataSource, AccountEntity, ['id'], { lock: true }).one(tx.manager, [
      accountId,
    ]);
    if (!account) throw notFound('Account');
    return account;
  }

  /**
   * Serialises every proof of one mailbox (an invitation accepted, a verification or reset link, an
   * SSO sign-in that vouches for the email) until the transaction ends. Taken first, before any
   * account: a proof locks the person, its link and every account of the person in an order the
   * flows cannot share (the invitation's account is locked first; the others in id order), so two
   * at once deadlocked on PostgreSQL, and, retried together, deadlocked again. SQLite: the
   * transaction mutex already serialises them.
   */
  async lockMailbox(tx: Tx, email: string): Promise<void> {
    if (tx.kind !== 'postgres') return;
    await tx.manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`mailbox:${email.toLowerCase()}`]);
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
