import { Inject, Injectable } from '@nestjs/common';
import type { VerifyEmailInfoDto } from '@rolecall/contracts';
import type { EntityManager } from 'typeorm';
import type { Actor } from '../database/activity.service.js';
import { DomainError, validationFailed } from '../common/domain-error.js';
import { Database } from '../database/database.service.js';
import { MailOutbox } from '../infra/mail-outbox.js';
import { EmailLinks, type IssuedLink } from '../database/email-links.js';
import { MailboxProofs } from '../database/mailbox-proofs.js';
import type { PersonEntity } from '../database/entities/person.entity.js';
import { verificationMail } from '../infra/person-mail.js';
import { SessionsService } from '../database/sessions.service.js';
import { Passwords } from '../common/passwords.js';
import { RateLimitService } from '../infra/rate-limit.service.js';

type Meta = Pick<Actor, 'ip' | 'userAgent'>;

/**
 * Email verification (issue 13): sign-up mails a link (`/verify-email/<token>`, 24 h, single use).
 * Opened by the person who signed up (their session comes with it) it confirms the address. Opened
 * by anyone else it proves the mailbox of an unverified login, which becomes theirs: they choose its
 * password, and whoever signed up with somebody else's address loses it (`MailboxProofs.claim`).
 */
@Injectable()
export class EmailVerification {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(EmailLinks) private readonly links: EmailLinks,
    @Inject(MailboxProofs) private readonly proofs: MailboxProofs,
    @Inject(MailOutbox) private readonly outbox: MailOutbox,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(RateLimitService) private readonly limits: RateLimitService,
    @Inject(Passwords) private readonly passwords: Passwords,
  ) {}

  /**
   * A new link for the person and its mail in the outbox, in the caller's transaction; `send` it
   * after commit.
   */
  async issue(manager: EntityManager, person: Pick<PersonEntity, 'id' | 'email'>): Promise<IssuedLink> {
    const link = await this.links.issue(manager, person, 'verify_email');
    await this.outbox.enqueue(manager, 'verify_email', verificationMail(link));
    return link;
  }

  /** Sends the link's mail after the answer; the outbox retries it until it goes out. */
  send(link: IssuedLink): void {
    this.outbox.deliverLater({ kind: 'verify_email', to: link.to });
  }

  /** `POST /me/verify-email`: a new link (the old one dies). */
  async resend(person: PersonEntity): Promise<void> {
    if (person.emailVerified) throw new DomainError('CONFLICT', 'Your email address is already confirmed');
    await this.limits.consume('verifyEmail', person.id);
    const link = await this.db.transaction((tx) => this.issue(tx.manager, person));
    this.send(link);
  }

  /** `GET /auth/verify-email/:token`: whose address the link confirms. */
  async info(token: string, meta: Meta): Promise<VerifyEmailInfoDto> {
    await this.limits.consume('links', meta.ip ?? 'unknown');
    const { person } = await this.db.read((manager) => this.links.find(manager, token, 'verify_email'));
    return { email: person.email };
  }

  /**
   * `POST /auth/verify-email`: with a session of the link's person, confirms the address. Anyone
   * else takes the login over and must choose its new password (400 without one).
   */
  async verify(
    input: { token: string; password?: string | undefined },
    sessionToken: string | null,
    meta: Meta,
  ): Promise<void> {
    await this.limits.consume('links', meta.ip ?? 'unknown');
    const preview = await this.db.read((manager) => this.links.find(manager, input.token, 'verify_email'));
    const signedIn = sessionToken ? await this.sessions.personOf(sessionToken) : null;
    const themselves = signedIn?.id === preview.person.id;
    if (!themselves && !input.password) {
      throw validationFailed(
        {
          password: [
            `Sign in as ${preview.person.email} to confirm it, or choose a new password to take this login over`,
          ],
        },
        'Sign in to confirm your address, or choose a password to take this login over',
      );
    }
    const passwordHash = themselves ? null : await this.passwords.hash(input.password!);
    await this.db.transaction(async (tx) => {
      await this.db.lockMailbox(tx, preview.person.email);
      const { link, person } = await this.links.find(tx.manager, input.token, 'verify_email');
      await this.links.use(tx.manager, link);
      if (themselves) await this.proofs.verified(tx, person, { via: 'verification', meta });
      else await this.proofs.claim(tx, person, { via: 'verification', meta, passwordHash });
    });
    if (!themselves) await this.limits.passwordChanged(preview.person.email);
  }
}
