import { Body, Inject, Param, Query, Req, Res } from '@nestjs/common';
import {
  acceptInvitationSchema,
  dryRunQuerySchema,
  invitationTokenParamSchema,
  inviteSchema,
  type AcceptInvitationRequest,
  type AcceptInvitationResultDto,
  type InvitationInfoDto,
  type InvitationPreviewDto,
  type ListDto,
  type MemberDto,
} from '@rolecall/contracts';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { RateLimitService } from '../infra/rate-limit.service.js';
import { Acting, requestMeta, tokenOf } from '../database/request-auth.js';
import { SignsIn } from '../infra/session-cookie.js';
import { GetRoute, PostAction, PostRoute } from '../common/routes.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { InvitationsService } from './invitations.service.js';

@ApiController({ tags: ['invitations'] })
export class InvitationsController {
  constructor(
    @Inject(InvitationsService) private readonly invitations: InvitationsService,
    @Inject(RateLimitService) private readonly limits: RateLimitService,
  ) {}

  /** 201 with the invited members; `?dryRun=true` answers 200 with the usage after the change. */
  @PostRoute('users/invitations', 'users.manage')
  @ApiJsonBody(inviteSchema, 'Invite 1–50 emails with one role, agent access and teams (all or nothing)')
  async invite(
    @Acting() { auth, actor }: Acting,
    @Query({ schema: dryRunQuerySchema }) query: z.output<typeof dryRunQuerySchema>,
    @Body({ schema: inviteSchema }) body: z.output<typeof inviteSchema>,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ListDto<MemberDto> | InvitationPreviewDto> {
    if (query.dryRun) {
      response.status(200);
      return this.invitations.preview(auth, body);
    }
    await this.limits.consume('invitations', auth.account.id);
    return { items: await this.invitations.invite(auth, actor, body) };
  }

  @GetRoute('invitations/:token', 'public')
  async info(
    @Param({ schema: invitationTokenParamSchema }) params: { token: string },
    @Req() request: Request,
  ): Promise<InvitationInfoDto> {
    await this.limits.consume('acceptance', request.ip ?? 'unknown');
    return this.invitations.info(params.token);
  }

  @PostAction('invitations/accept', 'public')
  @ApiJsonBody(
    acceptInvitationSchema,
    'Accept: a new person sets name and password; an existing person must be signed in as that email',
  )
  @SignsIn()
  async accept(
    @Body({ schema: acceptInvitationSchema }) body: AcceptInvitationRequest,
    @Req() request: Request,
  ): Promise<AcceptInvitationResultDto> {
    await this.limits.consume('acceptance', request.ip ?? 'unknown');
    return this.invitations.accept(body, tokenOf(request), requestMeta(request));
  }
}
