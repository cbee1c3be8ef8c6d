import { Inject, Injectable } from '@nestjs/common';
import type { PasswordResetInfoDto } from '@rolecall/contracts';
import type { Actor } from '../database/activity.service.js';
import { DomainError } from '../common/domain-error.js';
import { Database } from '../database/database.service.js';
import { MailOutbox } from '../infra/mail-outbox.js';
import { MailService } from '../infra/mail.service.js';
import { EmailLinks, linkInvalid } from '../database/email-links.js';
import { MailboxProofs } from '../database/mailbox-proofs.js';
import { PersonEntity } from '../database/entities/person.entity.js';
import { passwordResetMail } from '../infra/person-mail.js';
import { SessionsService } from '../database/sessions.service.js';
import { Passwords } from '../common/passwords.js';
import { RateLimitService } from '../infra/rate-limit.service.js';
import { SecondFactorService } from '../database/second-factor.service.js';
import { sessionsRevoked } from '../events/domain-events.js';

type Meta = Pick<Actor, 'ip' | 'userAgent'>;

/**
 * Forgotten passwords (issue 13 §3). `request` answers 202 whatever the email, at once: looking the
 * email up, issuing the link and mailing it happen after the answer, so an unknown email answers the
 * same and as fast. The link (`/reset-password/<token>`, 1 h, single use; a newer one kills it) sets
 * a new password and ends every session of the person. With 2FA on, a code or recovery code is asked
 * too: a mailbox alone must not get past the second factor. An unverified email is the exception —
 * the reset proves the mailbox and takes the login over, 2FA and all (`MailboxProofs.claim`).
 */
@Injectable()
export class PasswordReset {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(EmailLinks) private readonly links: EmailLinks,
    @Inject(MailboxProofs) private readonly proofs: MailboxProofs,
    @Inject(MailService) private readonly mail: MailService,
    @Inject(MailOutbox) private readonly outbox: MailOutbox,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(SecondFactorService) private readonly secondFactor: SecondFactorService,
    @Inject(RateLimitService) private readonly limits: RateLimitService,
    @Inject(Passwords) private readonly passwords: Passwords,
  ) {}

  /** `POST /auth/password-reset`: rate-limited per IP and per email (known or not), then 202. */
  async request(email: string, meta: Meta): Promise<void> {
    await this.limits.consume('passwordResetIp', meta.ip ?? 'unknown');
    await this.limits.consume('passwordResetEmail', email);
    this.mail.later(`The password reset for ${email}`, () => this.mailLink(email));
  }

  /** Issues the link and writes its mail into the outbox in one transaction, then sends it. */
  private async mailLink(email: string): Promise<void> {
    const mailId = await this.db.transaction(async (tx) => {
      const person = await tx.manager.getRepository(PersonEntity).findOneBy({ email });
      if (!person) return null;
      const link = await this.links.issue(tx.manager, person, 'password_reset');
      return this.outbox.enqueue(tx.manager, 'password_reset', passwordResetMail(link));
    });
    if (mailId) await this.outbox.deliver({ ids: [mailId] });
  }

  /** `GET /auth/password-reset/:token`: whose password, and whether a code is needed. */
  async info(token: string, meta: Meta): Promise<PasswordResetInfoDto> {
    await this.limits.consume('links', meta.ip ?? 'unknown');
    const { person } = await this.db.read((manager) => this.links.find(manager, token, 'password_reset'));
    return {
      email: person.email,
      twoFactorRequired: person.emailVerified && person.totpSecret !== null,
      claimsAddress: !person.emailVerified,
    };
  }

  /**
   * `POST /auth/password-reset/confirm`: checks the link, the second factor when on (a wrong code
   * leaves the link usable), sets the password and ends every session of the person (live), or
   * claims an unverified login. Logged in every account of the person.
   */
  async confirm(input: { token: string; password: string; totp?: string | undefined }, meta: Meta): Promise<void> {
    await this.limits.consume('links', meta.ip ?? 'unknown');
    const preview = await this.db.read((manager) => this.links.find(manager, input.token, 'password_reset'));
    const secondFactor = preview.person.emailVerified && preview.person.totpSecret !== null;
    if (secondFactor) {
      if (!input.totp)
        throw new DomainError('TOTP_REQUIRED', 'Enter the code from your authenticator app, or a recovery code');
      await this.limits.check('totp', preview.person.id);
    }
    const passwordHash = await this.passwords.hash(input.password);
    await this.db.transaction(async (tx) => {
      await this.db.lockMailbox(tx, preview.person.email);
      const { link, person } = await this.links.find(tx.manager, input.token, 'password_reset');
      if (person.id !== preview.person.id) throw linkInvalid();
      if (!person.emailVerified) {
        await this.links.use(tx.manager, link);
        await this.proofs.claim(tx, person, { via: 'password_reset', meta, passwordHash });
        return;
      }
      if (person.totpSecret) {
        if (!input.totp)
          throw new DomainError('TOTP_REQUIRED', 'Enter the code from your authenticator app, or a recovery code');
        if (!(await this.secondFactor.verifyAndConsume(tx.manager, person.id, input.totp))) {
          await this.limits.consume('totp', person.id);
          throw new DomainError('TOTP_INVALID', 'That code is not valid');
        }
      }
      await this.links.use(tx.manager, link);
      await tx.manager
        .getRepository(PersonEntity)
        .update({ id: person.id }, { passwordHash, passwordResetRequired: false });
      const ended = await this.sessions.revoke(tx.manager, { personId: person.id }, 'password_reset');
      await this.proofs.logInEveryAccount(
        tx,
        person,
        { via: 'password_reset', meta },
        {
          action: 'person.password_reset',
          changes: {
            sessionsEnded: ended.length,
            ...(person.passwordResetRequired ? { afterTwoFactorReset: true } : {}),
          },
        },
      );
      if (ended.length) tx.publish(sessionsRevoked(null, ended, 'password_reset', null));
    });
    await this.limits.passwordChanged(preview.person.email);
  }
}
