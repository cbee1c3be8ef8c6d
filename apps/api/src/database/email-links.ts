import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { IsNull, type EntityManager, type EntityTarget } from 'typeorm';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/domain-error.js';
import { newToken, sha256Hex } from '../common/tokens.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { EmailLinkEntity, type EmailLinkPurpose } from './entities/email-link.entity.js';
import { PersonEntity } from './entities/person.entity.js';

const HOUR = 60 * 60 * 1000;

/** How long a mailed link works (issue 13): a verification link a day, a password reset an hour. */
const EMAIL_LINK_TTL_MS: Record<EmailLinkPurpose, number> = { verify_email: 24 * HOUR, password_reset: HOUR };

/** Where the dashboard opens each kind of link. */
const LINK_PATH: Record<EmailLinkPurpose, string> = {
  verify_email: '/verify-email/',
  password_reset: '/reset-password/',
};

const TOKEN = /^[A-Za-z0-9_-]{20,200}$/;

export const linkInvalid = (): DomainError =>
  new DomainError(
    'LINK_INVALID',
    'This link is not valid any more: it was used, replaced by a newer one, or has expired',
  );

/**
 * Ends one single-use token row (a mailed link, an invitation) if it is still live: a conditional
 * update, so of two racing uses exactly one gets `true` (the other answers 410).
 */
export async function endOnce(
  manager: EntityManager,
  entity: EntityTarget<{ id: string; endedAt: string | null }>,
  id: string,
  now: string,
): Promise<boolean> {
  const ended = await manager
    .getRepository(entity)
    .createQueryBuilder()
    .update()
    .set({ endedAt: now })
    .where('id = :id AND ended_at IS NULL', { id })
    .execute();
  return ended.affected !== 0;
}

/** A link as mailed: the token (only here, never stored) and its full URL. */
export interface IssuedLink {
  readonly to: string;
  readonly token: string;
  readonly url: string;
  readonly expiresAt: string;
}

/**
 * Single-use tokens mailed to a person: 256 random bits, only their SHA-256 stored, one live link
 * per person and purpose (a new one ends the old), bound to the address they were mailed to.
 */
@Injectable()
export class EmailLinks {
  constructor(
    @Inject(Clock) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Ends the person's live link of this purpose and issues a new one. Runs in the caller's transaction. */
  async issue(
    manager: EntityManager,
    person: Pick<PersonEntity, 'id' | 'email'>,
    purpose: EmailLinkPurpose,
  ): Promise<IssuedLink> {
    const now = this.clock.now();
    await this.end(manager, person.id, purpose);
    const token = newToken();
    const expiresAt = new Date(now.getTime() + EMAIL_LINK_TTL_MS[purpose]).toISOString();
    await manager.getRepository(EmailLinkEntity).insert({
      id: randomUUID(),
      personId: person.id,
      purpose,
      email: person.email,
      tokenHash: sha256Hex(token),
      expiresAt,
      endedAt: null,
      createdAt: now.toISOString(),
    });
    return { to: person.email, token, url: `${this.config.publicUrl}${LINK_PATH[purpose]}${token}`, expiresAt };
  }

  /**
   * The live link of `token` with its person, or 410 `LINK_INVALID`: unknown, used, replaced,
   * expired, of another purpose, or mailed to an address the person no longer has.
   */
  async find(
    manager: EntityManager,
    token: string,
    purpose: EmailLinkPurpose,
  ): Promise<{ link: EmailLinkEntity; person: PersonEntity }> {
    if (!TOKEN.test(token)) throw linkInvalid();
    const link = await manager.getRepository(EmailLinkEntity).findOneBy({ tokenHash: sha256Hex(token) });
    if (!link || link.purpose !== purpose || link.endedAt || link.expiresAt <= this.clock.now().toISOString())
      throw linkInvalid();
    const person = await manager.getRepository(PersonEntity).findOneBy({ id: link.personId });
    if (!person || person.email !== link.email) throw linkInvalid();
    return { link, person };
  }

  /** Uses the link up; conditional, so of two racing uses exactly one wins (the other gets 410). */
  async use(manager: EntityManager, link: EmailLinkEntity): Promise<void> {
    if (!(await endOnce(manager, EmailLinkEntity, link.id, this.clock.now().toISOString()))) throw linkInvalid();
  }

  /** Ends the person's live links (of one purpose, or all). */
  async end(manager: EntityManager, personId: string, purpose?: EmailLinkPurpose): Promise<void> {
    await manager
      .getRepository(EmailLinkEntity)
      .update(
        { personId, endedAt: IsNull(), ...(purpose ? { purpose } : {}) },
        { endedAt: this.clock.now().toISOString() },
      );
  }
}
