import { Body, Inject } from '@nestjs/common';
import { teamSchema, type ListDto, type TeamDto, type TeamRequest } from '@rolecall/contracts';
import { Acting, Auth, Change, type RequestAuth } from '../database/request-auth.js';
import { DeleteRoute, GetRoute, IdParam, PatchRoute, PostRoute, type IdParams } from '../common/routes.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { TeamsService } from './teams.service.js';

@ApiController('teams')
export class TeamsController {
  constructor(@Inject(TeamsService) private readonly teams: TeamsService) {}

  @GetRoute('', 'users.view')
  async list(@Auth() auth: RequestAuth): Promise<ListDto<TeamDto>> {
    return { items: await this.teams.list(auth) };
  }

  @PostRoute('', 'users.manage')
  @ApiJsonBody(teamSchema, 'Create a Talk team (plan limits apply)')
  create(@Acting() { auth, actor }: Acting, @Body({ schema: teamSchema }) body: TeamRequest): Promise<TeamDto> {
    return this.teams.create(auth, actor, body.name);
  }

  @PatchRoute(':id', 'users.manage')
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
