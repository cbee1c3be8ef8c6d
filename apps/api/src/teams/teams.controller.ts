import { Body, Get, Inject, Patch, Post } from '@nestjs/common';
import { teamSchema, type ListDto, type TeamDto, type TeamRequest } from '@rolecall/contracts';
import { Acting, Auth, Change, type RequestAuth } from '../database/request-auth.js';
import { Requires } from '../common/access.js';
import { DeleteRoute, IdParam, type IdParams } from '../common/routes.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { TeamsService } from './teams.service.js';

@ApiController('teams')
export class TeamsController {
  constructor(@Inject(TeamsService) private readonly teams: TeamsService) {}

  @Get()
  @Requires('users.view')
  async list(@Auth() auth: RequestAuth): Promise<ListDto<TeamDto>> {
    return { items: await this.teams.list(auth) };
  }

  @Post()
  @Requires('users.manage')
  @ApiJsonBody(teamSchema, 'Create a Talk team (plan limits apply)')
  create(@Acting() { auth, actor }: Acting, @Body({ schema: teamSchema }) body: TeamRequest): Promise<TeamDto> {
    return this.teams.create(auth, actor, body.name);
  }

  @Patch(':id')
  @Requires('users.manage')
  @ApiJsonBody(teamSchema, 'Rename a Talk team (If-Match required)')
  rename(
    @Change() { auth, actor, ifMatch }: Change,
    @IdParam() { id }: IdParams,
    @Body({ schema: teamSchema }) body: TeamRequest,
  ): Promise<TeamDto> {
    return this.teams.rename(auth, actor, id, ifMatch, body.name);
  }

  @DeleteRoute(':id', 'users.manage')
  remove(@Change() { auth, actor, ifMatch }: Change, @IdParam() { id }: IdParams): Promise<void> {
    return this.teams.remove(auth, actor, id, ifMatch);
  }
}
