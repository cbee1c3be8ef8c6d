import { Body, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from '@nestjs/common';
import {
  bulkMembersSchema,
  dryRunQuerySchema,
  idParamSchema,
  listMembersQuerySchema,
  updateMemberSchema,
  type BulkMembersRequest,
  type BulkPreviewDto,
  type BulkResultDto,
  type ListDto,
  type MemberDetailDto,
  type MemberDto,
  type MemberPageDto,
  type MemberSessionDto,
  type UpdateMemberRequest,
} from '@rolecall/contracts';
import type { z } from 'zod';
import type { Actor } from '../database/activity.service.js';
import { Auth, CurrentActor, type RequestAuth } from '../database/request-auth.js';
import { Requires } from '../common/access.js';
import { IfMatch } from '../common/if-match.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { BulkMembersService } from './bulk.service.js';
import { memberFilterOf } from './members-export.js';
import { MembersService } from './members.service.js';
import { TwoFactorReset } from './two-factor-reset.service.js';

type ListQuery = z.output<typeof listMembersQuerySchema>;

@ApiController('users')
export class MembersController {
  constructor(
    @Inject(MembersService) private readonly members: MembersService,
    @Inject(TwoFactorReset) private readonly twoFactor: TwoFactorReset,
    @Inject(BulkMembersService) private readonly bulkMembers: BulkMembersService,
  ) {}

  /**
   * One action on many members (issue 17 §2): `ids` or `filter` (the list's filters), all or nothing
   * under the account lock; members the single-member rules refuse are skipped with the reason. No
   * If-Match (there is no one version): the members are judged as they are under the lock, and a
   * dry run (`?dryRun=true`, 200) shows what that would be. A literal path: `/users/:id` routes have
   * no POST of one segment, so nothing shadows it.
   */
  @Post('bulk')
  @HttpCode(200)
  @Requires('users.manage')
  @ApiJsonBody(
    bulkMembersSchema,
    'Change role, Talk access or teams, revoke, resend or cancel invitations of many members; ?dryRun=true previews',
  )
  bulk(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Query({ schema: dryRunQuerySchema }) query: z.output<typeof dryRunQuerySchema>,
    @Body({ schema: bulkMembersSchema }) body: BulkMembersRequest,
  ): Promise<BulkResultDto | BulkPreviewDto> {
    return this.bulkMembers.run(auth, actor, body as z.output<typeof bulkMembersSchema>, query.dryRun);
  }

  @Get()
  @Requires('users.view')
  list(@Auth() auth: RequestAuth, @Query({ schema: listMembersQuerySchema }) query: ListQuery): Promise<MemberPageDto> {
    return this.members.list(auth, {
      ...memberFilterOf(query, auth.account),
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
  }

  @Get(':id')
  @Requires('users.view')
  get(@Auth() auth: RequestAuth, @Param({ schema: idParamSchema }) params: { id: string }): Promise<MemberDetailDto> {
    return this.members.get(auth, params.id);
  }

  @Patch(':id')
  @Requires('users.manage')
  @ApiJsonBody(updateMemberSchema, 'Change role, agent access or teams (If-Match required)')
  update(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
    @Body({ schema: updateMemberSchema }) body: UpdateMemberRequest,
  ): Promise<MemberDto> {
    return this.members.update(auth, actor, params.id, ifMatch, body);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @Requires('users.manage')
  revoke(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
  ): Promise<MemberDto> {
    return this.members.revoke(auth, actor, params.id, ifMatch);
  }

  @Post(':id/reactivate')
  @HttpCode(200)
  @Requires('users.manage')
  reactivate(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
  ): Promise<MemberDto> {
    return this.members.reactivate(auth, actor, params.id, ifMatch);
  }

  @Post(':id/resend-invitation')
  @HttpCode(200)
  @Requires('users.manage')
  resend(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
  ): Promise<MemberDto> {
    return this.members.resendInvitation(auth, actor, params.id, ifMatch);
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
    return this.members.remove(auth, actor, params.id, ifMatch);
  }

  @Get(':id/sessions')
  @Requires('users.manage')
  async sessions(
    @Auth() auth: RequestAuth,
    @Param({ schema: idParamSchema }) params: { id: string },
  ): Promise<ListDto<MemberSessionDto>> {
    return { items: await this.members.listSessions(auth, params.id) };
  }

  /** Resets the member's 2FA (they enrol again; their password waits for a mailed link). `If-Match` on the member, whose version stays. */
  @Delete(':id/2fa')
  @HttpCode(204)
  @Requires('users.manage')
  resetTwoFactor(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
  ): Promise<void> {
    return this.twoFactor.reset(auth, actor, params.id, ifMatch);
  }

  @Delete(':id/sessions')
  @HttpCode(204)
  @Requires('users.manage')
  endSessions(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
  ): Promise<void> {
    return this.members.endSessions(auth, actor, params.id, ifMatch);
  }
}
