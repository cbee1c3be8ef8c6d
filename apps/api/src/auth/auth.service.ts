import { Inject, Injectable } from '@nestjs/common';
import {
  ADMIN_ROLE_ID,
  type AuthEnforcement,
  type AuthResultDto,
  type SignInRequest,
  type SignupRequest,
} from '@rolecall/contracts';
import { randomUUID } from 'node:crypto';
import { In, type EntityManager } from 'typeorm';
import { AccountEntity } from '../database/entities/account.entity.js';
import { accountsOf, loadAccountDto } from '../database/accounts.dto.js';
import { ActivityService, type Actor } from '../database/activity.service.js';
import { Clock } from '../common/clock.js';
import { DomainError, forbidden } from '../common/domain-error.js';
import { Database, type Tx } from '../database/database.service.js';
import { MemberEntity, searchNameOf } from '../database/entities/member.entity.js';
import { loadMemberDtos } from '../database/members.dto.js';
import { PersonEntity } from '../database/entities/person.entity.js';
import { insertPerson } from '../database/persons.js';
import { SessionEntity } from '../database/entities/session.entity.js';
import { SessionsService } from '../database/sessions.service.js';
import { enrolmentOnly, passwordSignIn, switchAccount, type PasswordDecision } from '../common/sso.rules.js';
import type { IssuedLink } from '../database/email-links.js';
import { EmailVerification } from './email-verification.service.js';
import { Passwords } from '../common/passwords.js';
import { RateLimitService } from '../infra/rate-limit.service.js';
import { SecondFactorService } from '../database/second-factor.service.js';
import { sessionSignedIn, sessionsRevoked } from '../events/domain-events.js';

type Meta = Pick<Actor, 'ip' | 'userAgent'>;

const invalidCredentials = () => new DomainError('INVALID_CREDENTIALS', 'That email and password do not match');

const PROVIDER_NAMES: Record<Exclude<AuthEnforcement, 'any'>, string> = {
  google: 'Google',
  microsoft: 'Microsoft',
  okta: 'Okta',
};

/**
 * 403 `SSO_REQUIRED`: `details` name the provider and where to start it; `reason` is
 * `two_factor_required` for an owner whose break-glass password sign-in lacks 2FA.
 */
function ssoRequired(account: AccountEntity, reason: 'sso_required' | 'owner_needs_2fa'): DomainError {
  const provider = account.authEnforcement as Exclude<AuthEnforcement, 'any'>;
  const details = {
    provider,
    accountId: account.id,
    startUrl: `/api/v1/auth/sso/${provider}/start?account=${account.id}`,
  };
  if (reason === 'owner_needs_2fa') {
    return new DomainError(
      'SSO_REQUIRED',
      `This account signs in with ${PROVIDER_NAMES[provider]}. As its owner you may still use your password, but only with two-factor authentication, which is off for you: sign in with ${PROVIDER_NAMES[provider]}, then turn 2FA on`,
      { ...details, reason: 'two_factor_required' },
    );
  }
  return new DomainError('SSO_REQUIRED', `This account signs in with ${PROVIDER_NAMES[provider]}`, details);
}

@Injectable()
export class AuthService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(ActivityService) private readonly activity: ActivityService,
    @Inject(SecondFactorService) private readonly secondFactor: SecondFactorService,
    @Inject(RateLimitService) private readonly limits: RateLimitService,
    @Inject(EmailVerification) private readonly verification: EmailVerification,
    @Inject(Passwords) private readonly passwords: Passwords,
  ) {}

  /**
   * Creates an account with the person as owner, billing contact and Admin (no agent access).
   * An email that already has a person must prove it with that person's password (and second
   * factor), and gets the new account added to its memberships.
   */
  async signup(input: SignupRequest & { email: string }, meta: Meta): Promise<AuthResultDto> {
    const ip = meta.ip ?? 'unknown';
    await this.limits.consume('signInIp', ip);
    const existing = await this.db.read((m) => m.getRepository(PersonEntity).findOneBy({ email: input.email }));
    if (existing) await this.checkPassword(existing, input.email, input.password, ip);
    const passwordHash = existing ? null : await this.passwords.hash(input.password);
    let verification: IssuedLink | null = null;
    const result = await this.db.transaction(async (tx) => {
      if (existing?.totpSecret) await this.requireSecondFactor(tx, existing, input.totp);
      const now = this.clock.now().toISOString();
      // A new person's email is unverified until the mailed link is used (or the mailbox is proven otherwise).
      const person =
        existing ??
        (await insertPerson(tx.manager, {
          email: input.email,
          name: input.name,
          passwordHash,
          emailVerified: false,
          now,
        }));
      if (!existing) verification = await this.verification.issue(tx.manager, person);
      const memberId = randomUUID();
      const account = tx.manager.getRepository(AccountEntity).create({
        id: randomUUID(),
        name: input.accountName,
        plan: input.plan ?? 'free',
        ownerMemberId: memberId,
        billingContactMemberId: memberId,
        authEnforcement: 'any',
        require2fa: false,
        teamsEnabled: false,
        oktaIssuer: null,
        oktaClientId: null,
        oktaSecretEnc: null,
        validatedPhone: null,
        validatedAt: null,
        rolesVersion: 1,
        version: 1,
        activitySeq: 0,
        activityHash: '',
        createdAt: now,
      });
      await tx.manager.getRepository(AccountEntity).insert(account);
      const member = tx.manager.getRepository(MemberEntity).create({
        id: memberId,
        accountId: account.id,
        personId: person.id,
        email: person.email,
        name: person.name,
        status: 'active',
        roleId: ADMIN_ROLE_ID,
        agentAccess: false,
        invitedByMemberId: null,
        invitedAt: null,
        joinedAt: now,
        lastActiveAt: now,
        sortName: person.name.toLowerCase(),
        searchName: searchNameOf(person.name),
        lastActiveSort: now,
        permissionsVersion: 1,
        version: 1,
        createdAt: now,
      });
      await tx.manager.getRepository(MemberEntity).insert(member);
      const entry = await this.activity.append(
        tx,
        account,
        { memberId, email: person.email, ...meta },
        {
          action: 'account.created',
          target: { type: 'account', id: account.id, label: account.name },
          changes: { name: { after: account.name }, plan: { after: account.plan } },
        },
      );
      const { token } = await this.sessions.create(tx, {
        personId: person.id,
        accountId: account.id,
        authMethod: 'password',
        mfa: person.totpSecret !== null,
        ...meta,
      });
      tx.publish({ type: 'account.created', accountId: account.id, seq: entry.seq });
      return this.authResult(tx.manager, token, person, member, account);
    });
    if (verification) this.verification.send(verification);
    return result;
  }

  /**
   * Password sign-in. Unknown email and wrong password get the same answer (and take the same
   * time). With 2FA on, a missing code answers `TOTP_REQUIRED` and a wrong one `TOTP_INVALID`.
   */
  async signIn(input: SignInRequest & { email: string }, meta: Meta): Promise<AuthResultDto> {
    const ip = meta.ip ?? 'unknown';
    await this.limits.consume('signInIp', ip);
    const found = await this.db.read((m) => m.getRepository(PersonEntity).findOneBy({ email: input.email }));
    const person = await this.checkPassword(found, input.email, input.password, ip);
    const result = await this.db.transaction(async (tx) => {
      // SSO enforcement is judged before the second factor, so a refused member spends no code.
      const choice = await this.passwordMembership(tx.manager, person, input.accountId);
      if (choice) this.assertPassword(choice.account, choice.member, person);
      if (person.totpSecret) await this.requireSecondFactor(tx, person, input.totp);
      const member = choice?.member ?? (await this.chooseMembership(tx.manager, person.id, input.accountId));
      const account = await this.db.lockAccount(tx, member.accountId);
      // Re-read under the account lock: a revocation that committed first wins.
      const current = await tx.manager.getRepository(MemberEntity).findOneBy({ id: member.id });
      if (!current || current.status !== 'active') throw forbidden('You are not an active member of that account');
      const { breakGlass } = this.assertPassword(account, member, person);
      const mfa = person.totpSecret !== null;
      const { token, session } = await this.sessions.create(tx, {
        personId: person.id,
        accountId: account.id,
        authMethod: 'password',
        mfa,
        ...meta,
      });
      const entry = await this.activity.append(
        tx,
        account,
        { memberId: member.id, email: person.email, ...meta },
        {
          action: 'session.signed_in',
          target: { type: 'session', id: session.id, label: person.email },
          changes: breakGlass ? { method: 'password', breakGlass: true } : { method: 'password' },
        },
      );
      tx.publish(sessionSignedIn(account.id, person.id, session.id, entry.seq));
      return this.authResult(tx.manager, token, person, member, account, session);
    });
    return result;
  }

  /** Ends the current session. */
  async signOut(session: SessionEntity, actor: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const account = await this.db.lockAccount(tx, session.accountId);
      const ended = await this.sessions.revoke(tx.manager, { ids: [session.id] }, 'signed_out');
      if (ended.length === 0) return;
      const entry = await this.activity.append(tx, account, actor, {
        action: 'session.signed_out',
        target: { type: 'session', id: session.id, label: actor.email },
        changes: null,
      });
      tx.publish(sessionsRevoked(account.id, ended, 'signed_out', entry.seq));
    });
  }

  /**
   * Moves the session to another account of the person; 403 unless an active member there, and
   * unless the session satisfies that account's SSO enforcement (an Okta session never moves).
   */
  async switchAccount(
    token: string,
    session: SessionEntity,
    person: PersonEntity,
    accountId: string,
  ): Promise<AuthResultDto> {
    return this.db.transaction(async (tx) => {
      // The account lock first, so a revocation racing the switch is seen (its commit comes first or waits).
      const account = await this.db.lockAccount(tx, accountId).catch(() => {
        throw forbidden('You are not an active member of that account');
      });
      const member = await this.chooseMembership(tx.manager, person.id, accountId);
      const decision = switchAccount(account.authEnforcement, session, {
        accountId,
        isOwner: account.ownerMemberId === member.id,
      });
      if (!decision.allowed) {
        if (decision.reason === 'account_scoped') {
          throw forbidden(
            "This session was made by this account's Okta and stays in it: sign in to the other account instead",
          );
        }
        throw ssoRequired(account, decision.reason);
      }
      await tx.manager.getRepository(SessionEntity).update({ id: session.id }, { accountId });
      return this.authResult(tx.manager, token, person, member, account, session);
    });
  }

  async authResult(
    manager: EntityManager,
    token: string,
    person: PersonEntity,
    member: MemberEntity,
    account: AccountEntity,
    session: Pick<SessionEntity, 'mfa'> = { mfa: false },
  ): Promise<AuthResultDto> {
    const [memberDto] = await loadMemberDtos(manager, account, [member]);
    return {
      token,
      member: memberDto!,
      account: await loadAccountDto(manager, account),
      accounts: await accountsOf(manager, person.id),
      ...(enrolmentOnly(account.require2fa, session, {
        hasTotp: person.totpSecret !== null,
        enrolmentRequired: person.twoFactorEnrolmentRequired,
      })
        ? { twoFactorEnrolmentRequired: true as const }
        : {}),
    };
  }

  /**
   * The membership a password sign-in goes to, with its account: the one asked for, else the first
   * of the person's active memberships (most recently used first) where a password is accepted,
   * else the first. Null when there is none (`chooseMembership` then answers 403).
   */
  private async passwordMembership(
    manager: EntityManager,
    person: PersonEntity,
    accountId: string | undefined,
  ): Promise<{ member: MemberEntity; account: AccountEntity } | null> {
    const members = manager.getRepository(MemberEntity);
    if (accountId) {
      const member = await members.findOneBy({ personId: person.id, accountId, status: 'active' });
      const account = member ? await manager.getRepository(AccountEntity).findOneBy({ id: accountId }) : null;
      return member && account ? { member, account } : null;
    }
    const active = await members.find({ where: { personId: person.id, status: 'active' }, order: { joinedAt: 'ASC' } });
    if (active.length === 0) return null;
    const lastSession = await manager
      .getRepository(SessionEntity)
      .findOne({ where: { personId: person.id }, order: { createdAt: 'DESC' } });
    active.sort(
      (a, b) => Number(b.accountId === lastSession?.accountId) - Number(a.accountId === lastSession?.accountId),
    );
    const accounts = await manager.getRepository(AccountEntity).findBy({ id: In(active.map((m) => m.accountId)) });
    const byId = new Map(accounts.map((a) => [a.id, a]));
    const choices = active.flatMap((member) =>
      byId.has(member.accountId) ? [{ member, account: byId.get(member.accountId)! }] : [],
    );
    return (
      choices.find(({ member, account }) => this.passwordDecision(account, member, person).allowed) ??
      choices[0] ??
      null
    );
  }

  private passwordDecision(account: AccountEntity, member: MemberEntity, person: PersonEntity): PasswordDecision {
    return passwordSignIn(account.authEnforcement, {
      isOwner: account.ownerMemberId === member.id,
      hasTotp: person.totpSecret !== null,
    });
  }

  /** 403 `SSO_REQUIRED` when the account enforces a provider, unless this is the owner's break-glass (password + 2FA). */
  private assertPassword(account: AccountEntity, member: MemberEntity, person: PersonEntity): { breakGlass: boolean } {
    const decision = this.passwordDecision(account, member, person);
    if (!decision.allowed) throw ssoRequired(account, decision.reason);
    return { breakGlass: decision.breakGlass };
  }

  /** The membership to sign in to: the one asked for, else the most recently used, else the oldest. */
  private async chooseMembership(
    manager: EntityManager,
    personId: string,
    accountId: string | undefined,
  ): Promise<MemberEntity> {
    const repo = manager.getRepository(MemberEntity);
    if (accountId) {
      const member = await repo.findOneBy({ personId, accountId });
      if (!member || member.status !== 'active') throw forbidden('You are not an active member of that account');
      return member;
    }
    const lastSession = await manager
      .getRepository(SessionEntity)
      .findOne({ where: { personId }, order: { createdAt: 'DESC' } });
    const active = await repo.find({ where: { personId, status: 'active' }, order: { joinedAt: 'ASC' } });
    const chosen = active.find((m) => m.accountId === lastSession?.accountId) ?? active[0];
    if (!chosen) throw forbidden('You are not an active member of any account');
    return chosen;
  }

  /**
   * The password check of sign-in and sign-up: refused from an IP that failed too often for this
   * email, slowed down when the email failed often from anywhere (never refused: nobody can lock the
   * owner out), the same answer for an unknown email and a wrong password. After an admin reset the
   * person's 2FA, the right password is refused until a new one is chosen through the mailed link.
   */
  private async checkPassword(
    person: PersonEntity | null,
    email: string,
    password: string,
    ip: string,
  ): Promise<PersonEntity> {
    await this.limits.passwordAttempt(email, ip);
    if (!(await this.passwords.verify(password, person?.passwordHash ?? null)) || !person) {
      await this.limits.passwordFailed(email, ip);
      throw invalidCredentials();
    }
    await this.limits.passwordSucceeded(email, ip);
    if (person.passwordResetRequired) {
      throw forbidden(
        'An admin reset your two-factor authentication: choose a new password through the link we mailed you (or ask for a new one with "Forgot password?")',
        {
          reason: 'password_reset_required',
        },
      );
    }
    return person;
  }

  private async requireSecondFactor(tx: Tx, person: PersonEntity, code: string | undefined): Promise<void> {
    if (!code) throw new DomainError('TOTP_REQUIRED', 'Enter the code from your authenticator app');
    await this.limits.check('totp', person.id);
    if (!(await this.secondFactor.verifyAndConsume(tx.manager, person.id, code))) {
      await this.limits.consume('totp', person.id);
      throw new DomainError('TOTP_INVALID', 'That code is not valid');
    }
  }
}
