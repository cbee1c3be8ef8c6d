import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { IsNull, type EntityManager } from 'typeorm';
import { AccountEntity } from './entities/account.entity.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/domain-error.js';
import { newToken, sha256Hex } from '../common/tokens.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { Database, type Tx } from './database.service.js';
import { EntityColumns, inList, listParameter, parameter } from './entity-columns.js';
import { ReadBatcher } from './read-batcher.js';
import { MemberEntity } from './entities/member.entity.js';
import { RoleEntity } from './entities/role.entity.js';
import { PersonEntity } from './entities/person.entity.js';
import { enrolmentOnly, sessionMeetsEnforcement } from '../common/sso.rules.js';
import { SessionEntity } from './entities/session.entity.js';
import type { AuthContext } from './request-auth.js';

export interface NewSession {
  personId: string;
  accountId: string;
  authMethod: string;
  /** A second factor was proven (password + TOTP, or SSO with an MFA `amr`); default false. */
  mfa?: boolean;
  ip: string | null;
  userAgent: string | null;
}

/**
 * What the live handshake gets of a session (`authenticateLive`): the columns the checks and the
 * socket need, nothing else.
 */
export interface LiveSessionAuth {
  readonly session: Pick<SessionEntity, 'id' | 'expiresAt' | 'lastSeenAt'>;
  readonly person: Pick<PersonEntity, 'id' | 'name'>;
  readonly member: Pick<MemberEntity, 'id' | 'roleId' | 'status' | 'agentAccess' | 'permissionsVersion'>;
  readonly account: Pick<AccountEntity, 'id' | 'billingContactMemberId'>;
  readonly role: Pick<RoleEntity, 'id' | 'permissions'> | null;
}

/** The columns `judge` reads. */
type JudgedSession = Pick<
  SessionEntity,
  'revokedAt' | 'revokedReason' | 'expiresAt' | 'lastSeenAt' | 'authMethod' | 'mfa'
>;
type JudgedPerson = Pick<PersonEntity, 'totpSecret' | 'twoFactorEnrolmentRequired'>;
type JudgedMember = Pick<MemberEntity, 'id' | 'status'>;
type JudgedAccount = Pick<AccountEntity, 'ownerMemberId' | 'authEnforcement' | 'require2fa'>;

/** The live handshake's statement on PostgreSQL: prepared once per pool connection, by this name. */
const LIVE_AUTH_STATEMENT = 'rolecall_live_auth_many';
/** The live statement's column naming each row's token hash. */
const LIVE_TOKEN_HASH = 's_token_hash';
/**
 * Handshakes whose sessions one live statement reads at most, and such statements out at once (the
 * rest gather for the next): a reconnect storm's handshakes share statements, and hold at most this
 * many of the pool's connections (the REST requests' stay free).
 */
const LIVE_AUTH_BATCH = 200;
const LIVE_AUTH_BATCHES_AT_ONCE = 2;

/** Only write `last_seen_at` when it is this stale, so reads do not turn into writes. */
const TOUCH_AFTER_MS = 60_000;

/** Required 2FA: everything but enrolment is refused until the person turns 2FA on. */
export const twoFactorRequired = (): DomainError =>
  new DomainError('FORBIDDEN', 'This account requires two-factor authentication: set it up under My account first', {
    reason: 'two_factor_required',
  });

@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);
  /** The live handshakes' session rows, many a statement (`authenticateLive`). */
  private readonly liveRows: ReadBatcher<string, Record<string, unknown>>;
  /** Session, person, membership, its role and account of a token hash in one statement (every request runs it). */
  private readonly authSql: {
    sql: string;
    session: EntityColumns<SessionEntity>;
    person: EntityColumns<PersonEntity>;
    member: EntityColumns<MemberEntity>;
    role: EntityColumns<RoleEntity>;
    account: EntityColumns<AccountEntity>;
  };
  /**
   * The live handshake's statement (issue 18): the same joins and the same checks, but only the
   * ~25 columns they and the socket use, not the ~70 of five whole entities — a reconnect storm runs
   * it once per socket, and every column costs the driver a parser, a conversion and an allocation.
   */
  private readonly liveAuthSql: {
    sql: string;
    session: EntityColumns<Pick<SessionEntity, 'id' | keyof JudgedSession>>;
    person: EntityColumns<Pick<PersonEntity, 'id' | 'name' | keyof JudgedPerson>>;
    member: EntityColumns<Pick<MemberEntity, keyof LiveSessionAuth['member']>>;
    role: EntityColumns<Pick<RoleEntity, 'id' | 'permissions'>>;
    account: EntityColumns<Pick<AccountEntity, 'id' | 'billingContactMemberId' | keyof JudgedAccount>>;
  };

  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const source = db.dataSource;
    const session = EntityColumns.of(source, SessionEntity, 's');
    const person = EntityColumns.of(source, PersonEntity, 'p');
    const member = EntityColumns.of(source, MemberEntity, 'm');
    const role = EntityColumns.of(source, RoleEntity, 'r');
    const account = EntityColumns.of(source, AccountEntity, 'a');
    const from =
      'FROM sessions s ' +
      'LEFT JOIN persons p ON p.id = s.person_id ' +
      'LEFT JOIN members m ON m.account_id = s.account_id AND m.person_id = s.person_id ' +
      'LEFT JOIN roles r ON r.id = m.role_id ' +
      'LEFT JOIN accounts a ON a.id = s.account_id ';
    this.authSql = {
      sql: `SELECT ${session.select}, ${person.select}, ${member.select}, ${role.select}, ${account.select} ${from}WHERE s.token_hash = ${parameter(source, 1)}`,
      session,
      person,
      member,
      role,
      account,
    };
    const live = {
      session: EntityColumns.pick(source, SessionEntity, 's', [
        'id',
        'revokedAt',
        'revokedReason',
        'expiresAt',
        'lastSeenAt',
        'authMethod',
        'mfa',
      ]),
      person: EntityColumns.pick(source, PersonEntity, 'p', ['id', 'name', 'totpSecret', 'twoFactorEnrolmentRequired']),
      member: EntityColumns.pick(source, MemberEntity, 'm', [
        'id',
        'roleId',
        'status',
        'agentAccess',
        'permissionsVersion',
      ]),
      role: EntityColumns.pick(source, RoleEntity, 'r', ['id', 'permissions']),
      account: EntityColumns.pick(source, AccountEntity, 'a', [
        'id',
        'billingContactMemberId',
        'ownerMemberId',
        'authEnforcement',
        'require2fa',
      ]),
    };
    // Many token hashes at once (the batch's), each row named by its hash.
    this.liveAuthSql = {
      sql: `SELECT s.token_hash AS "${LIVE_TOKEN_HASH}", ${live.session.select}, ${live.person.select}, ${live.member.select}, ${live.role.select}, ${live.account.select} ${from}WHERE ${inList(source, 's.token_hash', 1)}`,
      ...live,
    };
    this.liveRows = new ReadBatcher((tokenHashes) => this.readLiveRows(tokenHashes), {
      maxBatch: LIVE_AUTH_BATCH,
      maxInFlight: LIVE_AUTH_BATCHES_AT_ONCE,
      failed: (error, callers) => {
        this.logger.error(
          `Live handshake session read failed (${callers} handshake(s) refused UNAVAILABLE): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
        return new DomainError('UNAVAILABLE', 'Your session could not be checked just now; try again shortly', {
          retryAfterSeconds: 1,
        });
      },
    });
  }

  async create(tx: Tx, input: NewSession): Promise<{ token: string; session: SessionEntity }> {
    const token = newToken();
    const now = this.clock.now();
    const session = tx.manager.getRepository(SessionEntity).create({
      id: randomUUID(),
      tokenHash: sha256Hex(token),
      personId: input.personId,
      accountId: input.accountId,
      authMethod: input.authMethod,
      mfa: input.mfa ?? false,
      ip: input.ip?.slice(0, 64) ?? null,
      userAgent: input.userAgent?.slice(0, 300) ?? null,
      createdAt: now.toISOString(),
      lastSeenAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.config.sessionAbsoluteMs).toISOString(),
      revokedAt: null,
      revokedReason: null,
    });
    await tx.manager.getRepository(SessionEntity).insert(session);
    return { token, session };
  }

  /**
   * Resolves a bearer or cookie token to its session, person, member and account, or throws
   * 401: `UNAUTHENTICATED` (unknown or expired) or `SESSION_REVOKED` (ended by sign-out, an admin
   * or a revocation; also when the membership is no longer active). 403 `SSO_REQUIRED` when the
   * account enforces a provider this session was not made with (the owner excepted). A session
   * limited to 2FA enrolment is refused (403 `FORBIDDEN`, `details.reason = "two_factor_required"`)
   * unless `allowEnrolmentOnly` — the REST guard then decides per route; the live layer never lets it in.
   *
   * A request marks the session (and the member) seen, at most once a minute. The live handshake
   * (`authenticateLive`) never does: a socket (re)connecting is not the person's activity — an
   * unattended tab on a flaky network must not keep a session from its idle expiry — and a reconnect
   * storm after a node loss would otherwise write two rows per socket (issue 18). The page's own
   * requests after a reconnect mark it as usual.
   */
  async authenticate(token: string, options: { allowEnrolmentOnly?: boolean } = {}): Promise<AuthContext> {
    const now = this.clock.now();
    const [row] = await this.db.read((manager) =>
      manager.query<Record<string, unknown>[]>(this.authSql.sql, [sha256Hex(token)]),
    );
    const session = row ? this.authSql.session.hydrate(row) : null;
    if (!row || !session) throw new DomainError('UNAUTHENTICATED', 'Sign in to continue');
    const { person, member, account, limited } = this.judge(
      now,
      session,
      this.authSql.person.hydrate(row),
      this.authSql.member.hydrate(row),
      this.authSql.account.hydrate(row),
      options.allowEnrolmentOnly === true,
    );
    if (now.getTime() - new Date(session.lastSeenAt).getTime() >= TOUCH_AFTER_MS) {
      await this.touch(session, member, now.toISOString());
    }
    return { token, session, person, member, account, role: this.authSql.role.hydrate(row), enrolmentOnly: limited };
  }

  /**
   * The live handshake's `authenticate` (issue 18), by the token's hash: the same statement's joins
   * and the same checks, every time against the database (never a cache that could still accept an
   * ended session), refusing what `authenticate` refuses and a session limited to 2FA enrolment too.
   * It never marks the session seen (see `authenticate` for why). Only the columns the checks and
   * the socket use are read, and on PostgreSQL as a named prepared statement, straight on the pool.
   * Handshakes that arrive together share the statement (`liveRows`: one for up to LIVE_AUTH_BATCH
   * token hashes): each gets its own row, judged on its own as if alone; a batch whose read fails
   * refuses its handshakes `UNAVAILABLE` (retried by clients), and nothing is kept between batches.
   */
  async authenticateLive(tokenHash: string): Promise<LiveSessionAuth> {
    const now = this.clock.now();
    const row = await this.liveRows.get(tokenHash);
    const session = row ? this.liveAuthSql.session.hydrate(row) : null;
    if (!row || !session) throw new DomainError('UNAUTHENTICATED', 'Sign in to continue');
    const { person, member, account } = this.judge(
      now,
      session,
      this.liveAuthSql.person.hydrate(row),
      this.liveAuthSql.member.hydrate(row),
      this.liveAuthSql.account.hydrate(row),
      false,
    );
    return { session, person, member, account, role: this.liveAuthSql.role.hydrate(row) };
  }

  /**
   * The live statement's rows of these token hashes, by hash (a hash is unique: one row at most).
   * One statement for a batch of handshakes (`liveRows`), read when the batch goes out.
   */
  private async readLiveRows(tokenHashes: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const { sql } = this.liveAuthSql;
    const values = [listParameter(this.db.dataSource, tokenHashes)];
    const rows = await this.db.read(async (manager) =>
      this.db.kind === 'postgres'
        ? (await this.pool().query<Record<string, unknown>>({ name: LIVE_AUTH_STATEMENT, text: sql, values })).rows
        : manager.query<Record<string, unknown>[]>(sql, values),
    );
    const byHash = new Map<string, Record<string, unknown>>();
    for (const row of rows) byHash.set(row[LIVE_TOKEN_HASH] as string, row);
    return byHash;
  }

  /** node-postgres's pool under TypeORM's PostgreSQL driver. */
  private pool(): Pool {
    return (this.db.dataSource.driver as unknown as { master: Pool }).master;
  }

  /**
   * The checks of a session read with its person, member and account (see `authenticate` for what
   * each refusal means), in this order; answers whether the session is limited to 2FA enrolment.
   */
  private judge<P extends JudgedPerson, M extends JudgedMember, A extends JudgedAccount>(
    now: Date,
    session: JudgedSession,
    person: P | null,
    member: M | null,
    account: A | null,
    allowEnrolmentOnly: boolean,
  ): { person: P; member: M; account: A; limited: boolean } {
    if (session.revokedAt)
      throw new DomainError('SESSION_REVOKED', 'This session has ended', { reason: session.revokedReason });
    if (!person || !account) throw new DomainError('UNAUTHENTICATED', 'Sign in to continue');
    if (!member || member.status !== 'active') {
      throw new DomainError('SESSION_REVOKED', 'Your access to this account has ended', { reason: 'member_revoked' });
    }
    const idleDeadline = new Date(session.lastSeenAt).getTime() + this.config.sessionIdleMs;
    if (now.toISOString() >= session.expiresAt || now.getTime() >= idleDeadline) {
      throw new DomainError('UNAUTHENTICATED', 'Your session has expired; sign in again', { reason: 'expired' });
    }
    const isOwner = account.ownerMemberId === member.id;
    if (!sessionMeetsEnforcement(account.authEnforcement, session, isOwner)) {
      throw new DomainError(
        'SSO_REQUIRED',
        `This account signs in with ${account.authEnforcement}; sign in again with it`,
        { provider: account.authEnforcement },
      );
    }
    const limited = enrolmentOnly(account.require2fa, session, {
      hasTotp: person.totpSecret !== null,
      enrolmentRequired: person.twoFactorEnrolmentRequired,
    });
    if (limited && !allowEnrolmentOnly) throw twoFactorRequired();
    return { person, member, account, limited };
  }

  /** A session that can still be used, with its member and account (for live re-checks); null otherwise. */
  async byId(
    sessionId: string,
  ): Promise<{ session: SessionEntity; member: MemberEntity; account: AccountEntity } | null> {
    const now = this.clock.now();
    return this.db.read(async (manager) => {
      const session = await manager.getRepository(SessionEntity).findOneBy({ id: sessionId });
      if (!session || session.revokedAt || now.toISOString() >= session.expiresAt) return null;
      if (now.getTime() >= new Date(session.lastSeenAt).getTime() + this.config.sessionIdleMs) return null;
      const [member, account] = await Promise.all([
        manager.getRepository(MemberEntity).findOneBy({ personId: session.personId, accountId: session.accountId }),
        manager.getRepository(AccountEntity).findOneBy({ id: session.accountId }),
      ]);
      if (!member || member.status !== 'active' || !account) return null;
      return { session, member, account };
    });
  }

  /** The person of a usable session (not ended, not expired), whatever account it is in; null otherwise. */
  async personOf(token: string): Promise<PersonEntity | null> {
    const now = this.clock.now();
    return this.db.read(async (manager) => {
      const session = await manager.getRepository(SessionEntity).findOneBy({ tokenHash: sha256Hex(token) });
      if (!session || session.revokedAt || now.toISOString() >= session.expiresAt) return null;
      if (now.getTime() >= new Date(session.lastSeenAt).getTime() + this.config.sessionIdleMs) return null;
      return manager.getRepository(PersonEntity).findOneBy({ id: session.personId });
    });
  }

  private async touch(session: SessionEntity, member: MemberEntity, at: string): Promise<void> {
    session.lastSeenAt = at;
    member.lastActiveAt = at;
    member.lastActiveSort = at;
    await this.db.transaction(async ({ manager }) => {
      await manager.getRepository(SessionEntity).update({ id: session.id }, { lastSeenAt: at });
      await manager.getRepository(MemberEntity).update({ id: member.id }, { lastActiveAt: at, lastActiveSort: at });
    });
  }

  /** Ends sessions (sign-out, ended by the person, revoked by an admin). Returns the ids ended. */
  async revoke(
    manager: EntityManager,
    where: {
      ids?: string[];
      personId?: string;
      accountId?: string;
      authMethodNot?: string;
      personIdNot?: string | null;
    },
    reason: string,
  ): Promise<string[]> {
    const query = manager
      .getRepository(SessionEntity)
      .createQueryBuilder('s')
      .select('s.id', 'id')
      .where('s.revoked_at IS NULL');
    if (where.ids) query.andWhere('s.id IN (:...ids)', { ids: where.ids.length ? where.ids : ['-'] });
    if (where.personId) query.andWhere('s.person_id = :personId', { personId: where.personId });
    if (where.accountId) query.andWhere('s.account_id = :accountId', { accountId: where.accountId });
    if (where.authMethodNot) query.andWhere('s.auth_method <> :authMethodNot', { authMethodNot: where.authMethodNot });
    if (where.personIdNot) query.andWhere('s.person_id <> :personIdNot', { personIdNot: where.personIdNot });
    const ids = (await query.getRawMany<{ id: string }>()).map((row) => row.id);
    if (ids.length === 0) return [];
    await manager
      .getRepository(SessionEntity)
      .createQueryBuilder()
      .update()
      .set({ revokedAt: this.clock.now().toISOString(), revokedReason: reason })
      .whereInIds(ids)
      .execute();
    return ids;
  }

  /** The person's sessions that can still be used, newest first. */
  async listActive(personId: string): Promise<SessionEntity[]> {
    const now = this.clock.now();
    const idleCutoff = new Date(now.getTime() - this.config.sessionIdleMs).toISOString();
    const sessions = await this.db.read((manager) =>
      manager
        .getRepository(SessionEntity)
        .find({ where: { personId, revokedAt: IsNull() }, order: { lastSeenAt: 'DESC' } }),
    );
    return sessions.filter((s) => s.expiresAt > now.toISOString() && s.lastSeenAt > idleCutoff);
  }
}
