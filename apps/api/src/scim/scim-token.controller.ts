import { Controller, Inject } from '@nestjs/common';
import { DeleteRoute, GetRoute, PostRoute } from '../common/routes.js';
import { Acting, Auth, type RequestAuth } from '../database/request-auth.js';
import { DomainError } from '../common/domain-error.js';
import { ScimError } from './scim-errors.js';
import { ScimService, type ScimTokenStatus } from './scim.service.js';

/**
 * The account's SCIM token (issue 16 §2): made on the Account page, shown once, stored hashed; a new
 * one replaces the old at once; DELETE turns SCIM off. Answers in the API's error shape.
 */
@Controller('account/scim-token')
export class ScimTokenController {
  constructor(@Inject(ScimService) private readonly scim: ScimService) {}

  @GetRoute('', 'account.manage')
  status(@Auth() auth: RequestAuth): Promise<ScimTokenStatus> {
    return this.scim.tokenStatus(auth.account.id);
  }

  @PostRoute('', 'account.manage')
  issue(@Acting() { auth, actor }: Acting): Promise<{ token: string; baseUrl: string; createdAt: string }> {
    return this.scim.issueToken(auth, actor);
  }

  @DeleteRoute('', 'account.manage')
  async revoke(@Acting() { auth, actor }: Acting): Promise<void> {
    try {
      await this.scim.revokeToken(auth, actor);
    } catch (error) {
      if (error instanceof ScimError) throw new DomainError('NOT_FOUND', error.detail);
      throw error;
    }
  }
}
