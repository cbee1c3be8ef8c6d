import { Inject, Injectable } from '@nestjs/common';
import type { TeamDto } from '@rolecall/contracts';
import { allowsTeams, planLimits } from '@rolecall/domain';
import { randomUUID } from 'node:crypto';
import type { AccountEntity } from '../database/entities/account.entity.js';
import { AccountMutations, type MutationContext } from '../database/account-mutation.js';
import type { Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { Clock } from '../common/clock.js';
import { DomainError, notFound } from '../common/domain-error.js';
import { versionMismatch } from '../common/if-match.js';
import { Database } from '../database/database.service.js';
import { MemberTeamEntity, TeamEntity } from '../database/entities/team.entity.js';
import { teamDto } from '../database/teams.dto.js';
import { publishTeamChanged } from '../database/committed-events.js';
import { assertNameFree } from '../database/unique-names.js';

/** Talk teams: only when the plan has them and the account turned them on. */
@Injectable()
export class TeamsService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async list(auth: RequestAuth): Promise<TeamDto[]> {
    return this.db.read(async (manager) => {
      const teams = await manager
        .getRepository(TeamEntity)
        .find({ where: { accountId: auth.account.id }, order: { nameKey: 'ASC' } });
      return Promise.all(teams.map((team) => teamDto(manager, team)));
    });
  }

  private assertEnabled(account: AccountEntity): void {
    if (!allowsTeams(account.plan))
      throw new DomainError('PLAN_FEATURE_UNAVAILABLE', `The ${account.plan} plan has no Talk teams`);
    if (!account.teamsEnabled)
      throw new DomainError(
        'CONFLICT',
        'Talk teams are turned off for this account; turn them on in the account settings',
      );
  }

  async create(auth: RequestAuth, actor: Actor, name: string): Promise<TeamDto> {
    return this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      this.assertEnabled(account);
      const limit = planLimits(account.plan).teams;
      const count = await tx.manager.getRepository(TeamEntity).countBy({ accountId: account.id });
      if (count >= limit)
        throw new DomainError('PLAN_FEATURE_UNAVAILABLE', `The ${account.plan} plan allows ${limit} Talk teams`, {
          limit,
          used: count,
        });
      await assertNameFree(tx.manager, TeamEntity, { accountId: account.id, name });
      const team = tx.manager.getRepository(TeamEntity).create({
        id: randomUUID(),
        accountId: account.id,
        name,
        nameKey: name.toLowerCase(),
        version: 1,
        createdAt: this.clock.now().toISOString(),
      });
      await tx.manager.getRepository(TeamEntity).insert(team);
      const entry = await log({
        action: 'team.created',
        target: { type: 'team', id: team.id, label: name },
        changes: { name: { after: name } },
      });
      await publishTeamChanged(tx, 'team.changed', account.id, team.id, entry.seq);
      return teamDto(tx.manager, team);
    });
  }

  private async forChange(context: MutationContext, id: string, ifMatch: number): Promise<TeamEntity> {
    const team = await context.tx.manager.getRepository(TeamEntity).findOneBy({ id, accountId: context.account.id });
    if (!team) throw notFound('Team');
    if (team.version !== ifMatch) throw versionMismatch(await teamDto(context.tx.manager, team));
    return team;
  }

  async rename(auth: RequestAuth, actor: Actor, id: string, ifMatch: number, name: string): Promise<TeamDto> {
    return this.mutations.run(auth, actor, async (context) => {
      const { tx, account, log } = context;
      const team = await this.forChange(context, id, ifMatch);
      if (team.name === name) return teamDto(tx.manager, team);
      await assertNameFree(tx.manager, TeamEntity, { accountId: account.id, name, exceptId: team.id });
      const before = team.name;
      Object.assign(team, { name, nameKey: name.toLowerCase(), version: team.version + 1 });
      await tx.manager
        .getRepository(TeamEntity)
        .update({ id: team.id }, { name, nameKey: team.nameKey, version: team.version });
      const entry = await log({
        action: 'team.updated',
        target: { type: 'team', id: team.id, label: name },
        changes: { name: { before, after: name } },
      });
      await publishTeamChanged(tx, 'team.changed', account.id, team.id, entry.seq);
      return teamDto(tx.manager, team);
    });
  }

  /** Deleting a team removes it from its members (they keep everything else). */
  async remove(auth: RequestAuth, actor: Actor, id: string, ifMatch: number): Promise<void> {
    await this.mutations.run(auth, actor, async (context) => {
      const { tx, account, log } = context;
      const team = await this.forChange(context, id, ifMatch);
      const members = await tx.manager.getRepository(MemberTeamEntity).countBy({ teamId: team.id });
      await tx.manager.getRepository(TeamEntity).delete({ id: team.id });
      const entry = await log({
        action: 'team.deleted',
        target: { type: 'team', id: team.id, label: team.name },
        changes: { name: { before: team.name, after: null }, membersRemoved: members },
      });
      await publishTeamChanged(tx, 'team.removed', account.id, team.id, entry.seq);
    });
  }
}
