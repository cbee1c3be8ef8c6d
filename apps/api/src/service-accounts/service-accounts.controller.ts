import { Body, Delete, Get, HttpCode, Inject, Param, Patch, Post } from '@nestjs/common';
import {
  createApiKeySchema,
  createServiceAccountSchema,
  idParamSchema,
  serviceAccountKeyParamSchema,
  updateServiceAccountSchema,
  type ApiKeyWithSecretDto,
  type CreateApiKeyRequest,
  type CreateServiceAccountRequest,
  type ListDto,
  type ServiceAccountDto,
  type ServiceAccountSelfDto,
  type UpdateServiceAccountRequest,
} from '@rolecall/contracts';
import type { Actor } from '../database/activity.service.js';
import { Auth, CurrentActor, type RequestAuth } from '../database/request-auth.js';
import { ApiKeyRoute, Requires } from '../common/access.js';
import { IfMatch } from '../common/if-match.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { ServiceAccountsService } from './service-accounts.service.js';

/** Service accounts and API keys (README, "Service accounts and API keys"): `users.manage`. */
@ApiController('service-accounts')
export class ServiceAccountsController {
  constructor(@Inject(ServiceAccountsService) private readonly serviceAccounts: ServiceAccountsService) {}

  @Get()
  @Requires('users.manage')
  async list(@Auth() auth: RequestAuth): Promise<ListDto<ServiceAccountDto>> {
    return { items: await this.serviceAccounts.list(auth) };
  }

  /** Who an API key is: its service account, account, role and permissions (a key's GET /me). */
  @Get('self')
  @Requires('session')
  @ApiKeyRoute()
  self(@Auth() auth: RequestAuth): Promise<ServiceAccountSelfDto> {
    return this.serviceAccounts.self(auth);
  }

  @Post()
  @Requires('users.manage')
  @ApiJsonBody(createServiceAccountSchema, 'Create a service account holding a role')
  create(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Body({ schema: createServiceAccountSchema }) body: CreateServiceAccountRequest,
  ): Promise<ServiceAccountDto> {
    return this.serviceAccounts.create(auth, actor, body);
  }

  @Get(':id')
  @Requires('users.manage')
  get(@Auth() auth: RequestAuth, @Param({ schema: idParamSchema }) params: { id: string }): Promise<ServiceAccountDto> {
    return this.serviceAccounts.get(auth, params.id);
  }

  @Patch(':id')
  @Requires('users.manage')
  @ApiJsonBody(updateServiceAccountSchema, 'Rename or change the role (If-Match required)')
  update(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
    @Body({ schema: updateServiceAccountSchema }) body: UpdateServiceAccountRequest,
  ): Promise<ServiceAccountDto> {
    return this.serviceAccounts.update(auth, actor, params.id, ifMatch, body);
  }

  /** Deletes the service account; every key of it stops at once. */
  @Delete(':id')
  @HttpCode(204)
  @Requires('users.manage')
  remove(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
  ): Promise<void> {
    return this.serviceAccounts.remove(auth, actor, params.id, null);
  }

  @Post(':id/keys')
  @Requires('users.manage')
  @ApiJsonBody(createApiKeySchema, 'Issue an API key; the answer shows it once')
  issueKey(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @Body({ schema: createApiKeySchema }) body: CreateApiKeyRequest,
  ): Promise<ApiKeyWithSecretDto> {
    return this.serviceAccounts.issueKey(auth, actor, params.id, body ?? {});
  }

  @Delete(':id/keys/:keyId')
  @HttpCode(204)
  @Requires('users.manage')
  revokeKey(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: serviceAccountKeyParamSchema }) params: { id: string; keyId: string },
  ): Promise<void> {
    return this.serviceAccounts.revokeKey(auth, actor, params.id, params.keyId);
  }
}
