import { Body, Delete, Get, HttpCode, Inject, Param, Patch, Post } from '@nestjs/common';
import { idParamSchema, teamSchema, type ListDto, type TeamDto, type TeamRequest } from '@rolecall/contracts';
import type { Actor } from '../database/activity.service.js';
import { Auth, CurrentActor, type RequestAuth } from '../database/request-auth.js';
import { Requires } from '../common/access.js';
import { IfMatch } from '../common/if-match.js';
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
  create(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Body({ schema: teamSchema }) body: TeamRequest,
  ): Promise<TeamDto> {
    return this.teams.create(auth, actor, body.name);
  }

  @Patch(':id')
  @Requires('users.manage')
  @ApiJsonBody(teamSchema, 'Rename a Talk team (If-Match required)')
  rename(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
    @Body({ schema: teamSchema }) body: TeamRequest,
  ): Promise<TeamDto> {
    return this.teams.rename(auth, actor, params.id, ifMatch, body.name);
  }

  @Delete(':id')
  @HttpCode(204)
  @Requires('users.manage')
  remove(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
  ): Promise<void> {
    return this.teams.remove(auth, actor, params.id, ifMatch);
  }
}
