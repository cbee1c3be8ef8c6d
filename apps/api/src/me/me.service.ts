import { In, type EntityManager } from 'typeorm';
import { Inject, Injectable } from '@nestjs/common';
import type { MeDto, PersonDto, RecoveryCodesDto, SessionDto, TotpSetupDto } from '@rolecall/contracts';
import { AccountEntity } from '../database/entities/account.entity.js';
import { accountsOf, loadAccountDto } from '../database/accounts.dto.js';
import { ActivityService, type Actor } from '../database/activity.service.js';
import { RateLimitService } from '../infra/rate-limit.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { SecondFactorService } from '../database/second-factor.service.js';
import { DomainError, notFound } from '../common/domain-error.js';
import { Database } from '../database/database.service.js';
import { MemberEntity, searchNameOf } from '../database/entities/member.entity.js';
import { loadMemberDtos } from '../database/members.dto.js';
import { PersonEntity } from '../database/entities/person.entity.js';
import { SessionEntity } from '../database/entities/session.entity.js';
import { SessionsService } from '../database/sessions.service.js';
import { sessionsRevoked } from '../events/domain-events.js';
import { publishPersonUpdated } from '../database/committed-events.js';

function toPersonDto(person: PersonEntity): PersonDto {
  return {
    id: person.id,
    email: person.email,
    name: person.name,
    avatarUrl: person.avatarUrl,
    twoFactorEnabled: person.totpSecret !== null,
    emailVerified: person.emailVerified,
    createdAt: person.createdAt,
  };
}

/** The signed-in person's own things: profile, sessions, second factor. */
@Injectable()
export class MeService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(SecondFactorService) private readonly secondFactor: SecondFactorService,
    @Inject(ActivityService) private readonly activity: ActivityService,
    @Inject(RateLimitService) private readonly limits: RateLimitService,
  ) {}

  me(auth: RequestAuth): Promise<MeDto> {
    return this.db.read(async (manager) => {
      const [member] = await loadMemberDtos(manager, auth.account, [auth.member]);
      return {
        person: toPersonDto(auth.person),
        member: member!,
        account: await loadAccountDto(manager, auth.account),
        permissions: { version: auth.permissions.version, keys: [...auth.permissions.keys] },
        accounts: await accountsOf(manager, auth.person.id),
        twoFactorEnrolmentRequired: auth.enrolmentOnly,
      };
    });
  }

  /**
   * Renames the person; the name shown in every account's member list follows. Each account the
   * person is a member of gets its own `person.renamed` entry (its member's name changed), written with
   * the change and pushed live as committed, so every open dashboard shows the new name at once.
   * Accounts are locked in id order (as a claimed email's entries are), before any row is written.
   * The member's `version` stays: the name is the person's, not something an admin edits, so an
   * admin's edit under way is not refused for it. The same name again changes nothing, logs nothing.
   */
  async updateProfile(auth: RequestAuth, actor: Actor, name: string): Promise<MeDto> {
    await this.db.transaction(async (tx) => {
      const { manager } = tx;
      const members = await manager.getRepository(MemberEntity).find({
        where: { personId: auth.person.id },
        select: { id: true, accountId: true },
        order: { accountId: 'ASC' },
      });
      const accounts = [];
      for (const member of members) accounts.push({ member, account: await this.db.lockAccount(tx, member.accountId) });
      const person = await manager.getRepository(PersonEntity).findOneByOrFail({ id: auth.person.id });
      if (person.name === name) return;
      await manager.getRepository(PersonEntity).update({ id: person.id }, { name });
      await manager
        .getRepository(MemberEntity)
        .update({ personId: person.id }, { name, sortName: name.toLowerCase(), searchName: searchNameOf(name) });
      for (const { member, account } of accounts) {
        const { seq } = await this.activity.append(
          tx,
          account,
          { ...actor, memberId: member.id },
          {
            action: 'person.renamed',
            target: { type: 'person', id: person.id, label: person.email },
            changes: { name: { before: person.name, after: name } },
          },
        );
        await publishPersonUpdated(tx, account, person.id, seq);
      }
    });
    auth.person.name = name;
    return this.me(auth);
  }

  async listSessions(auth: RequestAuth): Promise<SessionDto[]> {
    const sessions = await this.sessions.listActive(auth.person.id);
    return sessions.map((s) => ({
      id: s.id,
      current: s.id === auth.session.id,
      accountId: s.accountId,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      expiresAt: s.expiresAt,
      ip: s.ip,
      userAgent: s.userAgent,
      authMethod: s.authMethod,
    }));
  }

  async endSession(auth: RequestAuth, actor: Actor, sessionId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const session = await tx.manager
        .getRepository(SessionEntity)
        .findOneBy({ id: sessionId, personId: auth.person.id });
      if (!session || session.revokedAt) throw notFound('Session');
      const account = await this.db.lockAccount(tx, session.accountId);
      const ended = await this.sessions.revoke(tx.manager, { ids: [session.id] }, 'ended_by_person');
      const entry = await this.activity.append(
        tx,
        account,
        { ...actor, memberId: await this.memberIdIn(tx.manager, auth.person.id, account.id) },
        {
          action: 'session.signed_out',
          target: { type: 'session', id: session.id, label: auth.person.email },
          changes: { endedBy: 'self' },
        },
      );
      tx.publish(sessionsRevoked(account.id, ended, 'session_ended', entry.seq));
    });
  }

  /** Issues a new secret; it becomes the second factor once `confirm` gets a code from it. */
  async setupTotp(auth: RequestAuth): Promise<TotpSetupDto> {
    if (auth.person.totpSecret)
      throw new DomainError('CONFLICT', 'Two-factor authentication is already on; turn it off first');
    const enrolment = await this.secondFactor.newEnrolment(auth.person.email);
    await this.db.transaction(({ manager }) =>
      manager.getRepository(PersonEntity).update({ id: auth.person.id }, { totpPendingSecret: enrolment.secret }),
    );
    return enrolment;
  }

  async confirmTotp(auth: RequestAuth, actor: Actor, code: string): Promise<RecoveryCodesDto> {
    await this.limits.check('totp', auth.person.id);
    return this.db.transaction(async (tx) => {
      const person = await tx.manager.getRepository(PersonEntity).findOneByOrFail({ id: auth.person.id });
      if (person.totpSecret) throw new DomainError('CONFLICT', 'Two-factor authentication is already on');
      if (!person.totpPendingSecret) throw new DomainError('CONFLICT', 'Start the set-up first');
      const step = await this.secondFactor.checkTotp(person.totpPendingSecret, code, null);
      if (step === null) {
        await this.limits.consume('totp', auth.person.id);
        throw new DomainError('TOTP_INVALID', 'That code is not valid; check the time on your phone and try again');
      }
      const { codes, hashes } = this.secondFactor.newRecoveryCodes();
      await tx.manager.getRepository(PersonEntity).update(
        { id: person.id },
        {
          totpSecret: person.totpPendingSecret,
          totpPendingSecret: null,
          totpLastStep: step,
          recoveryCodes: hashes,
          twoFactorEnrolmentRequired: false,
        },
      );
      const account = await this.db.lockAccount(tx, auth.account.id);
      const entry = await this.activity.append(tx, account, actor, {
        action: 'person.2fa_enabled',
        target: { type: 'person', id: person.id, label: person.email },
        changes: { twoFactorEnabled: { before: false, after: true } },
      });
      await publishPersonUpdated(tx, account, person.id, entry.seq);
      return { recoveryCodes: codes };
    });
  }

  /**
   * Turns TOTP off with a current or recovery code. Refused (403 `FORBIDDEN`, `details.reason =
   * "account_requires_2fa"`, before the code is looked at) while any account the person is an
   * active member of requires 2FA: their sessions there would drop to enrolment-only at once.
   */
  async disableTotp(auth: RequestAuth, actor: Actor, code: string): Promise<void> {
    if (!auth.person.totpSecret) throw new DomainError('CONFLICT', 'Two-factor authentication is not on');
    await this.assertNoAccountRequires2fa(auth.person.id);
    await this.limits.check('totp', auth.person.id);
    await this.db.transaction(async (tx) => {
      // Under the current account's lock, so a `require2fa` switched on there meanwhile is seen.
      await this.db.lockAccount(tx, auth.account.id);
      await this.assertNoAccountRequires2fa(auth.person.id, tx.manager);
      if (!(await this.secondFactor.verifyAndConsume(tx.manager, auth.person.id, code))) {
        await this.limits.consume('totp', auth.person.id);
        throw new DomainError('TOTP_INVALID', 'That code is not valid');
      }
      await tx.manager
        .getRepository(PersonEntity)
        .update(
          { id: auth.person.id },
          { totpSecret: null, totpPendingSecret: null, totpLastStep: null, recoveryCodes: null },
        );
      const account = await this.db.lockAccount(tx, auth.account.id);
      const entry = await this.activity.append(tx, account, actor, {
        action: 'person.2fa_disabled',
        target: { type: 'person', id: auth.person.id, label: auth.person.email },
        changes: { twoFactorEnabled: { before: true, after: false } },
      });
      await publishPersonUpdated(tx, account, auth.person.id, entry.seq);
    });
  }

  private async assertNoAccountRequires2fa(personId: string, manager?: EntityManager): Promise<void> {
    const find = async (m: EntityManager) => {
      const memberships = await m
        .getRepository(MemberEntity)
        .find({ where: { personId, status: 'active' }, select: { accountId: true } });
      if (memberships.length === 0) return [];
      const accounts = await m.getRepository(AccountEntity).find({
        where: { id: In(memberships.map((member) => member.accountId)) },
        select: { id: true, name: true, require2fa: true },
        order: { name: 'ASC' },
      });
      return accounts.filter((account) => account.require2fa);
    };
    const requiring = manager ? await find(manager) : await this.db.read(find);
    if (requiring.length === 0) return;
    throw new DomainError(
      'FORBIDDEN',
      `${requiring.map((a) => a.name).join(', ')} ${requiring.length === 1 ? 'requires' : 'require'} two-factor authentication, so it cannot be turned off`,
      { reason: 'account_requires_2fa', accounts: requiring.map((a) => ({ id: a.id, name: a.name })) },
    );
  }

  private async memberIdIn(manager: EntityManager, personId: string, accountId: string): Promise<string | null> {
    return (await manager.getRepository(MemberEntity).findOneBy({ personId, accountId }))?.id ?? null;
  }
}
