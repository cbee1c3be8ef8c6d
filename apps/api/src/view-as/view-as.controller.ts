import { Inject } from '@nestjs/common';
import { type MemberPermissionsDto, type RolePreviewDto } from '@rolecall/contracts';
import { Acting, Auth, type RequestAuth } from '../database/request-auth.js';
import { GetRoute, IdParam, PostAction, type IdParams } from '../common/routes.js';
import { ViewAsService } from './view-as.service.js';
import { ApiController } from '../common/openapi.js';

/** "What can <name> do" and "Preview the dashboard as <role>" (issue 17 §4). */
@ApiController({ tags: ['users', 'roles'] })
export class ViewAsController {
  constructor(@Inject(ViewAsService) private readonly viewAs: ViewAsService) {}

  /** The member's effective permissions, where each comes from, and what the role grants that they do not get. */
  @GetRoute('users/:id/permissions', 'users.view')
  memberPermissions(@Auth() auth: RequestAuth, @IdParam() { id }: IdParams): Promise<MemberPermissionsDto> {
    return this.viewAs.memberPermissions(auth, id);
  }

  /** Logs `role.previewed` and answers the role's keys; the dashboard previews read-only with them (no session is made). */
  @PostAction('roles/:id/preview', 'roles.view')
  preview(@Acting() { auth, actor }: Acting, @IdParam() { id }: IdParams): Promise<RolePreviewDto> {
    return this.viewAs.preview(auth, actor, id);
  }
}
