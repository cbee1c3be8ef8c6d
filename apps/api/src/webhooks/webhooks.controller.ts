import { Body, Inject, Query } from '@nestjs/common';
import {
  createWebhookSchema,
  listWebhookDeliveriesQuerySchema,
  updateWebhookSchema,
  type CreateWebhookRequest,
  type ListDto,
  type PageDto,
  type UpdateWebhookRequest,
  type WebhookDeliveryDto,
  type WebhookEndpointDto,
  type WebhookWithSecretDto,
} from '@rolecall/contracts';
import type { z } from 'zod';
import { Acting, Auth, Change, type RequestAuth } from '../database/request-auth.js';
import { DeleteRoute, GetRoute, IdParam, PatchRoute, PostAction, PostRoute, type IdParams } from '../common/routes.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { WebhooksService } from './webhooks.service.js';

/** Audit streaming: the account's webhook endpoints (README, "Audit streaming"). Admins only. */
@ApiController('webhooks')
export class WebhooksController {
  constructor(@Inject(WebhooksService) private readonly webhooks: WebhooksService) {}

  @GetRoute('', 'account.manage')
  async list(@Auth() auth: RequestAuth): Promise<ListDto<WebhookEndpointDto>> {
    return { items: await this.webhooks.list(auth) };
  }

  @PostRoute('', 'account.manage')
  @ApiJsonBody(createWebhookSchema, 'Add an endpoint; the answer shows its signing secret once')
  create(
    @Acting() { auth, actor }: Acting,
    @Body({ schema: createWebhookSchema }) body: CreateWebhookRequest,
  ): Promise<WebhookWithSecretDto> {
    return this.webhooks.create(auth, actor, body);
  }

  @GetRoute(':id', 'account.manage')
  get(@Auth() auth: RequestAuth, @IdParam() { id }: IdParams): Promise<WebhookEndpointDto> {
    return this.webhooks.get(auth, id);
  }

  @PatchRoute(':id', 'account.manage')
  @ApiJsonBody(updateWebhookSchema, 'Change the URL, filter, description, or enable/disable (If-Match required)')
  update(
    @Change() { auth, actor, ifMatch }: Change,
    @IdParam() { id }: IdParams,
    @Body({ schema: updateWebhookSchema }) body: UpdateWebhookRequest,
  ): Promise<WebhookEndpointDto> {
    return this.webhooks.update(auth, actor, id, ifMatch, body);
  }

  @DeleteRoute(':id', 'account.manage')
  remove(@Change() { auth, actor, ifMatch }: Change, @IdParam() { id }: IdParams): Promise<void> {
    return this.webhooks.remove(auth, actor, id, ifMatch);
  }

  @PostAction(':id/rotate-secret', 'account.manage')
  rotateSecret(@Change() { auth, actor, ifMatch }: Change, @IdParam() { id }: IdParams): Promise<WebhookWithSecretDto> {
    return this.webhooks.rotateSecret(auth, actor, id, ifMatch);
  }

  /** Retry now: cuts a failing endpoint's back-off short. */
  @PostAction(':id/retry', 'account.manage')
  retry(@Acting() { auth, actor }: Acting, @IdParam() { id }: IdParams): Promise<WebhookEndpointDto> {
    return this.webhooks.retryNow(auth, actor, id);
  }

  @GetRoute(':id/deliveries', 'account.manage')
  deliveries(
    @Auth() auth: RequestAuth,
    @IdParam() { id }: IdParams,
    @Query({ schema: listWebhookDeliveriesQuerySchema }) query: z.output<typeof listWebhookDeliveriesQuerySchema>,
  ): Promise<PageDto<WebhookDeliveryDto>> {
    return this.webhooks.deliveries(auth, id, query);
  }
}
