import { Body, Inject, Query } from '@nestjs/common';
import {
  changePlanSchema,
  dryRunQuerySchema,
  oktaConnectionSchema,
  transferSchema,
  updateAccountSchema,
  validateAccountSchema,
  type AccountDto,
  type ChangePlanRequest,
  type EnforcementPreviewDto,
  type TransferRequest,
  type UpdateAccountRequest,
} from '@rolecall/contracts';
import type { z } from 'zod';
import { Auth, Change, type RequestAuth } from '../database/request-auth.js';
import { GetRoute, PatchRoute, PostAction, PutRoute } from '../common/routes.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { AccountsService } from './accounts.service.js';

/**
 * The account. Owner-only actions (plan, validation, ownership transfer) also need
 * `account.manage`, which the owner always holds (owner = Admin); the service checks the owner.
 * Billing transfer needs only a session: the service allows the owner and an Admin billing contact.
 */
@ApiController('account')
export class AccountsController {
  constructor(@Inject(AccountsService) private readonly accounts: AccountsService) {}

  @GetRoute('', 'account.view')
  get(@Auth() auth: RequestAuth): Promise<AccountDto> {
    return this.accounts.get(auth);
  }

  @PatchRoute('', 'account.manage')
  @ApiJsonBody(
    updateAccountSchema,
    'Change name, SSO enforcement, required 2FA or Talk teams (If-Match required); ?dryRun=true with authEnforcement lists who would be locked out',
  )
  update(
    @Change() { auth, actor, ifMatch }: Change,
    @Query({ schema: dryRunQuerySchema }) query: z.output<typeof dryRunQuerySchema>,
    @Body({ schema: updateAccountSchema }) body: UpdateAccountRequest,
  ): Promise<AccountDto | EnforcementPreviewDto> {
    return this.accounts.update(auth, actor, ifMatch, body, query.dryRun);
  }

  @PutRoute('okta', 'account.manage')
  @ApiJsonBody(
    oktaConnectionSchema,
    "Enterprise: connect the account's Okta (issuer, client id, client secret — stored encrypted, never shown); If-Match required",
  )
  setOkta(
    @Change() { auth, actor, ifMatch }: Change,
    @Body({ schema: oktaConnectionSchema }) body: z.output<typeof oktaConnectionSchema>,
  ): Promise<AccountDto> {
    return this.accounts.setOkta(auth, actor, ifMatch, body);
  }

  @PostAction('plan', 'account.manage')
  @ApiJsonBody(changePlanSchema, 'Owner only: change the plan (refused below current usage)')
  changePlan(
    @Change() { auth, actor, ifMatch }: Change,
    @Body({ schema: changePlanSchema }) body: ChangePlanRequest,
  ): Promise<AccountDto> {
    return this.accounts.changePlan(auth, actor, ifMatch, body.plan);
  }

  @PostAction('validation', 'account.manage')
  @ApiJsonBody(validateAccountSchema, "Owner only: validate the account with the owner's phone (E.164)")
  validate(
    @Change() { auth, actor, ifMatch }: Change,
    @Body({ schema: validateAccountSchema }) body: z.output<typeof validateAccountSchema>,
  ): Promise<AccountDto> {
    return this.accounts.validate(auth, actor, ifMatch, body.phone);
  }

  @PostAction('transfer-ownership', 'account.manage')
  @ApiJsonBody(transferSchema, 'Owner only: make another active member the owner (they become Admin)')
  transferOwnership(
    @Change() { auth, actor, ifMatch }: Change,
    @Body({ schema: transferSchema }) body: TransferRequest,
  ): Promise<AccountDto> {
    return this.accounts.transferOwnership(auth, actor, ifMatch, body.memberId);
  }

  @PostAction('transfer-billing', 'session')
  @ApiJsonBody(
    transferSchema,
    'Owner, or the billing contact if Admin: hand the billing contact to another active member',
  )
  transferBilling(
    @Change() { auth, actor, ifMatch }: Change,
    @Body({ schema: transferSchema }) body: TransferRequest,
  ): Promise<AccountDto> {
    return this.accounts.transferBilling(auth, actor, ifMatch, body.memberId);
  }
}
