import { Inject, Injectable } from '@nestjs/common';
import type { AccountEntity } from './entities/account.entity.js';
import type { RequestAuth } from './request-auth.js';
import { DomainError, forbidden } from '../common/domain-error.js';
import { Database, type Tx } from './database.service.js';
import { MemberEntity } from './entities/member.entity.js';
import { EntityColumns, parameter } from './entity-columns.js';
import { PermissionsService } from './permissions.service.js';
import { RoleEntity } from './entities/role.entity.js';
import { ServiceAccountPermissions } from './service-account-permissions.js';
import type { ActivityEntity } from './entities/activity.entity.js';
import { ActivityService, type ActivityInput, type Actor } from './activity.service.js';

export interface MutationContext {
  readonly tx: Tx;
  /** The account, locked for the rest of the transaction. */
  readonly account: AccountEntity;
  readonly actor: Actor;
  /**
   * The acting member's row as read under the account lock (current for the whole transaction), or
   * null: a flow without a session (accepting an invitation) or an API key's service account. A
   * change may name the actor from it (`ActivityInput.names`) or reuse it instead of reading it again.
   */
  readonly actorMember: MemberEntity | null;
  /**
   * The member `run`'s `options.member` named, read under the account lock in the same statement as
   * the actor's re-check (`row` null: no such member in this account); undefined when none was named
   * or there was no member's re-check to read it with (the change then reads it itself).
   */
  readonly member?: { readonly id: string; readonly row: MemberEntity | null };
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
  /** The actor's row and, in this account, the member a change is about: one statement for both. */
  private readonly membersSql: { readonly columns: EntityColumns<MemberEntity>; readonly sql: string };

  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(ActivityService) private readonly activity: ActivityService,
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
    @Inject(ServiceAccountPermissions) private readonly serviceAccounts: ServiceAccountPermissions,
  ) {
    const source = db.dataSource;
    const columns = EntityColumns.of(source, MemberEntity, 'm');
    const [actor, member, account] = [1, 2, 3].map((n) => parameter(source, n));
    this.membersSql = {
      columns,
      sql: `SELECT ${columns.select} FROM members m WHERE m.id = ${actor} OR (m.id = ${member} AND m.account_id = ${account})`,
    };
  }

  /**
   * `scope` is the signed-in request (its actor is re-checked under the lock) or, for flows
   * without a session (accepting an invitation), the account id. `mailbox`: a flow that may prove
   * that email's mailbox (`MailboxProofs`) takes its lock before the account's. `member`: the member
   * the change is about, read with the actor's re-check (`MutationContext.member`): every statement
   * is a round trip, and a role change made 13 (issue 18).
   */
  run<T>(
    scope: RequestAuth | string,
    actor: Actor,
    work: (context: MutationContext) => Promise<T>,
    options: { mailbox?: string; member?: string } = {},
  ): Promise<T> {
    const accountId = typeof scope === 'string' ? scope : scope.account.id;
    return this.db.transaction(async (tx) => {
      if (options.mailbox) await this.db.lockMailbox(tx, options.mailbox);
      const account = await this.db.lockAccount(tx, accountId);
      let actorMember: MemberEntity | null = null;
      let member: MutationContext['member'];
      if (typeof scope !== 'string') {
        // An API key (issue 16 §3): its service account's recheck (key still usable, role still allows).
        if (scope.serviceAccount) await this.serviceAccounts.recheck(tx, account, scope);
        else {
          const read = await this.readMembers(tx, account.id, scope.member.id, options.member);
          actorMember = await this.recheckActor(tx, account, scope, read.actor);
          member = read.member;
        }
      }
      return work({
        tx,
        account,
        actor,
        actorMember,
        ...(member && { member }),
        log: (input) => this.activity.append(tx, account, actor, input),
      });
    });
  }

  /**
   * The guard judged the request before the account lock; a demotion or revocation may have
   * committed since. Under the lock the actor's row is current: a member no longer active is
   * refused, and a changed permission set is checked against the route again.
   */
  private async recheckActor(
    tx: Tx,
    account: AccountEntity,
    auth: RequestAuth,
    member: MemberEntity | null,
  ): Promise<MemberEntity> {
    if (!member || member.status !== 'active') {
      throw new DomainError('SESSION_REVOKED', 'Your access to this account has ended', { reason: 'member_revoked' });
    }
    if (member.permissionsVersion !== auth.permissions.version && auth.required) {
      const role = await tx.manager.getRepository(RoleEntity).findOneByOrFail({ id: member.roleId });
      const now = this.permissions.compute(member, account, role);
      if (!auth.required.some((key) => now.set.has(key))) throw forbidden();
    }
    Object.assign(auth.member, member);
    return member;
  }

  /**
   * The actor's row and, when named, the member `memberId` of the locked account, in one statement.
   * Each is its own object, also when the actor changes themselves: the change writes to its member,
   * and the actor's row stays as the re-check read it.
   */
  private async readMembers(
    tx: Tx,
    accountId: string,
    actorId: string,
    memberId: string | undefined,
  ): Promise<{ actor: MemberEntity | null; member: MutationContext['member'] }> {
    const { columns, sql } = this.membersSql;
    const rows = await tx.manager.query<Record<string, unknown>[]>(sql, [actorId, memberId ?? null, accountId]);
    const find = (id: string): MemberEntity | null => {
      for (const raw of rows) {
        const row = columns.hydrate(raw);
        if (row?.id === id && row.accountId === accountId) return row;
      }
      return null;
    };
    return { actor: find(actorId), member: memberId === undefined ? undefined : { id: memberId, row: find(memberId) } };
  }
}
