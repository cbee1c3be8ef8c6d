import type { TeamDto } from '@rolecall/contracts';
import type { EntityManager } from 'typeorm';
import { MemberTeamEntity, type TeamEntity } from './entities/team.entity.js';

/** A Talk team as the API answers it, with its member count. */
export async function teamDto(manager: EntityManager, team: TeamEntity): Promise<TeamDto> {
  const memberCount = await manager.getRepository(MemberTeamEntity).countBy({ teamId: team.id });
  return { id: team.id, name: team.name, memberCount, version: team.version };
}
