import { Inject, Injectable } from '@nestjs/common';
import type { SsoProvider } from '@rolecall/contracts';
import type { EntityManager } from 'typeorm';
import type { AccountEntity } from './entities/account.entity.js';
import { ActivityService, type Actor } from './activity.service.js';
import { DomainError } from '../common/domain-error.js';
import { Database, type Tx } from './database.service.js';
import { MemberEntity, searchNameOf } from './entities/member.entity.js';
import { SessionsService } from './sessions.service.js';
import { IdentityEntity } from './entities/identity.entity.js';
import { EmailLinks } from './email-links.js';
import { PersonEntity } from './entities/person.entity.js';
import { sessionsRevoked } from '../events/domain-events.js';
import { publishPersonUpdated } from './committed-events.js';

/** How the mailbox was proven: a mailed link, an invitation token, or a provider that vouches for the email. */
type ProofVia = 'verification' | 'invitation' | 'password_reset' | SsoProvider;

export interface Proof {
  readonly via: ProofVia;
  readonly meta: Pick<Actor, 'ip' | 'userAgent'>;
  /**
   * Accounts this transaction already holds locked, by id. Their entities carry the activity head,
   * so entries logged here must go through the same objects; every other account of the person is
   * locked here.
   */
  readonly locked?: ReadonlyMap<string, AccountEntity>;
}

/**
 * "An unverified email is owned by nobody" (issue 13). Proving control of a mailbox — a verification
 * link, an invitation token, a password-reset token, an SSO sign-in whose provider vouches for the
 * email — either confirms the person who holds it (they proved it themselves: `verified`) or, while
 * the email is unverified, hands the person to the prover (`claim`): whoever signed up with somebody
 * else's address loses every session and credential, and the accounts they made stay with the
 * person, now the mailbox's owner. Both run inside the caller's transaction and log in every account
 * the person belongs to.
 */
@Injectable()
export class MailboxProofs {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(ActivityService) private readonly activity: ActivityService,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(EmailLinks) private readonly links: EmailLinks,
  ) {}

  /** The person proved their own address: it is verified (`person.email_verified` in each account). No-op when it already was. */
  async verified(tx: Tx, person: PersonEntity, proof: Proof): Promise<void> {
    if (person.emailVerified) return;
    await tx.manager.getRepository(PersonEntity).update({ id: person.id }, { emailVerified: true });
    await this.links.end(tx.manager, person.id, 'verify_email');
    person.emailVerified = true;
    await this.logInEveryAccount(tx, person, proof, { action: 'person.email_verified', changes: { via: proof.via } });
  }

  /**
   * Someone other than the holder proved the mailbox of an unverified person, who becomes theirs:
   * every session ends at once (live `me.revoked`, reason `email_claimed`), the password, TOTP,
   * recovery codes, pending links and linked identities go; the prover's password (or none, for a
   * provider sign-in) and name, if given, take their place. Logged as `person.email_claimed` in each
   * affected account (the person's, and the ones the caller holds locked).
   */
  async claim(
    tx: Tx,
    person: PersonEntity,
    proof: Proof & { passwordHash: string | null; name?: string | undefined },
  ): Promise<void> {
    const { manager } = tx;
    // Two proofs of one mailbox may race (an invitation and the verification link): the person's row
    // is locked, and the second finds the address verified — its prover must sign in instead.
    const query = manager.getRepository(PersonEntity).createQueryBuilder('p').where('p.id = :id', { id: person.id });
    if (tx.kind === 'postgres') query.setLock('pessimistic_write');
    const current = await query.getOne();
    if (!current || current.emailVerified) {
      throw new DomainError('CONFLICT', 'This address was confirmed a moment ago by whoever holds it: sign in instead');
    }
    const identities = await manager.getRepository(IdentityEntity).delete({ personId: person.id });
    const ended = await this.sessions.revoke(manager, { personId: person.id }, 'email_claimed');
    await this.links.end(manager, person.id);
    const removed = { passwordRemoved: person.passwordHash !== null, twoFactorRemoved: person.totpSecret !== null };
    const fields = {
      passwordHash: proof.passwordHash,
      totpSecret: null,
      totpPendingSecret: null,
      totpLastStep: null,
      recoveryCodes: null,
      emailVerified: true,
      passwordResetRequired: false,
      twoFactorEnrolmentRequired: false,
      ...(proof.name ? { name: proof.name } : {}),
    };
    await manager.getRepository(PersonEntity).update({ id: person.id }, fields);
    if (proof.name)
      await manager
        .getRepository(MemberEntity)
        .update(
          { personId: person.id },
          { name: proof.name, sortName: proof.name.toLowerCase(), searchName: searchNameOf(proof.name) },
        );
    Object.assign(person, fields);
    const changes = {
      via: proof.via,
      sessionsEnded: ended.length,
      ...removed,
      identitiesRemoved: identities.affected ?? 0,
    };
    for (const { account, seq } of await this.logInEveryAccount(tx, person, proof, {
      action: 'person.email_claimed',
      changes,
    })) {
      await publishPersonUpdated(tx, account, person.id, seq);
    }
    if (ended.length) tx.publish(sessionsRevoked(null, ended, 'email_claimed', null));
  }

  /**
   * One entry per account: the person's memberships and the accounts the caller holds. Accounts are
   * locked in id order (PostgreSQL), after the ones the caller already holds.
   */
  async logInEveryAccount(
    tx: Tx,
    person: PersonEntity,
    proof: Proof,
    entry: { action: string; changes: Record<string, unknown> },
  ): Promise<{ account: AccountEntity; seq: number }[]> {
    const memberships = await this.membershipsOf(tx.manager, person);
    const accountIds = [...new Set([...memberships.keys(), ...(proof.locked?.keys() ?? [])])].sort();
    const logged: { account: AccountEntity; seq: number }[] = [];
    for (const accountId of accountIds) {
      const account = proof.locked?.get(accountId) ?? (await this.db.lockAccount(tx, accountId));
      const actor: Actor = { memberId: memberships.get(accountId) ?? null, email: person.email, ...proof.meta };
      const { seq } = await this.activity.append(tx, account, actor, {
        action: entry.action,
        target: { type: 'person', id: person.id, label: person.email },
        changes: entry.changes,
      });
      logged.push({ account, seq });
    }
    return logged;
  }

  /** Account id → the person's member there (a pending invitation to their address counts). */
  private async membershipsOf(manager: EntityManager, person: PersonEntity): Promise<Map<string, string>> {
    const members = await manager
      .getRepository(MemberEntity)
      .createQueryBuilder('m')
      .select(['m.id', 'm.accountId'])
      .where('m.person_id = :personId', { personId: person.id })
      .orWhere('(m.email = :email AND m.person_id IS NULL)', { email: person.email })
      .getMany();
    return new Map(members.map((member) => [member.accountId, member.id]));
  }
}
