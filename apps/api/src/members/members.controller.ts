import { Body, Inject, Query } from '@nestjs/common';
import {
  bulkMembersSchema,
  dryRunQuerySchema,
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
import { Acting, Auth, Change, type RequestAuth } from '../database/request-auth.js';
import { DeleteRoute, GetRoute, IdParam, PatchRoute, PostAction, type IdParams } from '../common/routes.js';
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
  @PostAction('bulk', 'users.manage')
  @ApiJsonBody(
    bulkMembersSchema,
    'Change role, Talk access or teams, revoke, resend or cancel invitations of many members; ?dryRun=true previews',
  )
  bulk(
    @Acting() { auth, actor }: Acting,
    @Query({ schema: dryRunQuerySchema }) query: z.output<typeof dryRunQuerySchema>,
    @Body({ schema: bulkMembersSchema }) body: BulkMembersRequest,
  ): Promise<BulkResultDto | BulkPreviewDto> {
    return this.bulkMembers.run(auth, actor, body as z.output<typeof bulkMembersSchema>, query.dryRun);
  }

  @GetRoute('', 'users.view')
  list(@Auth() auth: RequestAuth, @Query({ schema: listMembersQuerySchema }) query: ListQuery): Promise<MemberPageDto> {
    return this.members.list(auth, {
      ...memberFilterOf(query, auth.account),
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
  }

  @GetRoute(':id', 'users.view')
  get(@Auth() auth: RequestAuth, @IdParam() { id }: IdParams): Promise<MemberDetailDto> {
    return this.members.get(auth, id);
  }

  @PatchRoute(':id', 'users.manage')
  @ApiJsonBody(updateMemberSchema, 'Change role, agent access or teams (If-Match required)')
  update(
    @Change() { auth, actor, ifMatch }: Change,
    @IdParam() { id }: IdParams,
    @Body({ schema: updateMemberSchema }) body: UpdateMemberRequest,
  ): Promise<MemberDto> {
    return this.members.update(auth, actor, id, ifMatch, body);
  }

  @PostAction(':id/revoke', 'users.manage')
  revoke(@Change() { auth, actor, ifMatch }: Change, @IdParam() { id }: IdParams): Promise<MemberDto> {
    return this.members.revoke(auth, actor, id, ifMatch);
  }

  @PostAction(':id/reactivate', 'users.manage')
  reactivate(@Change() { auth, actor, ifMatch }: Change, @IdParam() { id }: IdParams): Promise<MemberDto> {
    return this.members.reactivate(auth, actor, id, ifMatch);
  }

  @PostAction(':id/resend-invitation', 'users.manage')
  resend(@Change() { auth, actor, ifMatch }: Change, @IdParam() { id }: IdParams): Promise<MemberDto> {
    return this.members.resendInvitation(auth, actor, id, ifMatch);
  }

  @DeleteRoute(':id', 'users.manage')
  remove(@Change() { auth, actor, ifMatch }: Change, @IdParam() { id }: IdParams): Promise<void> {
    return this.members.remove(auth, actor, id, ifMatch);
  }

  @GetRoute(':id/sessions', 'users.manage')
  async sessions(@Auth() auth: RequestAuth, @IdParam() { id }: IdParams): Promise<ListDto<MemberSessionDto>> {
    return { items: await this.members.listSessions(auth, id) };
  }

  /** Resets the member's 2FA (they enrol again; their password waits for a mailed link). `If-Match` on the member, whose version stays. */
  @DeleteRoute(':id/2fa', 'users.manage')
  resetTwoFactor(@Change() { auth, actor, ifMatch }: Change, @IdParam() { id }: IdParams): Promise<void> {
    return this.twoFactor.reset(auth, actor, id, ifMatch);
  }

  @DeleteRoute(':id/sessions', 'users.manage')
  endSessions(@Change() { auth, actor, ifMatch }: Change, @IdParam() { id }: IdParams): Promise<void> {
    return this.members.endSessions(auth, actor, id, ifMatch);
  }
}
