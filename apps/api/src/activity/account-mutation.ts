import { Inject, Injectable } from '@nestjs/common';
import type { AccountEntity } from '../accounts/account.entity.js';
import { Database, type Tx } from '../database/database.service.js';
import type { ActivityEntity } from './activity.entity.js';
import { ActivityService, type ActivityInput, type Actor } from './activity.service.js';

export interface MutationContext {
  readonly tx: Tx;
  /** The account, locked for the rest of the transaction. */
  readonly account: AccountEntity;
  readonly actor: Actor;
  /** Appends the activity entry of this change (same transaction). */
  log(input: ActivityInput): Promise<ActivityEntity>;
}

/**
 * The one path for a change to an account's data: a transaction holding the account lock, in
 * which the change and its activity entries are written together; domain events queued with
 * `tx.publish` go out after commit.
 */
@Injectable()
export class AccountMutations {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(ActivityService) private readonly activity: ActivityService,
  ) {}

  run<T>(accountId: string, actor: Actor, work: (context: MutationContext) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      const account = await this.db.lockAccount(tx, accountId);
      return work({ tx, account, actor, log: (input) => this.activity.append(tx, account, actor, input) });
    });
  }
}
