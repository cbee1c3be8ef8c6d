import { Inject, Injectable } from '@nestjs/common';
import type { MemberDto } from '@rolecall/contracts';
import { randomUUID } from 'node:crypto';
import { IsNull, type EntityManager } from 'typeorm';
import type { AccountEntity } from '../database/entities/account.entity.js';
import { AccountMutations } from '../database/account-mutation.js';
import { publishMemberChanged } from '../database/committed-member.js';
import type { Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/domain-error.js';
import { newToken, sha256Hex } from '../common/tokens.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { MailOutbox } from './mail-outbox.js';
import { MemberEntity } from '../database/entities/member.entity.js';
import { MembersRepository } from '../database/members.repository.js';
import { InvitationEntity } from '../database/entities/invitation.entity.js';
import { invitationMail } from './invitation-mail.js';

const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

interface IssuedInvitation {
  to: string;
  token: string;
  expiresAt: string;
}

/**
 * An invited member's token and mail — a named interface (README, "Layout"): members/ resends an
 * invitation through it (`POST /users/:id/resend-invitation`, the bulk action's resend), and
 * invitations/ issues the first one. Each issue ends the member's earlier token.
 */
@Injectable()
export class InvitationIssuer {
  constructor(
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MailOutbox) private readonly outbox: MailOutbox,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A new token for an invited member: the old one dies at once. */
  async resend(
    auth: RequestAuth,
    actor: Actor,
    memberId: string,
    ifMatch: number,
    current: (m: EntityManager, a: AccountEntity, member: MemberEntity) => Promise<unknown>,
  ): Promise<MemberDto> {
    const mails: string[] = [];
    const resent = await this.mutations.run(auth, actor, async (context) => {
      const { tx, account } = context;
      const member = await new MembersRepository(tx.manager, tx.kind).findInAccount(account.id, memberId);
      if (!member) throw new DomainError('NOT_FOUND', 'Member not found');
      if (ifMatch !== member.version)
        throw new DomainError(
          'VERSION_MISMATCH',
          'Someone else changed this first; review their change and try again',
          { current: await current(tx.manager, account, member) },
        );
      if (member.status !== 'invited') throw new DomainError('CONFLICT', 'Only a pending invitation can be resent');
      const issued = await this.issueToken(tx.manager, account.id, member.id, auth.member.id);
      mails.push(await this.enqueueMail(tx.manager, account, auth, member.id, issued));
      member.invitedAt = this.clock.now().toISOString();
      member.invitedByMemberId = auth.member.id;
      member.version += 1;
      await tx.manager
        .getRepository(MemberEntity)
        .update(
          { id: member.id },
          { invitedAt: member.invitedAt, version: member.version, invitedByMemberId: auth.member.id },
        );
      const entry = await context.log({
        action: 'invitation.resent',
        target: { type: 'member', id: member.id, label: member.email },
      });
      return (await publishMemberChanged(tx, account, member, entry.seq)).member;
    });
    await this.outbox.deliverNow({ ids: mails });
    return resent;
  }

  /**
   * A fresh token and its mail for one invited member, inside the caller's transaction (a new
   * invitation, the bulk action's resend, issue 17 §2; the caller updates the member and logs).
   * Returns the outbox id to send after commit.
   */
  async reissue(manager: EntityManager, account: AccountEntity, auth: RequestAuth, memberId: string): Promise<string> {
    const issued = await this.issueToken(manager, account.id, memberId, auth.member.id);
    return this.enqueueMail(manager, account, auth, memberId, issued);
  }

  /** Ends any live token of the member and issues a fresh one (7 days). */
  private async issueToken(
    manager: EntityManager,
    accountId: string,
    memberId: string,
    inviterId: string,
  ): Promise<IssuedInvitation> {
    const now = this.clock.now();
    await manager
      .getRepository(InvitationEntity)
      .update({ memberId, endedAt: IsNull() }, { endedAt: now.toISOString() });
    const token = newToken();
    const expiresAt = new Date(now.getTime() + INVITATION_TTL_MS).toISOString();
    await manager.getRepository(InvitationEntity).insert({
      id: randomUUID(),
      accountId,
      memberId,
      tokenHash: sha256Hex(token),
      invitedByMemberId: inviterId,
      expiresAt,
      endedAt: null,
      createdAt: now.toISOString(),
    });
    const member = await manager.getRepository(MemberEntity).findOneByOrFail({ id: memberId });
    return { to: member.email, token, expiresAt };
  }

  private link(token: string): string {
    return `${this.config.publicUrl}/invite/${token}`;
  }

  /**
   * Writes the invitation mail into the outbox in the invitation's transaction (replacing a pending
   * one of an earlier token); it is sent after commit and retried until it goes out.
   */
  private enqueueMail(
    manager: EntityManager,
    account: AccountEntity,
    auth: RequestAuth,
    memberId: string,
    issued: IssuedInvitation,
  ): Promise<string> {
    const mail = invitationMail({
      to: issued.to,
      accountName: account.name,
      inviterName: auth.person.name,
      inviterEmail: auth.person.email,
      link: this.link(issued.token),
      expiresAt: issued.expiresAt,
    });
    return this.outbox.enqueue(manager, 'invitation', mail, memberId);
  }
}
