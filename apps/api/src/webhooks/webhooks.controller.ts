import { Body, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from '@nestjs/common';
import {
  createWebhookSchema,
  idParamSchema,
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
import type { Actor } from '../database/activity.service.js';
import { Auth, CurrentActor, type RequestAuth } from '../database/request-auth.js';
import { Requires } from '../common/access.js';
import { IfMatch } from '../common/if-match.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { WebhooksService } from './webhooks.service.js';

/** Audit streaming: the account's webhook endpoints (README, "Audit streaming"). Admins only. */
@ApiController('webhooks')
export class WebhooksController {
  constructor(@Inject(WebhooksService) private readonly webhooks: WebhooksService) {}

  @Get()
  @Requires('account.manage')
  async list(@Auth() auth: RequestAuth): Promise<ListDto<WebhookEndpointDto>> {
    return { items: await this.webhooks.list(auth) };
  }

  @Post()
  @Requires('account.manage')
  @ApiJsonBody(createWebhookSchema, 'Add an endpoint; the answer shows its signing secret once')
  create(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Body({ schema: createWebhookSchema }) body: CreateWebhookRequest,
  ): Promise<WebhookWithSecretDto> {
    return this.webhooks.create(auth, actor, body);
  }

  @Get(':id')
  @Requires('account.manage')
  get(
    @Auth() auth: RequestAuth,
    @Param({ schema: idParamSchema }) params: { id: string },
  ): Promise<WebhookEndpointDto> {
    return this.webhooks.get(auth, params.id);
  }

  @Patch(':id')
  @Requires('account.manage')
  @ApiJsonBody(updateWebhookSchema, 'Change the URL, filter, description, or enable/disable (If-Match required)')
  update(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
    @Body({ schema: updateWebhookSchema }) body: UpdateWebhookRequest,
  ): Promise<WebhookEndpointDto> {
    return this.webhooks.update(auth, actor, params.id, ifMatch, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Requires('account.manage')
  remove(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
  ): Promise<void> {
    return this.webhooks.remove(auth, actor, params.id, ifMatch);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @Requires('account.manage')
  rotateSecret(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
    @IfMatch() ifMatch: number,
  ): Promise<WebhookWithSecretDto> {
    return this.webhooks.rotateSecret(auth, actor, params.id, ifMatch);
  }

  /** Retry now: cuts a failing endpoint's back-off short. */
  @Post(':id/retry')
  @HttpCode(200)
  @Requires('account.manage')
  retry(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
  ): Promise<WebhookEndpointDto> {
    return this.webhooks.retryNow(auth, actor, params.id);
  }

  @Get(':id/deliveries')
  @Requires('account.manage')
  deliveries(
    @Auth() auth: RequestAuth,
    @Param({ schema: idParamSchema }) params: { id: string },
    @Query({ schema: listWebhookDeliveriesQuerySchema }) query: z.output<typeof listWebhookDeliveriesQuerySchema>,
  ): Promise<PageDto<WebhookDeliveryDto>> {
    return this.webhooks.deliveries(auth, params.id, query);
  }
}
