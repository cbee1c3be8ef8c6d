import { Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { idParamSchema, type MemberPermissionsDto, type RolePreviewDto } from '@rolecall/contracts';
import type { Actor } from '../database/activity.service.js';
import { Auth, CurrentActor, type RequestAuth } from '../database/request-auth.js';
import { Requires } from '../common/access.js';
import { ViewAsService } from './view-as.service.js';
import { ApiController } from '../common/openapi.js';

/** "What can <name> do" and "Preview the dashboard as <role>" (issue 17 §4). */
@ApiController({ tags: ['users', 'roles'] })
export class ViewAsController {
  constructor(@Inject(ViewAsService) private readonly viewAs: ViewAsService) {}

  /** The member's effective permissions, where each comes from, and what the role grants that they do not get. */
  @Get('users/:id/permissions')
  @Requires('users.view')
  memberPermissions(
    @Auth() auth: RequestAuth,
    @Param({ schema: idParamSchema }) params: { id: string },
  ): Promise<MemberPermissionsDto> {
    return this.viewAs.memberPermissions(auth, params.id);
  }

  /** Logs `role.previewed` and answers the role's keys; the dashboard previews read-only with them (no session is made). */
  @Post('roles/:id/preview')
  @HttpCode(200)
  @Requires('roles.view')
  preview(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
  ): Promise<RolePreviewDto> {
    return this.viewAs.preview(auth, actor, params.id);
  }
}
