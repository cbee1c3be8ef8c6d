import { Inject, Injectable } from '@nestjs/common';
import type {
  ActivityNames,
  MemberDetailDto,
  MemberDto,
  MemberPageDto,
  MemberSessionDto,
  PermissionChangeReason,
} from '@rolecall/contracts';
import { checkRemoval, checkRoleChange, checkSessionsAccess } from '@rolecall/domain';
import { IsNull, type EntityManager } from 'typeorm';
import type { AccountEntity } from '../database/entities/account.entity.js';
import { assertSeatsFor } from '../database/seats.js';
import { AccountMutations, type MutationContext } from '../database/account-mutation.js';
import { activityNameOf, type Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { DomainError, notFound } from '../common/domain-error.js';
import { versionMismatch } from '../common/if-match.js';
import { Database } from '../database/database.service.js';
import { InvitationEntity } from '../database/entities/invitation.entity.js';
import { assertRoleChange, assertTeams } from '../database/assignable.js';
import { InvitationIssuer } from '../infra/invitation-issuer.js';
import { MailOutbox } from '../infra/mail-outbox.js';
import { SessionsService } from '../database/sessions.service.js';
import { MemberTeamEntity } from '../database/entities/team.entity.js';
import { MemberEntity } from '../database/entities/member.entity.js';
import { MemberTotals } from './member-totals.js';
import { publishMemberChanged } from '../database/committed-member.js';
import { loadMemberDtos, memberListDtos } from '../database/members.dto.js';
import { MembersRepository, type MemberPageQuery } from '../database/members.repository.js';
import { memberRemoved, sessionsRevoked } from '../events/domain-events.js';
import { RoleEntity } from '../database/entities/role.entity.js';

export interface MemberUpdate {
  roleId?: string | undefined;
  agentAccess?: boolean | undefined;
  teamIds?: string[] | undefined;
}

@Injectable()
export class MembersService {
  private readonly totals = new MemberTotals();

  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(InvitationIssuer) private readonly invitations: InvitationIssuer,
    @Inject(MailOutbox) private readonly outbox: MailOutbox,
  ) {}

  list(auth: RequestAuth, query: MemberPageQuery): Promise<MemberPageDto> {
    const key = this.totals.key(auth.account.id, auth.account.activitySeq, query);
    return this.db.read(async (manager) => {
      const page = await new MembersRepository(manager, this.db.kind).page(
        auth.account.id,
        query,
        this.totals.get(key),
      );
      this.totals.set(key, page.total);
      return {
        items: await memberListDtos(manager, auth.account, page.rows),
        nextCursor: page.nextCursor,
        total: page.total,
      };
    });
  }

  get(auth: RequestAuth, id: string): Promise<MemberDetailDto> {
    return this.db.read(async (manager) => {
      const member = await new MembersRepository(manager, this.db.kind).findInAccount(auth.account.id, id);
      if (!member) throw notFound('Member');
      return this.detail(manager, auth.account, member);
    });
  }

  async detail(manager: EntityManager, account: AccountEntity, member: MemberEntity): Promise<MemberDetailDto> {
    const [dto] = await loadMemberDtos(manager, account, [member]);
    return this.withDetail(manager, member, dto!);
  }

  /**
   * After a change's last write, in its transaction: publishes the member for the live push
   * (`publishMemberChanged`: the push reads nothing after the COMMIT) and answers with the same DTO.
   */
  private async changed(
    context: MutationContext,
    member: MemberEntity,
    seq: number,
    reason: PermissionChangeReason | null,
    role?: RoleEntity,
  ): Promise<MemberDetailDto> {
    const { tx, account } = context;
    const committed = await publishMemberChanged(tx, account, member, seq, reason, role);
    return this.withDetail(tx.manager, member, committed.member, context.actorMember);
  }

  /** `actor`: the acting member's row read under the account lock, reused when it is the inviter. */
  private async withDetail(
    manager: EntityManager,
    member: MemberEntity,
    dto: MemberDto,
    actor: MemberEntity | null = null,
  ): Promise<MemberDetailDto> {
    const inviter = !member.invitedByMemberId
      ? null
      : actor?.id === member.invitedByMemberId
        ? actor
        : await manager.getRepository(MemberEntity).findOneBy({ id: member.invitedByMemberId });
    const invitation =
      member.status === 'invited'
        ? await manager.getRepository(InvitationEntity).findOneBy({ memberId: member.id, endedAt: IsNull() })
        : null;
    return {
      ...dto,
      invitedBy: inviter ? { id: inviter.id, name: inviter.name, email: inviter.email } : null,
      invitationExpiresAt: invitation?.expiresAt ?? null,
      invitationMail: member.status === 'invited' ? await this.outbox.invitationStatus(manager, member.id) : null,
    };
  }

  /** A change of member `id`: its row is read with the actor's re-check (`MutationContext.member`). */
  private aboutMember<T>(
    auth: RequestAuth,
    actor: Actor,
    id: string,
    work: (context: MutationContext) => Promise<T>,
  ): Promise<T> {
    return this.mutations.run(auth, actor, work, { member: id });
  }

  /** Loads the member for a change and checks `If-Match` (412 with the member as it is now). */
  private async forChange(context: MutationContext, id: string, ifMatch: number): Promise<MemberEntity> {
    const member =
      context.member?.id === id
        ? context.member.row
        : await new MembersRepository(context.tx.manager, context.tx.kind).findInAccount(context.account.id, id);
    if (!member) throw notFound('Member');
    if (member.version !== ifMatch)
      throw versionMismatch(await this.detail(context.tx.manager, context.account, member));
    return member;
  }

  /** The member to revoke or delete: loaded for the change (`If-Match`), then held to the removal rules. */
  private async forRemoval(
    context: MutationContext,
    auth: RequestAuth,
    id: string,
    ifMatch: number,
    verb: 'revoke' | 'delete',
  ): Promise<MemberEntity> {
    const member = await this.forChange(context, id, ifMatch);
    assertRemovable(context.account, auth.member, member, verb);
    return member;
  }

  /**
   * The names a change of `member` gives its activity entries, from rows this transaction read under
   * the account lock and does not rename: the acting member's and the member's (no read for them).
   */
  private heldNames(context: MutationContext, member: MemberEntity): ActivityNames {
    const names: ActivityNames = { [member.id]: activityNameOf(member) };
    const actor = context.actorMember;
    if (actor && actor.id === context.actor.memberId) names[actor.id] = activityNameOf(actor);
    return names;
  }

  private async save(context: MutationContext, member: MemberEntity, fields: Partial<MemberEntity>): Promise<void> {
    Object.assign(member, fields, { version: member.version + 1 });
    await context.tx.manager
      .getRepository(MemberEntity)
      .update({ id: member.id }, { ...fields, version: member.version });
  }

  /** Role, agent access and teams; one activity entry per aspect that changed. */
  async update(auth: RequestAuth, actor: Actor, id: string, ifMatch: number, change: MemberUpdate): Promise<MemberDto> {
    return this.aboutMember(auth, actor, id, async (context) => {
      const { tx, account } = context;
      const member = await this.forChange(context, id, ifMatch);
      const fields: Partial<MemberEntity> = {};
      const entries: { action: string; changes: Record<string, unknown>; names?: ActivityNames }[] = [];
      let permissionsChanged = false;
      let role: RoleEntity | undefined;
      if (change.roleId !== undefined && change.roleId !== member.roleId) {
        const violation = checkRoleChange(
          { ownerId: account.ownerMemberId, billingContactId: account.billingContactMemberId },
          member,
          change.roleId,
        );
        if (violation)
          throw new DomainError(violation, 'The account owner always holds the Admin role; transfer ownership first');
        const roles = await assertRoleChange(tx.manager, account.id, member.roleId, change.roleId);
        role = roles.role;
        entries.push({
          action: 'user.role_changed',
          changes: { roleId: { before: member.roleId, after: role.id }, role: { after: role.name } },
          names: { [role.id]: role.name, ...(roles.held && { [roles.held.id]: roles.held.name }) },
        });
        fields.roleId = role.id;
        permissionsChanged = true;
      }
      if (change.agentAccess !== undefined && change.agentAccess !== member.agentAccess) {
        if (change.agentAccess && member.status !== 'revoked')
          await assertSeatsFor(tx.manager, account, { seats: 0, agents: 1 });
        entries.push({
          action: 'user.agent_access_changed',
          changes: { agentAccess: { before: member.agentAccess, after: change.agentAccess } },
        });
        fields.agentAccess = change.agentAccess;
        permissionsChanged = true;
      }
      if (change.teamIds !== undefined) {
        const teamIds = await assertTeams(tx.manager, account, change.teamIds);
        const links = tx.manager.getRepository(MemberTeamEntity);
        const before = (await links.findBy({ memberId: member.id })).map((l) => l.teamId).sort();
        if (before.join() !== [...teamIds].sort().join()) {
          await links.delete({ memberId: member.id });
          if (teamIds.length) await links.insert(teamIds.map((teamId) => ({ memberId: member.id, teamId })));
          entries.push({ action: 'user.teams_changed', changes: { teamIds: { before, after: [...teamIds].sort() } } });
        }
      }
      if (entries.length === 0) return this.detail(tx.manager, account, member);
      if (permissionsChanged) fields.permissionsVersion = member.permissionsVersion + 1;
      await this.save(context, member, fields);
      let seq = 0;
      for (const entry of entries) {
        seq = (
          await context.log({
            action: entry.action,
            target: { type: 'member', id: member.id, label: member.email },
            changes: entry.changes,
            names: { ...this.heldNames(context, member), ...entry.names },
          })
        ).seq;
      }
      const reason = fields.roleId !== undefined ? 'role_changed' : permissionsChanged ? 'agent_access_changed' : null;
      return this.changed(context, member, seq, reason, role);
    });
  }

  /** Revoking ends every session of the member in this account at once. */
  async revoke(auth: RequestAuth, actor: Actor, id: string, ifMatch: number): Promise<MemberDto> {
    return this.aboutMember(auth, actor, id, async (context) => {
      const { tx, account } = context;
      const member = await this.forRemoval(context, auth, id, ifMatch, 'revoke');
      if (member.status === 'revoked') throw new DomainError('CONFLICT', 'This member is already revoked');
      if (member.status === 'invited')
        throw new DomainError('CONFLICT', 'This person has not joined yet: cancel the invitation instead');
      await this.save(context, member, { status: 'revoked', permissionsVersion: member.permissionsVersion + 1 });
      const ended = member.personId
        ? await this.sessions.revoke(tx.manager, { personId: member.personId, accountId: account.id }, 'member_revoked')
        : [];
      const entry = await context.log({
        action: 'user.revoked',
        target: { type: 'member', id: member.id, label: member.email },
        changes: { status: { before: 'active', after: 'revoked' }, sessionsEnded: ended.length },
        names: this.heldNames(context, member),
      });
      const detail = await this.changed(context, member, entry.seq, null);
      if (ended.length) tx.publish(sessionsRevoked(account.id, ended, 'member_revoked', entry.seq));
      return detail;
    });
  }

  /** Back to active with the same role, if a seat (and an agent seat) is free. */
  async reactivate(auth: RequestAuth, actor: Actor, id: string, ifMatch: number): Promise<MemberDto> {
    return this.aboutMember(auth, actor, id, async (context) => {
      const { tx, account } = context;
      const member = await this.forChange(context, id, ifMatch);
      if (member.status !== 'revoked') throw new DomainError('CONFLICT', 'Only a revoked member can be reactivated');
      await assertSeatsFor(tx.manager, account, { seats: 1, agents: member.agentAccess ? 1 : 0 });
      // A member deprovisioned (SCIM) before they ever signed in goes back to waiting for their first sign-in.
      const after = member.joinedAt ? 'active' : 'invited';
      await this.save(context, member, { status: after, permissionsVersion: member.permissionsVersion + 1 });
      const entry = await context.log({
        action: 'user.reactivated',
        target: { type: 'member', id: member.id, label: member.email },
        changes: { status: { before: 'revoked', after } },
        names: this.heldNames(context, member),
      });
      return this.changed(context, member, entry.seq, 'reactivated');
    });
  }

  resendInvitation(auth: RequestAuth, actor: Actor, id: string, ifMatch: number): Promise<MemberDto> {
    return this.invitations.resend(auth, actor, id, ifMatch, (manager, account, member) =>
      this.detail(manager, account, member),
    );
  }

  /** Invited → the invitation is cancelled; revoked → deleted for good; active → 409 (revoke first). */
  async remove(auth: RequestAuth, actor: Actor, id: string, ifMatch: number): Promise<void> {
    await this.aboutMember(auth, actor, id, async (context) => {
      const { tx, account } = context;
      const member = await this.forRemoval(context, auth, id, ifMatch, 'delete');
      if (member.status === 'active') throw new DomainError('CONFLICT', 'Revoke this member before deleting them');
      await tx.manager.getRepository(MemberEntity).delete({ id: member.id });
      const action = member.status === 'invited' ? 'invitation.cancelled' : 'user.deleted';
      const entry = await context.log({
        action,
        target: { type: 'member', id: member.id, label: member.email },
        changes: { status: { before: member.status, after: null } },
        names: { [member.id]: member.name || member.email },
      });
      tx.publish(memberRemoved(account.id, member, entry.seq));
    });
  }

  async listSessions(auth: RequestAuth, id: string): Promise<MemberSessionDto[]> {
    const member = await this.db.read((manager) =>
      new MembersRepository(manager, this.db.kind).findInAccount(auth.account.id, id),
    );
    if (!member) throw notFound('Member');
    // The owner's sessions are the owner's alone, listing included (OWNER_PROTECTED, like revoke and demote).
    const violation = checkSessionsAccess(
      { ownerId: auth.account.ownerMemberId, billingContactId: auth.account.billingContactMemberId },
      auth.member,
      member,
    );
    if (violation) throw new DomainError(violation, "Only the account owner can see the owner's sessions");
    if (!member.personId) return [];
    const sessions = (await this.sessions.listActive(member.personId)).filter((s) => s.accountId === auth.account.id);
    return sessions.map(({ id: sessionId, createdAt, lastSeenAt, expiresAt, ip, userAgent, authMethod }) => ({
      id: sessionId,
      createdAt,
      lastSeenAt,
      expiresAt,
      ip,
      userAgent,
      authMethod,
    }));
  }

  /**
   * Ends every session of the member in this account. `If-Match` as for any DELETE; the member's version
   * stays. Who may is checked first (under the account lock), so a refused caller never gets a 412.
   */
  async endSessions(auth: RequestAuth, actor: Actor, id: string, ifMatch: number): Promise<void> {
    await this.aboutMember(auth, actor, id, async (context) => {
      const { tx, account } = context;
      const violation = checkSessionsAccess(
        { ownerId: account.ownerMemberId, billingContactId: account.billingContactMemberId },
        auth.member,
        { id },
      );
      if (violation) throw new DomainError(violation, "Only the account owner can end the owner's sessions");
      const member = await this.forChange(context, id, ifMatch);
      const ended = member.personId
        ? await this.sessions.revoke(tx.manager, { personId: member.personId, accountId: account.id }, 'ended_by_admin')
        : [];
      const entry = await context.log({
        action: 'user.sessions_revoked',
        target: { type: 'member', id: member.id, label: member.email },
        changes: { sessionsEnded: ended.length },
      });
      if (ended.length) tx.publish(sessionsRevoked(account.id, ended, 'ended_by_admin', entry.seq));
    });
  }
}

/**
 * The single-member rules for revoking or deleting a member (not oneself, not the owner, not the
 * billing contact), refused in the words of the verb.
 */
function assertRemovable(
  account: AccountEntity,
  actor: Parameters<typeof checkRemoval>[1],
  member: Parameters<typeof checkRemoval>[2],
  verb: 'revoke' | 'delete',
): void {
  const violation = checkRemoval(
    { ownerId: account.ownerMemberId, billingContactId: account.billingContactMemberId },
    actor,
    member,
  );
  if (violation) throw new DomainError(violation, removalMessage(violation, verb));
}

function removalMessage(violation: string, verb: 'revoke' | 'delete'): string {
  switch (violation) {
    case 'SELF_ACTION_FORBIDDEN':
      return `You cannot ${verb} yourself`;
    case 'OWNER_PROTECTED':
      return `The account owner cannot be ${verb === 'revoke' ? 'revoked' : 'deleted'}; transfer ownership first`;
    case 'BILLING_CONTACT_PROTECTED':
      return `The billing contact cannot be ${verb === 'revoke' ? 'revoked' : 'deleted'}; transfer the billing contact first`;
    default:
      return 'Not allowed';
  }
}
