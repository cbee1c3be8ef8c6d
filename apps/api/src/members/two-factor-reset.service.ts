import { Inject, Injectable } from '@nestjs/common';
import { checkTwoFactorReset } from '@rolecall/domain';
import { AccountMutations } from '../database/account-mutation.js';
import { publishMemberChanged } from '../database/committed-member.js';
import type { Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { DomainError, notFound } from '../common/domain-error.js';
import { versionMismatch } from '../common/if-match.js';
import { MailOutbox } from '../infra/mail-outbox.js';
import { EmailLinks } from '../database/email-links.js';
import { PersonEntity } from '../database/entities/person.entity.js';
import { twoFactorResetMail } from '../infra/person-mail.js';
import { SessionsService } from '../database/sessions.service.js';
import { MembersRepository } from '../database/members.repository.js';
import { MembersService } from './members.service.js';
import { sessionsRevoked } from '../events/domain-events.js';

const REFUSALS = {
  SELF_ACTION_FORBIDDEN:
    'You cannot reset your own two-factor authentication here: turn it off under My account, with a code',
  OWNER_PROTECTED: "Only the account owner can change the owner's two-factor authentication",
  CONFLICT: 'This member has no two-factor authentication to reset',
} as const;

/**
 * `DELETE /users/:id/2fa`: an admin resets a member who lost their authenticator. The TOTP secret
 * and recovery codes go, the member must enrol again at their next sign-in, and their sessions in
 * this account end.
 *
 * 2FA belongs to the person, who may be a member of other accounts, and an admin of this one must not
 * be able to weaken their sign-in there: otherwise anyone who invites a person, and knows or phishes
 * their password, could reset the second factor that stands in the way. So the reset also stops the
 * password until a new one is chosen through a link mailed to the person (the mailbox proves it is
 * them), and only the sessions of this account end; sessions elsewhere proved 2FA when they began.
 */
@Injectable()
export class TwoFactorReset {
  constructor(
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(MembersService) private readonly members: MembersService,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(EmailLinks) private readonly links: EmailLinks,
    @Inject(MailOutbox) private readonly outbox: MailOutbox,
  ) {}

  async reset(auth: RequestAuth, actor: Actor, id: string, ifMatch: number): Promise<void> {
    const mailed = await this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      const member = await new MembersRepository(tx.manager, tx.kind).findInAccount(account.id, id);
      if (!member) throw notFound('Member');
      if (member.version !== ifMatch) throw versionMismatch(await this.members.detail(tx.manager, account, member));
      const person = member.personId
        ? await tx.manager.getRepository(PersonEntity).findOneBy({ id: member.personId })
        : null;
      const violation = checkTwoFactorReset(
        { ownerId: account.ownerMemberId, billingContactId: account.billingContactMemberId },
        auth.member,
        member,
        person?.totpSecret != null,
      );
      if (violation || !person) throw new DomainError(violation ?? 'CONFLICT', REFUSALS[violation ?? 'CONFLICT']);
      const hadPassword = person.passwordHash !== null;
      await tx.manager.getRepository(PersonEntity).update(
        { id: person.id },
        {
          totpSecret: null,
          totpPendingSecret: null,
          totpLastStep: null,
          recoveryCodes: null,
          twoFactorEnrolmentRequired: true,
          passwordResetRequired: hadPassword,
        },
      );
      const link = hadPassword ? await this.links.issue(tx.manager, person, 'password_reset') : null;
      // The mail goes into the outbox with the reset: sent after commit, retried until it goes out.
      const mailId = link
        ? await this.outbox.enqueue(
            tx.manager,
            'two_factor_reset',
            twoFactorResetMail(link, { adminName: auth.person.name, accountName: account.name }),
          )
        : null;
      const ended = await this.sessions.revoke(
        tx.manager,
        { personId: person.id, accountId: account.id },
        'two_factor_reset',
      );
      const entry = await log({
        action: 'person.2fa_reset',
        target: { type: 'member', id: member.id, label: member.email },
        changes: {
          twoFactorEnabled: { before: true, after: false },
          sessionsEnded: ended.length,
          passwordResetRequired: hadPassword,
        },
      });
      await publishMemberChanged(tx, account, member, entry.seq);
      if (ended.length) tx.publish(sessionsRevoked(account.id, ended, 'two_factor_reset', entry.seq));
      return mailId;
    });
    if (mailed) await this.outbox.deliverNow({ ids: [mailed] });
  }
}
