import { Inject, Injectable } from '@nestjs/common';
import {
  MAX_BULK_MEMBERS,
  type BulkAction,
  type BulkFilter,
  type BulkPermissionChangeDto,
  type BulkPreviewDto,
  type BulkResultDto,
  type BulkSkipDto,
  type BulkSkipReason,
  type MemberStatus,
  type PermissionChangeReason,
  type PermissionKey,
} from '@rolecall/contracts';
import {
  agentCost,
  checkRemoval,
  checkRoleChange,
  diffPermissions,
  effectivePermissions,
  PLAN_LIMITS,
  seatUsageAfter,
  type SeatCount,
} from '@rolecall/domain';
import { randomUUID } from 'node:crypto';
import { In, type EntityManager } from 'typeorm';
import type { AccountEntity } from '../database/entities/account.entity.js';
import { seatCount } from '../database/accounts.dto.js';
import { assertSeatsFor } from '../database/seats.js';
import { AccountMutations, type MutationContext } from '../database/account-mutation.js';
import { ActivityService, type ActivityInput, type Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { Clock } from '../common/clock.js';
import { validationFailed } from '../common/domain-error.js';
import { dryRunFailure } from '../common/dry-run.js';
import { inList, listParameter, SqlParams } from '../database/entity-columns.js';
import { assertRole, assertTeams } from '../database/assignable.js';
import { InvitationIssuer } from '../infra/invitation-issuer.js';
import { MailOutbox } from '../infra/mail-outbox.js';
import { RoleEntity } from '../database/entities/role.entity.js';
import { SessionsService } from '../database/sessions.service.js';
import { enforcedIdentity } from '../database/identities.js';
import { TeamEntity } from '../database/entities/team.entity.js';
import { rolePermissions } from '../database/permissions.service.js';
import { MembersRepository, type MemberFilter } from '../database/members.repository.js';
import { sessionsRevoked } from '../events/domain-events.js';
import { bulkAccountEvents } from '../database/bulk-events.js';
import { permissionRows } from '../database/permission-rows.js';

export interface BulkRequest {
  action: BulkAction;
  ids?: string[] | undefined;
  filter?: BulkFilter | undefined;
  roleId?: string | undefined;
  agentAccess?: boolean | undefined;
  teamId?: string | undefined;
}

/** What a bulk action reads of each selected member. */
interface BulkMember {
  id: string;
  status: MemberStatus;
  roleId: string;
  agentAccess: boolean;
  name: string | null;
  email: string;
  personId: string | null;
  /** Team ids (read only for the team actions). */
  teamIds: string[];
}

/** The selection judged: who changes, who is skipped and why. */
interface Judged {
  changed: BulkMember[];
  skipped: BulkSkipDto[];
}

/** The action's parameters resolved (400 for an unknown role or team, as `PATCH /users/:id`). */
interface Target {
  role: RoleEntity | null;
  team: TeamEntity | null;
}

/** Members changed per UPDATE/DELETE statement (the ids travel as one parameter; this bounds the statement's work). */
const WRITE_CHUNK = 2000;

/**
 * `POST /users/bulk` (issue 17 §2): one action on many members, all or nothing, under the account
 * lock. The single-member rules are the same functions (`checkRoleChange`, `checkRemoval`, the seat
 * check); a member they refuse is skipped with the reason instead of failing the request, while a
 * refusal of the whole set (seats) fails it. One activity entry per changed member, each carrying
 * the request's `bulkId` (and `bulkAction`) in its hashed `changes`; one domain event for the lot.
 */
@Injectable()
export class BulkMembersService {
  constructor(
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(ActivityService) private readonly activity: ActivityService,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(InvitationIssuer) private readonly invitations: InvitationIssuer,
    @Inject(MailOutbox) private readonly outbox: MailOutbox,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  run(auth: RequestAuth, actor: Actor, request: BulkRequest, dryRun: true): Promise<BulkPreviewDto>;
  run(auth: RequestAuth, actor: Actor, request: BulkRequest, dryRun: false): Promise<BulkResultDto>;
  run(auth: RequestAuth, actor: Actor, request: BulkRequest, dryRun: boolean): Promise<BulkResultDto | BulkPreviewDto>;
  async run(
    auth: RequestAuth,
    actor: Actor,
    request: BulkRequest,
    dryRun: boolean,
  ): Promise<BulkResultDto | BulkPreviewDto> {
    const mails: string[] = [];
    const result = await this.mutations.run(auth, actor, async (context) => {
      const { tx, account } = context;
      const target = await this.target(tx.manager, account, request);
      const members = await this.select(context, request);
      const judged = this.judge(auth, account, request, target, members);
      const before = await seatCount(tx.manager, account.id);
      const after = seatUsageAfter(before, seatDelta(request, judged.changed));
      let failure = null;
      try {
        // The whole set against the plan: agent seats are the only thing a bulk action can add.
        if (after.agents > before.agents)
          await assertSeatsFor(tx.manager, account, { seats: 0, agents: after.agents - before.agents });
      } catch (error) {
        if (!dryRun) throw error;
        failure = dryRunFailure(error);
      }
      if (dryRun) return this.preview(tx.manager, account, request, target, judged, before, after, failure);
      const bulkId = randomUUID();
      if (judged.changed.length) await this.write(context, auth, request, target, judged.changed, bulkId, mails);
      return { bulkId, changed: judged.changed.map((m) => m.id), skipped: judged.skipped } satisfies BulkResultDto;
    });
    if (mails.length) await this.outbox.deliverNow({ ids: mails });
    return result;
  }

  private async target(manager: EntityManager, account: AccountEntity, request: BulkRequest): Promise<Target> {
    const role = request.roleId !== undefined ? await assertRole(manager, account.id, request.roleId) : null;
    let team: TeamEntity | null = null;
    if (request.teamId !== undefined) {
      const [teamId] = await assertTeams(manager, account, [request.teamId]);
      team = await manager.getRepository(TeamEntity).findOneByOrFail({ id: teamId! });
    }
    return { role, team };
  }

  /** The selected members as they are under the lock (ids of another account are simply not found). */
  private async select(
    context: MutationContext,
    request: BulkRequest,
  ): Promise<{ found: BulkMember[]; missing: string[] }> {
    const { tx, account } = context;
    let ids: string[];
    if (request.filter) {
      ids = await new MembersRepository(tx.manager, tx.kind).matchingIds(
        account.id,
        memberFilter(account, request.filter),
        MAX_BULK_MEMBERS + 1,
      );
      if (ids.length > MAX_BULK_MEMBERS)
        throw validationFailed(
          {
            filter: [
              `Matches more than ${MAX_BULK_MEMBERS.toLocaleString('en')} members; narrow the filter or act in several steps`,
            ],
          },
          `A bulk action takes at most ${MAX_BULK_MEMBERS.toLocaleString('en')} members`,
        );
    } else ids = [...new Set(request.ids ?? [])];
    const rows = await memberRows(tx.manager, account.id, ids);
    if (request.action === 'addTeam' || request.action === 'removeTeam') {
      const links = await tx.manager.query<{ memberId: string; teamId: string }[]>(
        `SELECT mt.member_id AS "memberId", mt.team_id AS "teamId" FROM member_teams mt WHERE ${inList(tx.manager.connection, 'mt.member_id', 1)}`,
        [
          listParameter(
            tx.manager.connection,
            rows.map((row) => row.id),
          ),
        ],
      );
      const byMember = new Map(rows.map((row) => [row.id, row]));
      for (const link of links) byMember.get(link.memberId)?.teamIds.push(link.teamId);
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    return { found: ids.flatMap((id) => byId.get(id) ?? []), missing: ids.filter((id) => !byId.has(id)) };
  }

  /** Who changes and who is skipped, by the single-member rules. */
  private judge(
    auth: RequestAuth,
    account: AccountEntity,
    request: BulkRequest,
    target: Target,
    members: { found: BulkMember[]; missing: string[] },
  ): Judged {
    const facts = { ownerId: account.ownerMemberId, billingContactId: account.billingContactMemberId };
    const changed: BulkMember[] = [];
    const skipped: BulkSkipDto[] = members.missing.map((id) => ({
      id,
      reason: 'not_found',
      message: 'No such member in this account',
      name: null,
      email: null,
    }));
    for (const member of members.found) {
      const reason = skipReason(request, target, facts, auth.member.id, member);
      if (reason)
        skipped.push({
          id: member.id,
          reason,
          message: skipMessage(request, target, reason, member),
          name: member.name,
          email: member.email,
        });
      else changed.push(member);
    }
    return { changed, skipped };
  }

  private async preview(
    manager: EntityManager,
    account: AccountEntity,
    request: BulkRequest,
    target: Target,
    judged: Judged,
    before: SeatCount,
    after: SeatCount,
    wouldFail: BulkPreviewDto['wouldFail'],
  ): Promise<BulkPreviewDto> {
    const limits = PLAN_LIMITS[account.plan];
    return {
      bulkId: null,
      changed: judged.changed.map((m) => m.id),
      skipped: judged.skipped,
      seats: { limit: limits.seats, used: after.used, invited: after.invited },
      agentSeats: { limit: limits.agentSeats, used: after.agents, ...agentCost(account.plan, after.agents) },
      monthlyCostBefore: agentCost(account.plan, before.agents).monthlyCost,
      permissionChanges: await this.permissionChanges(manager, account, request, target, judged.changed),
      wouldFail,
    };
  }

  /** Each changed member whose effective permissions move (as the role edit's impact: `effectivePermissions` before and after). */
  private async permissionChanges(
    manager: EntityManager,
    account: AccountEntity,
    request: BulkRequest,
    target: Target,
    members: BulkMember[],
  ): Promise<BulkPermissionChangeDto[]> {
    if (!['role', 'agentAccess', 'revoke'].includes(request.action) || members.length === 0) return [];
    const roles = new Map(
      (await manager.getRepository(RoleEntity).findBy({ id: In([...new Set(members.map((m) => m.roleId))]) })).map(
        (role) => [role.id, rolePermissions(role)],
      ),
    );
    const diffs = new Map<string, { added: PermissionKey[]; removed: PermissionKey[]; remaining: number }>();
    const out: BulkPermissionChangeDto[] = [];
    for (const member of members) {
      const isBillingContact = account.billingContactMemberId === member.id;
      const next = afterState(request, target, member);
      const shape = `${member.roleId}|${member.status}|${member.agentAccess}|${isBillingContact}`;
      let diff = diffs.get(shape);
      if (!diff) {
        const was = effectivePermissions(
          { status: member.status, agentAccess: member.agentAccess, isBillingContact },
          roles.get(member.roleId) ?? [],
        );
        const now = effectivePermissions(
          { status: next.status, agentAccess: next.agentAccess, isBillingContact },
          next.roleId === member.roleId ? (roles.get(member.roleId) ?? []) : rolePermissions(target.role!),
        );
        diffs.set(shape, (diff = { ...diffPermissions(was, now), remaining: now.length }));
      }
      if (diff.added.length || diff.removed.length)
        out.push({
          id: member.id,
          name: member.name,
          email: member.email,
          added: [...diff.added],
          removed: [...diff.removed],
          remaining: diff.remaining,
        });
    }
    return out;
  }

  /** The change itself: a few statements for the lot, one activity entry per member, one domain event. */
  private async write(
    context: MutationContext,
    auth: RequestAuth,
    request: BulkRequest,
    target: Target,
    members: BulkMember[],
    bulkId: string,
    mails: string[],
  ): Promise<void> {
    const { tx, account } = context;
    const manager = tx.manager;
    const ids = members.map((m) => m.id);
    const base = { bulkId, bulkAction: request.action };
    const label = (m: BulkMember) => ({ type: 'member', id: m.id, label: m.email });
    let entries: ActivityInput[];
    let permissionsChanged = false;
    let reason: PermissionChangeReason | null = null;
    const sessionIds: string[] = [];
    switch (request.action) {
      case 'role': {
        const role = target.role!;
        await this.update(manager, account.id, ids, { role_id: role.id }, true);
        entries = members.map((m) => ({
          action: 'user.role_changed',
          target: label(m),
          changes: { roleId: { before: m.roleId, after: role.id }, role: { after: role.name }, ...base },
        }));
        permissionsChanged = true;
        reason = 'role_changed';
        break;
      }
      case 'agentAccess': {
        const on = request.agentAccess!;
        await this.update(manager, account.id, ids, { agent_access: tx.kind === 'sqlite' ? Number(on) : on }, true);
        entries = members.map((m) => ({
          action: 'user.agent_access_changed',
          target: label(m),
          changes: { agentAccess: { before: m.agentAccess, after: on }, ...base },
        }));
        permissionsChanged = true;
        reason = 'agent_access_changed';
        break;
      }
      case 'addTeam':
      case 'removeTeam': {
        const teamId = target.team!.id;
        if (request.action === 'addTeam') {
          for (let i = 0; i < ids.length; i += 500) {
            const chunk = ids.slice(i, i + 500);
            const values = new SqlParams(manager.connection);
            await manager.query(
              `INSERT INTO member_teams (member_id, team_id) VALUES ${chunk.map((id) => `(${values.add(id)}, ${values.add(teamId)})`).join(', ')}`,
              values.values,
            );
          }
        } else {
          for (const chunk of chunks(ids)) {
            const where = new SqlParams(manager.connection);
            await manager.query(
              `DELETE FROM member_teams WHERE team_id = ${where.add(teamId)} AND ${inListAt(manager, 'member_id', where, chunk)}`,
              where.values,
            );
          }
        }
        await this.update(manager, account.id, ids, {}, false);
        entries = members.map((m) => {
          const after = request.action === 'addTeam' ? [...m.teamIds, teamId] : m.teamIds.filter((id) => id !== teamId);
          return {
            action: 'user.teams_changed',
            target: label(m),
            changes: { teamIds: { before: [...m.teamIds].sort(), after: after.sort() }, ...base },
          };
        });
        break;
      }
      case 'revoke': {
        await this.update(manager, account.id, ids, { status: 'revoked' }, true);
        entries = [];
        for (const m of members) {
          const ended = m.personId
            ? await this.sessions.revoke(manager, { personId: m.personId, accountId: account.id }, 'member_revoked')
            : [];
          sessionIds.push(...ended);
          entries.push({
            action: 'user.revoked',
            target: label(m),
            changes: { status: { before: 'active', after: 'revoked' }, sessionsEnded: ended.length, ...base },
          });
        }
        // The cached sets go (the version moved); nobody revoked is told `me.permissions`: `me.revoked` follows.
        permissionsChanged = true;
        break;
      }
      case 'resend': {
        for (const m of members) mails.push(await this.invitations.reissue(manager, account, auth, m.id));
        await this.update(
          manager,
          account.id,
          ids,
          { invited_at: this.clock.now().toISOString(), invited_by_member_id: auth.member.id },
          false,
        );
        entries = members.map((m) => ({ action: 'invitation.resent', target: label(m), changes: { ...base } }));
        break;
      }
      case 'cancel': {
        entries = members.map((m) => ({
          action: 'invitation.cancelled',
          target: label(m),
          changes: { status: { before: 'invited', after: null }, ...base },
          names: { [m.id]: m.name || m.email },
        }));
        break;
      }
    }
    // Published below, after the bulk's own event: its members are told first, the activity stream next.
    const logged = await this.activity.appendMany(tx, account, context.actor, entries, { publish: false });
    if (request.action === 'cancel')
      for (const chunk of chunks(ids)) {
        const where = new SqlParams(manager.connection);
        await manager.query(
          `DELETE FROM members WHERE account_id = ${where.add(account.id)} AND ${inListAt(manager, 'id', where, chunk)}`,
          where.values,
        );
      }
    const bulk = {
      bulkId,
      action: request.action,
      actor: {
        id: context.actor.memberId,
        name: context.actor.memberId ? auth.person.name || auth.person.email : (context.actor.name ?? null),
      },
      ...(target.role ? { role: { id: target.role.id, name: target.role.name } } : {}),
      ...(target.team ? { team: { id: target.team.id, name: target.team.name } } : {}),
      ...(request.agentAccess !== undefined ? { agentAccess: request.agentAccess } : {}),
    };
    // What is pushed, as this transaction leaves the members (after the last write): nothing is read
    // after the COMMIT, so a change of one of them committed right after is never pushed as the bulk's.
    const parts = await bulkAccountEvents(manager, account, bulk, logged[0]!.seq, ids);
    let permissions = null;
    if (reason) {
      const rows = await permissionRows(manager, account.id, ids);
      const roleIds = [...new Set(rows.map((row) => row.roleId))];
      permissions = { rows, roles: await manager.getRepository(RoleEntity).findBy({ id: In(roleIds) }), account };
    }
    tx.publish({
      type: 'members.bulk_changed',
      accountId: account.id,
      action: request.action,
      memberIds: ids,
      permissionsChanged,
      reason,
      committed: { parts, permissions },
    });
    if (sessionIds.length) tx.publish(sessionsRevoked(account.id, sessionIds, 'member_revoked', logged.at(-1)!.seq));
    for (const entry of logged) tx.publish({ type: 'activity.appended', entry });
  }

  /** `SET <columns>, version + 1` (and the permission version) for the members, in chunks. */
  private async update(
    manager: EntityManager,
    accountId: string,
    ids: string[],
    set: Record<string, unknown>,
    permissions: boolean,
  ): Promise<void> {
    for (const chunk of chunks(ids)) {
      const params = new SqlParams(manager.connection);
      const assignments = Object.entries(set).map(([column, value]) => `${column} = ${params.add(value)}`);
      assignments.push('version = version + 1');
      if (permissions) assignments.push('permissions_version = permissions_version + 1');
      await manager.query(
        `UPDATE members SET ${assignments.join(', ')} WHERE account_id = ${params.add(accountId)} AND ${inListAt(manager, 'id', params, chunk)}`,
        params.values,
      );
    }
  }
}

function chunks(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += WRITE_CHUNK) out.push(ids.slice(i, i + WRITE_CHUNK));
  return out;
}

/** `column` is one of `ids`, bound as one parameter (see `inList`). */
function inListAt(manager: EntityManager, column: string, params: SqlParams, ids: string[]): string {
  const placeholder = params.add(listParameter(manager.connection, ids));
  return manager.connection.options.type === 'postgres'
    ? `${column} = ANY(${placeholder})`
    : `${column} IN (SELECT value FROM json_each(${placeholder}))`;
}

/** The selected members with their display names (the person's name once joined). */
async function memberRows(manager: EntityManager, accountId: string, ids: string[]): Promise<BulkMember[]> {
  if (ids.length === 0) return [];
  const params = new SqlParams(manager.connection);
  const rows = await manager.query<Record<string, unknown>[]>(
    'SELECT m.id AS "id", m.status AS "status", m.role_id AS "roleId", m.agent_access AS "agentAccess", COALESCE(p.name, m.name) AS "name", ' +
      'm.email AS "email", m.person_id AS "personId" FROM members m LEFT JOIN persons p ON p.id = m.person_id ' +
      `WHERE m.account_id = ${params.add(accountId)} AND ${inListAt(manager, 'm.id', params, ids)}`,
    params.values,
  );
  return rows.map((row) => ({
    id: row['id'] as string,
    status: row['status'] as MemberStatus,
    roleId: row['roleId'] as string,
    agentAccess: Boolean(row['agentAccess']),
    name: (row['name'] as string | null) ?? null,
    email: row['email'] as string,
    personId: (row['personId'] as string | null) ?? null,
    teamIds: [],
  }));
}

function memberFilter(account: AccountEntity, filter: BulkFilter): MemberFilter {
  return {
    ...(filter.role?.length ? { roles: filter.role } : {}),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.team ? { team: filter.team } : {}),
    ...(filter.agent !== undefined ? { agent: filter.agent } : {}),
    ...(filter.twoFactor !== undefined ? { twoFactor: filter.twoFactor } : {}),
    ...(filter.q ? { q: filter.q } : {}),
    ...(filter.enforcedAuth ? { enforcedAuth: { state: filter.enforcedAuth, match: enforcedIdentity(account) } } : {}),
  };
}

/** The member's status, role and agent access once the action is done. */
function afterState(
  request: BulkRequest,
  target: Target,
  member: BulkMember,
): { status: MemberStatus; roleId: string; agentAccess: boolean } {
  return {
    status: request.action === 'revoke' ? 'revoked' : member.status,
    roleId: request.action === 'role' ? target.role!.id : member.roleId,
    agentAccess: request.action === 'agentAccess' ? request.agentAccess! : member.agentAccess,
  };
}

/** How the changed members move the seat count (revoked members hold no seat). */
function seatDelta(request: BulkRequest, members: BulkMember[]): { seats: number; agents: number; invited: number } {
  const seated = members.filter((m) => m.status !== 'revoked');
  switch (request.action) {
    case 'agentAccess':
      return { seats: 0, agents: (request.agentAccess ? 1 : -1) * seated.length, invited: 0 };
    case 'revoke':
    case 'cancel':
      return {
        seats: -seated.length,
        agents: -seated.filter((m) => m.agentAccess).length,
        invited: -seated.filter((m) => m.status === 'invited').length,
      };
    default:
      return { seats: 0, agents: 0, invited: 0 };
  }
}

const RULE_REASON: Record<string, BulkSkipReason> = {
  SELF_ACTION_FORBIDDEN: 'self',
  OWNER_PROTECTED: 'owner_protected',
  BILLING_CONTACT_PROTECTED: 'billing_contact_protected',
};

function skipReason(
  request: BulkRequest,
  target: Target,
  facts: { ownerId: string; billingContactId: string },
  actorId: string,
  member: BulkMember,
): BulkSkipReason | null {
  switch (request.action) {
    case 'role': {
      const violation = checkRoleChange(facts, member, target.role!.id);
      if (violation) return RULE_REASON[violation] ?? 'owner_protected';
      // Your own role is changed on your profile, one step you see the effect of (not in a sweep).
      if (member.id === actorId) return 'self';
      return member.roleId === target.role!.id ? 'already' : null;
    }
    case 'agentAccess':
      return member.agentAccess === request.agentAccess ? 'already' : null;
    case 'addTeam':
      return member.teamIds.includes(target.team!.id) ? 'already' : null;
    case 'removeTeam':
      return member.teamIds.includes(target.team!.id) ? null : 'already';
    case 'revoke': {
      const violation = checkRemoval(facts, { id: actorId }, member);
      if (violation) return RULE_REASON[violation] ?? 'wrong_status';
      if (member.status === 'revoked') return 'already';
      return member.status === 'invited' ? 'wrong_status' : null;
    }
    case 'resend':
      return member.status === 'invited' ? null : 'wrong_status';
    case 'cancel': {
      const violation = checkRemoval(facts, { id: actorId }, member);
      if (violation) return RULE_REASON[violation] ?? 'wrong_status';
      return member.status === 'invited' ? null : 'wrong_status';
    }
  }
}

function skipMessage(request: BulkRequest, target: Target, reason: BulkSkipReason, member: BulkMember): string {
  const who = member.name || member.email;
  switch (reason) {
    case 'not_found':
      return 'No such member in this account';
    case 'self':
      return 'You: change your own role on your profile';
    case 'owner_protected':
      return `${who} is the account owner (always Admin, never revoked): transfer ownership first`;
    case 'billing_contact_protected':
      return `${who} is the billing contact: transfer the billing contact first`;
    case 'already':
      switch (request.action) {
        case 'role':
          return `${who} already has the ${target.role!.name} role`;
        case 'agentAccess':
          return `${who} already ${request.agentAccess ? 'has' : 'lacks'} Talk access`;
        case 'addTeam':
          return `${who} is already in ${target.team!.name}`;
        case 'removeTeam':
          return `${who} is not in ${target.team!.name}`;
        default:
          return `${who} is already revoked`;
      }
    case 'wrong_status':
      if (request.action === 'revoke') return `${who} has not joined yet: cancel the invitation instead`;
      return member.status === 'revoked' ? `${who} is revoked, not invited` : `${who} has already joined`;
  }
}
