import { Inject, Injectable } from '@nestjs/common';
import type { AccountEvent, SyncResult } from '@rolecall/contracts';
import type { EntityManager } from 'typeorm';
import { AccountEntity } from '../accounts/account.entity.js';
import { loadAccountDto } from '../accounts/accounts.dto.js';
import type { ActivityEntity } from '../activity/activity.entity.js';
import { ActivityService } from '../activity/activity.service.js';
import { Database } from '../database/database.service.js';
import { MemberEntity } from '../members/member.entity.js';
import { loadMemberDtos } from '../members/members.dto.js';
import { RoleEntity } from '../roles/role.entity.js';
import { RolesService } from '../roles/roles.service.js';
import { TeamEntity } from '../teams/team.entity.js';
import { TeamsService } from '../teams/teams.service.js';

/** A client further behind than this reloads instead of replaying. */
export const SYNC_LIMIT = 500;

/**
 * Builds account events for the live layer: from a domain change as it commits, or from the
 * activity log for a client that missed some (`sync`). Replayed events carry the resource as it
 * is now, with the seq of the entry that changed it.
 */
@Injectable()
export class LiveSync {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(ActivityService) private readonly activity: ActivityService,
    @Inject(RolesService) private readonly roles: RolesService,
    @Inject(TeamsService) private readonly teams: TeamsService,
  ) {}

  async since(accountId: string, afterSeq: number): Promise<SyncResult | { resync: true }> {
    const account = await this.db.read((m) => m.getRepository(AccountEntity).findOneByOrFail({ id: accountId }));
    if (afterSeq > account.activitySeq || account.activitySeq - afterSeq > SYNC_LIMIT) return { resync: true };
    const entries = await this.activity.since(accountId, afterSeq, SYNC_LIMIT);
    const events = await this.db.read(async (manager) => {
      const out: AccountEvent[] = [];
      for (const entry of entries) out.push(...(await this.eventsFor(manager, account, entry)));
      return out;
    });
    return { events, seq: account.activitySeq };
  }

  async memberEvent(manager: EntityManager, account: AccountEntity, memberId: string, seq: number): Promise<AccountEvent> {
    const member = await manager.getRepository(MemberEntity).findOneBy({ id: memberId, accountId: account.id });
    if (!member) return { event: 'user.removed', data: { seq, id: memberId } };
    const [dto] = await loadMemberDtos(manager, account, [member]);
    return { event: 'user.upserted', data: { seq, member: dto! } };
  }

  async roleEvent(manager: EntityManager, accountId: string, roleId: string, seq: number): Promise<AccountEvent> {
    const role = await manager.getRepository(RoleEntity).findOneBy({ id: roleId, accountId });
    if (!role) return { event: 'role.removed', data: { seq, id: roleId } };
    return { event: 'role.upserted', data: { seq, role: await this.roles.dto(manager, accountId, role) } };
  }

  async teamEvent(manager: EntityManager, accountId: string, teamId: string, seq: number): Promise<AccountEvent> {
    const team = await manager.getRepository(TeamEntity).findOneBy({ id: teamId, accountId });
    if (!team) return { event: 'team.removed', data: { seq, id: teamId } };
    return { event: 'team.upserted', data: { seq, team: await this.teams.toDto(manager, team) } };
  }

  async accountEvent(manager: EntityManager, accountId: string, seq: number): Promise<AccountEvent> {
    const account = await manager.getRepository(AccountEntity).findOneByOrFail({ id: accountId });
    return { event: 'account.updated', data: { seq, account: await loadAccountDto(manager, account) } };
  }

  /** The account events an activity entry stands for (none for sign-ins and sign-outs). */
  private async eventsFor(manager: EntityManager, account: AccountEntity, entry: ActivityEntity): Promise<AccountEvent[]> {
    const seq = entry.seq;
    const target = entry.targetId;
    switch (entry.action) {
      case 'ownership.transferred':
      case 'billing.transferred': {
        const before = (entry.changes?.['ownerId'] ?? entry.changes?.['billingContactId']) as { before?: string } | undefined;
        const members = [before?.before, target].filter((id): id is string => typeof id === 'string');
        return [await this.accountEvent(manager, account.id, seq), ...(await Promise.all(members.map((id) => this.memberEvent(manager, account, id, seq))))];
      }
      case 'roles.reordered':
        return [{ event: 'roles.reordered', data: { seq, roleIds: ((entry.changes?.['roleIds'] as { after?: string[] } | undefined)?.after ?? []) } }];
      // 2FA turned on or off, or removed by a claimed email (which may rename the person too): the member JSON changed.
      case 'person.2fa_enabled':
      case 'person.2fa_disabled':
      case 'person.email_claimed':
        return entry.actorMemberId ? [await this.memberEvent(manager, account, entry.actorMemberId, seq)] : [];
      case 'session.signed_in':
      case 'session.signed_out':
        return [];
      default:
        break;
    }
    if (!target) return [];
    switch (entry.targetType) {
      case 'member':
        return [await this.memberEvent(manager, account, target, seq)];
      case 'role':
        return [await this.roleEvent(manager, account.id, target, seq)];
      case 'team':
        return [await this.teamEvent(manager, account.id, target, seq)];
      case 'account':
        return [await this.accountEvent(manager, account.id, seq)];
      default:
        return [];
    }
  }
}
