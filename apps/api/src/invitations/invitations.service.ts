import { Inject, Injectable } from '@nestjs/common';
import {
  type AcceptInvitationResultDto,
  type InvitationInfoDto,
  type InvitationPreviewDto,
  type MemberDto,
} from '@rolecall/contracts';
import { agentCost, planLimits, seatUsageAfter } from '@rolecall/domain';
import { In, type EntityManager } from 'typeorm';
import { AccountEntity } from '../database/entities/account.entity.js';
import { loadAccountDto, seatCount } from '../database/accounts.dto.js';
import { assertSeatsFor } from '../database/seats.js';
import { AccountMutations, type MutationContext } from '../database/account-mutation.js';
import type { Actor } from '../database/activity.service.js';
import { Passwords } from '../common/passwords.js';
import type { RequestAuth } from '../database/request-auth.js';
import { Clock } from '../common/clock.js';
import { DomainError, forbidden, validationFailed } from '../common/domain-error.js';
import { dryRunFailure, wouldFail } from '../common/dry-run.js';
import { sha256Hex } from '../common/tokens.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { Database } from '../database/database.service.js';
import { MailOutbox } from '../infra/mail-outbox.js';
import { MemberEntity } from '../database/entities/member.entity.js';
import { publishMemberChanged, publishMembersChanged } from '../database/committed-member.js';
import { MembersRepository } from '../database/members.repository.js';
import { assertRole, assertTeams } from '../database/assignable.js';
import { PersonEntity } from '../database/entities/person.entity.js';
import { MailboxProofs } from '../database/mailbox-proofs.js';
import { insertMember, insertPerson, joinAsPerson } from '../database/persons.js';
import { SessionsService } from '../database/sessions.service.js';
import { MemberTeamEntity } from '../database/entities/team.entity.js';
import { InvitationIssuer } from '../infra/invitation-issuer.js';
import { InvitationEntity } from '../database/entities/invitation.entity.js';
import { endOnce } from '../database/email-links.js';

/** 409 `USER_EXISTS`: which emails are members already, and whether each is revoked (reactivate instead). */
function userExists(existing: readonly MemberEntity[]): DomainError {
  return new DomainError(
    'USER_EXISTS',
    `${existing.map((m) => m.email).join(', ')} ${existing.length === 1 ? 'is' : 'are'} already in this account`,
    {
      members: existing.map((m) => ({ id: m.id, email: m.email, status: m.status, revoked: m.status === 'revoked' })),
    },
  );
}

export interface InviteInput {
  emails: string[];
  roleId: string;
  agentAccess: boolean;
  teamIds: string[];
}

const invalidInvitation = () =>
  new DomainError(
    'INVITATION_INVALID',
    'This invitation link is not valid any more: it was used, cancelled, replaced or has expired',
  );

@Injectable()
export class InvitationsService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MailOutbox) private readonly outbox: MailOutbox,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(MailboxProofs) private readonly proofs: MailboxProofs,
    @Inject(InvitationIssuer) private readonly issuer: InvitationIssuer,
    @Inject(Passwords) private readonly passwords: Passwords,
  ) {}

  /** The batch's emails (duplicates collapsed), its teams, and the emails that are members already. */
  private async readBatch(
    context: Pick<MutationContext, 'tx' | 'account'>,
    input: InviteInput,
  ): Promise<{ emails: string[]; teamIds: string[]; existing: MemberEntity[] }> {
    const { manager } = context.tx;
    const emails = [...new Set(input.emails)];
    await assertRole(manager, context.account.id, input.roleId);
    const teamIds = await assertTeams(manager, context.account, input.teamIds);
    const existing = await new MembersRepository(manager, context.tx.kind).findByEmails(context.account.id, emails);
    return { emails, teamIds, existing };
  }

  private async checkBatch(
    context: Pick<MutationContext, 'tx' | 'account'>,
    input: InviteInput,
  ): Promise<{ emails: string[]; teamIds: string[] }> {
    const { emails, teamIds, existing } = await this.readBatch(context, input);
    if (existing.length > 0) throw userExists(existing);
    return { emails, teamIds };
  }

  /**
   * `?dryRun=true`: seats and agent-seat cost after inviting the emails that are not members yet;
   * nothing is written. What the real request would refuse with a 409 (`USER_EXISTS` first, then the
   * seat limits, in the real request's order) comes back as `wouldFail` in the 200 answer.
   */
  async preview(auth: RequestAuth, input: InviteInput): Promise<InvitationPreviewDto> {
    return this.db.transaction(async (tx) => {
      const account = await this.db.lockAccount(tx, auth.account.id);
      const { emails, existing } = await this.readBatch({ tx, account }, input);
      const members = new Set(existing.map((member) => member.email));
      const newcomers = emails.filter((email) => !members.has(email)).length;
      const change = { seats: newcomers, agents: input.agentAccess ? newcomers : 0, invited: newcomers };
      const failure =
        existing.length > 0
          ? dryRunFailure(userExists(existing))
          : await wouldFail(() => assertSeatsFor(tx.manager, account, change));
      const after = seatUsageAfter(await seatCount(tx.manager, account.id), change);
      const limits = planLimits(account.plan);
      return {
        emails,
        seats: { limit: limits.seats, used: after.used, invited: after.invited },
        agentSeats: { limit: limits.agentSeats, used: after.agents, ...agentCost(account.plan, after.agents) },
        wouldFail: failure,
      };
    });
  }

  /** Invites 1–50 emails, all or nothing, and mails each its own single-use link. */
  async invite(auth: RequestAuth, actor: Actor, input: InviteInput): Promise<MemberDto[]> {
    const mails: string[] = [];
    const members = await this.mutations.run(auth, actor, async (context) => {
      const { tx, account } = context;
      const { emails, teamIds } = await this.checkBatch(context, input);
      await assertSeatsFor(tx.manager, account, {
        seats: emails.length,
        agents: input.agentAccess ? emails.length : 0,
      });
      const persons = await tx.manager.getRepository(PersonEntity).findBy({ email: In(emails) });
      const personByEmail = new Map(persons.map((p) => [p.email, p]));
      const invitedMembers: { member: MemberEntity; seq: number }[] = [];
      for (const email of emails) {
        const invited = {
          email,
          personId: personByEmail.get(email)?.id ?? null,
          roleId: input.roleId,
          agentAccess: input.agentAccess,
          teamIds,
        };
        const { member, mail, seq } = await this.createInvited(context, auth, invited);
        mails.push(mail);
        invitedMembers.push({ member, seq });
      }
      return publishMembersChanged(tx, account, invitedMembers);
    });
    await this.outbox.deliverNow({ ids: mails });
    return members;
  }

  /**
   * One invited member with its teams, token, mail (queued in the outbox) and activity entry, inside
   * the caller's mutation: an email of `POST /users/invitations`, a row of a CSV import (issue 17 §3,
   * whose entries carry `more`). Seats, role and teams are the caller's to check first. Returns the
   * member, the outbox id of its mail (to send after commit) and its entry's seq: the caller publishes
   * the live events of all it invited with `publishMembersChanged`, after the last of them.
   */
  async createInvited(
    context: MutationContext,
    auth: RequestAuth,
    input: { email: string; personId: string | null; roleId: string; agentAccess: boolean; teamIds: string[] },
    more: Record<string, unknown> = {},
  ): Promise<{ member: MemberEntity; mail: string; seq: number }> {
    const { tx, account } = context;
    const { email, teamIds } = input;
    const now = this.clock.now().toISOString();
    const member = await insertMember(
      tx.manager,
      {
        accountId: account.id,
        personId: input.personId,
        email,
        name: null,
        status: 'invited',
        roleId: input.roleId,
        agentAccess: input.agentAccess,
        invitedByMemberId: auth.member.id,
      },
      now,
    );
    if (teamIds.length) {
      await tx.manager
        .getRepository(MemberTeamEntity)
        .insert(teamIds.map((teamId) => ({ memberId: member.id, teamId })));
    }
    const mail = await this.issuer.reissue(tx.manager, account, auth, member.id);
    const entry = await context.log({
      action: 'user.invited',
      target: { type: 'member', id: member.id, label: email },
      changes: {
        roleId: { after: input.roleId },
        agentAccess: { after: input.agentAccess },
        teamIds: { after: teamIds },
        ...more,
      },
    });
    return { member, mail, seq: entry.seq };
  }

  private async liveInvitation(
    manager: EntityManager,
    token: string,
  ): Promise<{ invitation: InvitationEntity; member: MemberEntity; account: AccountEntity }> {
    if (!/^[A-Za-z0-9_-]{20,200}$/.test(token)) throw invalidInvitation();
    const invitation = await manager.getRepository(InvitationEntity).findOneBy({ tokenHash: sha256Hex(token) });
    if (!invitation || invitation.endedAt || invitation.expiresAt <= this.clock.now().toISOString())
      throw invalidInvitation();
    const member = await manager.getRepository(MemberEntity).findOneBy({ id: invitation.memberId });
    if (!member || member.status !== 'invited') throw invalidInvitation();
    const account = await manager.getRepository(AccountEntity).findOneByOrFail({ id: invitation.accountId });
    return { invitation, member, account };
  }

  async info(token: string): Promise<InvitationInfoDto> {
    return this.db.read(async (manager) => {
      const { invitation, member, account } = await this.liveInvitation(manager, token);
      const inviter = invitation.invitedByMemberId
        ? await manager.getRepository(MemberEntity).findOneBy({ id: invitation.invitedByMemberId })
        : null;
      const person = await manager.getRepository(PersonEntity).findOneBy({ email: member.email });
      return {
        accountName: account.name,
        email: member.email,
        invitedBy: inviter?.name ?? inviter?.email ?? null,
        expiresAt: invitation.expiresAt,
        existingPerson: person?.emailVerified === true,
        unverifiedPerson: person !== null && !person.emailVerified,
      };
    });
  }

  /**
   * Accepts an invitation. The token proves the mailbox. A new person sets name and password. A
   * verified person must be signed in as that email (the request's session). An unverified person
   * — somebody may have signed up with this address first — is taken over by the token's holder
   * unless they are signed in as that person: name and password are set anew and the old holder's
   * sessions and credentials end (`MailboxProofs.claim`). The token dies in the same transaction,
   * so of two concurrent accepts exactly one wins.
   */
  async accept(
    input: { token: string; name?: string | undefined; password?: string | undefined },
    sessionToken: string | null,
    meta: Pick<Actor, 'ip' | 'userAgent'>,
  ): Promise<AcceptInvitationResultDto> {
    const preview = await this.db.read((manager) => this.liveInvitation(manager, input.token));
    const existing = await this.db.read((manager) =>
      manager.getRepository(PersonEntity).findOneBy({ email: preview.member.email }),
    );
    const signedIn = existing && sessionToken ? await this.sessions.personOf(sessionToken) : null;
    const themselves = existing !== null && signedIn?.id === existing.id;
    // The person was read after the invitation, in a statement of its own: an accept that used the
    // link in between made them (verified: the link proved the mailbox). A refusal judged on the
    // person therefore checks the link again, and a link used (cancelled, resent) meanwhile answers
    // 410 INVITATION_INVALID, as it would have a moment later — not "sign in" or "choose a password"
    // to whoever clicked Accept twice. A link live after the person's read was live during it: links
    // never come back.
    const refuse = async (error: DomainError): Promise<never> => {
      await this.db.read((manager) => this.liveInvitation(manager, input.token));
      throw error;
    };
    if (existing?.emailVerified && !themselves) {
      if (!signedIn) {
        return refuse(
          new DomainError('UNAUTHENTICATED', `Sign in as ${preview.member.email} to accept this invitation`, {
            reason: 'sign_in_required',
            email: preview.member.email,
          }),
        );
      }
      return refuse(forbidden(`This invitation is for ${preview.member.email}; sign in with that email to accept it`));
    }
    let passwordHash: string | null = null;
    if (!themselves) {
      const fields: Record<string, string[]> = {};
      if (!input.name) fields['name'] = ['Required'];
      if (!input.password) fields['password'] = ['Required'];
      if (Object.keys(fields).length)
        return refuse(validationFailed(fields, 'Choose your name and a password to accept'));
      passwordHash = await this.passwords.hash(input.password!);
    }
    const actor: Actor = { memberId: preview.member.id, email: preview.member.email, ...meta };
    return this.mutations.run(
      preview.account.id,
      actor,
      async (context) => {
        const { tx, account } = context;
        const { invitation, member } = await this.liveInvitation(tx.manager, input.token);
        if (!(await endOnce(tx.manager, InvitationEntity, invitation.id, this.clock.now().toISOString())))
          throw invalidInvitation();
        let person = existing
          ? await tx.manager.getRepository(PersonEntity).findOneByOrFail({ id: existing.id })
          : null;
        const now = this.clock.now().toISOString();
        const proof = { via: 'invitation' as const, meta, locked: new Map([[account.id, account]]) };
        if (person && themselves) await this.proofs.verified(tx, person, proof);
        else if (person?.emailVerified)
          throw new DomainError('UNAUTHENTICATED', `Sign in as ${member.email} to accept this invitation`, {
            reason: 'sign_in_required',
            email: member.email,
          });
        else if (person) await this.proofs.claim(tx, person, { ...proof, passwordHash, name: input.name });
        // The token proved the mailbox: a person made here starts verified.
        else
          person = await insertPerson(tx.manager, {
            email: member.email,
            name: input.name!,
            passwordHash,
            emailVerified: true,
            now,
          });
        await joinAsPerson(tx.manager, member, person, now);
        const entry = await context.log({
          action: 'invitation.accepted',
          target: { type: 'member', id: member.id, label: member.email },
          changes: { status: { before: 'invited', after: 'active' } },
        });
        const { token } = await this.sessions.create(tx, {
          personId: person.id,
          accountId: account.id,
          authMethod: 'password',
          ...meta,
        });
        // Pushed as this transaction commits it: a change of the member right after (its role) is never
        // pushed as this acceptance's.
        const committed = await publishMemberChanged(tx, account, member, entry.seq, 'invitation_accepted');
        return { token, member: committed.member, account: await loadAccountDto(tx.manager, account) };
      },
      { mailbox: preview.member.email },
    );
  }
}
