import { Body, Inject, Param } from '@nestjs/common';
import {
  createApiKeySchema,
  createServiceAccountSchema,
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
import { Acting, Auth, Change, type RequestAuth } from '../database/request-auth.js';
import { ApiKeyRoute } from '../common/access.js';
import { DeleteRoute, GetRoute, IdParam, PatchRoute, PostRoute, type IdParams } from '../common/routes.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { ServiceAccountsService } from './service-accounts.service.js';

/** Service accounts and API keys (README, "Service accounts and API keys"): `users.manage`. */
@ApiController('service-accounts')
export class ServiceAccountsController {
  constructor(@Inject(ServiceAccountsService) private readonly serviceAccounts: ServiceAccountsService) {}

  @GetRoute('', 'users.manage')
  async list(@Auth() auth: RequestAuth): Promise<ListDto<ServiceAccountDto>> {
    return { items: await this.serviceAccounts.list(auth) };
  }

  /** Who an API key is: its service account, account, role and permissions (a key's GET /me). */
  @GetRoute('self', 'session')
  @ApiKeyRoute()
  self(@Auth() auth: RequestAuth): Promise<ServiceAccountSelfDto> {
    return this.serviceAccounts.self(auth);
  }

  @PostRoute('', 'users.manage')
  @ApiJsonBody(createServiceAccountSchema, 'Create a service account holding a role')
  create(
    @Acting() { auth, actor }: Acting,
    @Body({ schema: createServiceAccountSchema }) body: CreateServiceAccountRequest,
  ): Promise<ServiceAccountDto> {
    return this.serviceAccounts.create(auth, actor, body);
  }

  @GetRoute(':id', 'users.manage')
  get(@Auth() auth: RequestAuth, @IdParam() { id }: IdParams): Promise<ServiceAccountDto> {
    return this.serviceAccounts.get(auth, id);
  }

  @PatchRoute(':id', 'users.manage')
  @ApiJsonBody(updateServiceAccountSchema, 'Rename or change the role (If-Match required)')
  update(
    @Change() { auth, actor, ifMatch }: Change,
    @IdParam() { id }: IdParams,
    @Body({ schema: updateServiceAccountSchema }) body: UpdateServiceAccountRequest,
  ): Promise<ServiceAccountDto> {
    return this.serviceAccounts.update(auth, actor, id, ifMatch, body);
  }

  /** Deletes the service account; every key of it stops at once. */
  @DeleteRoute(':id', 'users.manage')
  remove(@Acting() { auth, actor }: Acting, @IdParam() { id }: IdParams): Promise<void> {
    return this.serviceAccounts.remove(auth, actor, id, null);
  }

  @PostRoute(':id/keys', 'users.manage')
  @ApiJsonBody(createApiKeySchema, 'Issue an API key; the answer shows it once')
  issueKey(
    @Acting() { auth, actor }: Acting,
    @IdParam() { id }: IdParams,
    @Body({ schema: createApiKeySchema }) body: CreateApiKeyRequest,
  ): Promise<ApiKeyWithSecretDto> {
    return this.serviceAccounts.issueKey(auth, actor, id, body ?? {});
  }

  @DeleteRoute(':id/keys/:keyId', 'users.manage')
  revokeKey(
    @Acting() { auth, actor }: Acting,
    @Param({ schema: serviceAccountKeyParamSchema }) params: { id: string; keyId: string },
  ): Promise<void> {
    return this.serviceAccounts.revokeKey(auth, actor, params.id, params.keyId);
  }
}
