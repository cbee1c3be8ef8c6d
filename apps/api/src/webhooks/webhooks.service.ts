import { Inject, Injectable } from '@nestjs/common';
import type {
  CreateWebhookRequest,
  PageDto,
  UpdateWebhookRequest,
  WebhookDeliveryDto,
  WebhookEndpointDto,
  WebhookWithSecretDto,
} from '@rolecall/contracts';
import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AccountEntity } from '../database/entities/account.entity.js';
import { AccountMutations, type MutationContext } from '../database/account-mutation.js';
import type { Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { Clock } from '../common/clock.js';
import { DomainError, notFound, validationFailed } from '../common/domain-error.js';
import { versionMismatch } from '../common/if-match.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { Database } from '../database/database.service.js';
import { newestFirstPage } from '../database/newest-first-page.js';
import { changeField } from '../database/field-change.js';
import { SecretBox } from '../common/secret-box.js';
import { resolveTarget, TargetRefused } from './webhook-target.js';
import { WebhookWorker } from './webhook-worker.js';
import { WebhookDeliveryEntity, WebhookEndpointEntity } from '../database/entities/webhook.entity.js';
import { toDeliveryDto, toWebhookDto, urlForLog } from './webhooks.dto.js';

/**
 * What a change to an endpoint writes back: its settings (first line), its delivery state and version; never
 * its account, creation time or the worker's lease (the worker writes those).
 */
const SAVED_COLUMNS = [
  ...['url', 'description', 'events', 'enabled', 'disabledReason', 'disabledAt', 'secretSealed'],
  ...['failures', 'failingSince', 'nextAttemptAt', 'version'],
] as const satisfies readonly (keyof WebhookEndpointEntity)[];

/** Endpoints per account: enough for a SIEM, a backup receiver and a few tests. */
const MAX_ENDPOINTS = 10;

/** A Standard Webhooks signing secret: `whsec_` and 32 random bytes, base64. */
const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/**
 * Webhook endpoints (audit streaming, issue 16 §4): create, change, delete, rotate the secret, read
 * the delivery log, retry now. Each change is an ordinary account mutation with its activity entry.
 */
@Injectable()
export class WebhooksService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(SecretBox) private readonly secrets: SecretBox,
    @Inject(WebhookWorker) private readonly worker: WebhookWorker,
  ) {}

  async list(auth: RequestAuth): Promise<WebhookEndpointDto[]> {
    return this.db.read(async (manager) => {
      const head = await this.headSeq(manager, auth.account.id);
      const endpoints = await manager
        .getRepository(WebhookEndpointEntity)
        .find({ where: { accountId: auth.account.id }, order: { createdAt: 'ASC', id: 'ASC' } });
      return endpoints.map((endpoint) => toWebhookDto(endpoint, head));
    });
  }

  async get(auth: RequestAuth, id: string): Promise<WebhookEndpointDto> {
    return this.db.read(async (manager) => {
      const endpoint = await manager.getRepository(WebhookEndpointEntity).findOneBy({ id, accountId: auth.account.id });
      if (!endpoint) throw notFound('Webhook');
      return toWebhookDto(endpoint, await this.headSeq(manager, auth.account.id));
    });
  }

  async create(auth: RequestAuth, actor: Actor, body: CreateWebhookRequest): Promise<WebhookWithSecretDto> {
    await this.checkUrl(body.url);
    const secret = newSecret();
    const result = await this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      const repository = tx.manager.getRepository(WebhookEndpointEntity);
      const count = await repository.countBy({ accountId: account.id });
      if (count >= MAX_ENDPOINTS)
        throw new DomainError('CONFLICT', `An account has at most ${MAX_ENDPOINTS} webhook endpoints`, {
          limit: MAX_ENDPOINTS,
        });
      const id = randomUUID();
      const now = this.clock.now().toISOString();
      const enabled = body.enabled ?? true;
      const endpoint = repository.create({
        id,
        accountId: account.id,
        url: body.url,
        description: body.description ?? '',
        events: body.events ?? null,
        enabled,
        disabledReason: enabled ? null : 'manual',
        disabledAt: enabled ? null : now,
        secretSealed: this.secrets.seal(secret, id),
        // Its own `webhook.created` entry is the first one it receives (when the filter lets it through).
        cursorSeq: account.activitySeq,
        nextAttemptAt: now,
        failures: 0,
        failingSince: null,
        lastError: null,
        lastSuccessAt: null,
        leasedUntil: null,
        leaseOwner: null,
        version: 1,
        createdAt: now,
      });
      // simple-json column: TypeORM's deep-partial type cannot express it.
      await repository.insert(endpoint as never);
      await log({
        action: 'webhook.created',
        target: { type: 'webhook', id, label: urlForLog(endpoint.url) },
        changes: {
          url: { after: urlForLog(endpoint.url) },
          events: { after: endpoint.events },
          enabled: { after: enabled },
        },
      });
      return { ...toWebhookDto(endpoint, account.activitySeq), secret };
    });
    this.worker.nudge();
    return result;
  }

  async update(
    auth: RequestAuth,
    actor: Actor,
    id: string,
    ifMatch: number,
    body: UpdateWebhookRequest,
  ): Promise<WebhookEndpointDto> {
    if (body.url !== undefined) await this.checkUrl(body.url);
    const result = await this.mutations.run(auth, actor, async (context) => {
      const { tx, account, log } = context;
      const endpoint = await this.forChange(context, id, ifMatch);
      const changes: Record<string, { before: unknown; after: unknown }> = {};
      const now = this.clock.now().toISOString();
      if (body.url !== undefined && body.url !== endpoint.url) {
        changes['url'] = { before: urlForLog(endpoint.url), after: urlForLog(body.url) };
        endpoint.url = body.url;
      }
      if (body.events !== undefined && JSON.stringify(body.events) !== JSON.stringify(endpoint.events)) {
        changes['events'] = { before: endpoint.events, after: body.events };
        endpoint.events = body.events;
      }
      changeField(changes, endpoint, 'description', body.description);
      if (changeField(changes, endpoint, 'enabled', body.enabled)) {
        if (endpoint.enabled) {
          // Starts again from where delivery stopped: nothing is skipped, the back-off starts over.
          Object.assign(endpoint, {
            disabledReason: null,
            disabledAt: null,
            failures: 0,
            failingSince: null,
            nextAttemptAt: now,
          });
        } else Object.assign(endpoint, { disabledReason: 'manual', disabledAt: now });
      }
      if (Object.keys(changes).length === 0) return toWebhookDto(endpoint, account.activitySeq);
      endpoint.version += 1;
      await this.save(tx.manager, endpoint);
      await log({
        action: 'webhook.updated',
        target: { type: 'webhook', id, label: urlForLog(endpoint.url) },
        changes,
      });
      return toWebhookDto(endpoint, account.activitySeq);
    });
    this.worker.nudge();
    return result;
  }

  async remove(auth: RequestAuth, actor: Actor, id: string, ifMatch: number): Promise<void> {
    await this.mutations.run(auth, actor, async (context) => {
      const endpoint = await this.forChange(context, id, ifMatch);
      await context.tx.manager.getRepository(WebhookDeliveryEntity).delete({ endpointId: id });
      await context.tx.manager.getRepository(WebhookEndpointEntity).delete({ id });
      await context.log({
        action: 'webhook.deleted',
        target: { type: 'webhook', id, label: urlForLog(endpoint.url) },
        changes: { url: { before: urlForLog(endpoint.url), after: null } },
      });
    });
  }

  /** A new signing secret, shown once; the next delivery is signed with it. */
  async rotateSecret(auth: RequestAuth, actor: Actor, id: string, ifMatch: number): Promise<WebhookWithSecretDto> {
    const secret = newSecret();
    return this.mutations.run(auth, actor, async (context) => {
      const endpoint = await this.forChange(context, id, ifMatch);
      endpoint.secretSealed = this.secrets.seal(secret, id);
      endpoint.version += 1;
      await this.save(context.tx.manager, endpoint);
      await context.log({
        action: 'webhook.secret_rotated',
        target: { type: 'webhook', id, label: urlForLog(endpoint.url) },
      });
      return { ...toWebhookDto(endpoint, context.account.activitySeq), secret };
    });
  }

  /** Retry now: the back-off of a failing endpoint is cut short and the worker nudged. */
  async retryNow(auth: RequestAuth, actor: Actor, id: string): Promise<WebhookEndpointDto> {
    const result = await this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      const endpoint = await tx.manager.getRepository(WebhookEndpointEntity).findOneBy({ id, accountId: account.id });
      if (!endpoint) throw notFound('Webhook');
      if (!endpoint.enabled)
        throw new DomainError(
          'CONFLICT',
          'This endpoint is disabled: enable it to deliver again (nothing was skipped)',
        );
      endpoint.nextAttemptAt = this.clock.now().toISOString();
      await tx.manager.getRepository(WebhookEndpointEntity).update({ id }, { nextAttemptAt: endpoint.nextAttemptAt });
      await log({ action: 'webhook.retried', target: { type: 'webhook', id, label: urlForLog(endpoint.url) } });
      return toWebhookDto(endpoint, account.activitySeq);
    });
    this.worker.nudge();
    return result;
  }

  /** The delivery log, newest first, keyset by delivery id. */
  async deliveries(
    auth: RequestAuth,
    id: string,
    query: { cursor?: string | undefined; limit: number },
  ): Promise<PageDto<WebhookDeliveryDto>> {
    return this.db.read(async (manager) => {
      const endpoint = await manager
        .getRepository(WebhookEndpointEntity)
        .findOne({ select: { id: true }, where: { id, accountId: auth.account.id } });
      if (!endpoint) throw notFound('Webhook');
      const q = manager
        .getRepository(WebhookDeliveryEntity)
        .createQueryBuilder('d')
        .where('d.endpoint_id = :id', { id });
      return newestFirstPage(q, 'id', query, toDeliveryDto);
    });
  }

  private async headSeq(manager: EntityManager, accountId: string): Promise<number> {
    const account = await manager
      .getRepository(AccountEntity)
      .findOne({ select: { id: true, activitySeq: true }, where: { id: accountId } });
    return account?.activitySeq ?? 0;
  }

  private async forChange(context: MutationContext, id: string, ifMatch: number): Promise<WebhookEndpointEntity> {
    const endpoint = await context.tx.manager
      .getRepository(WebhookEndpointEntity)
      .findOneBy({ id, accountId: context.account.id });
    if (!endpoint) throw notFound('Webhook');
    if (endpoint.version !== ifMatch) throw versionMismatch(toWebhookDto(endpoint, context.account.activitySeq));
    return endpoint;
  }

  private async save(manager: EntityManager, endpoint: WebhookEndpointEntity): Promise<void> {
    const changes = Object.fromEntries(SAVED_COLUMNS.map((key) => [key, endpoint[key]]));
    await manager.getRepository(WebhookEndpointEntity).update({ id: endpoint.id }, changes as never);
  }

  /** The SSRF rules at creation (they are checked again before every delivery). */
  private async checkUrl(url: string): Promise<void> {
    try {
      await resolveTarget(url, this.config.webhooks.allowLocal);
    } catch (error) {
      if (error instanceof TargetRefused)
        throw validationFailed({ url: [error.message] }, 'This URL cannot receive webhooks');
      throw error;
    }
  }
}
