import type { WebhookDeliveryDto, WebhookEndpointDto } from '@rolecall/contracts';
import type { WebhookDeliveryEntity, WebhookEndpointEntity } from '../database/entities/webhook.entity.js';

export function toWebhookDto(endpoint: WebhookEndpointEntity, headSeq: number): WebhookEndpointDto {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.events,
    enabled: endpoint.enabled,
    status: !endpoint.enabled ? 'disabled' : endpoint.failingSince ? 'failing' : 'active',
    disabledReason: endpoint.enabled ? null : endpoint.disabledReason,
    disabledAt: endpoint.enabled ? null : endpoint.disabledAt,
    failingSince: endpoint.failingSince,
    lastError: endpoint.lastError,
    nextAttemptAt: endpoint.enabled && endpoint.failingSince ? endpoint.nextAttemptAt : null,
    deliveredSeq: endpoint.cursorSeq,
    headSeq,
    lastSuccessAt: endpoint.lastSuccessAt,
    createdAt: endpoint.createdAt,
    version: endpoint.version,
  };
}

export function toDeliveryDto(delivery: WebhookDeliveryEntity): WebhookDeliveryDto {
  return {
    id: String(delivery.id),
    seq: delivery.seq,
    webhookId: webhookMessageId(delivery.endpointId, delivery.seq),
    action: delivery.action,
    at: delivery.at,
    ok: delivery.ok,
    statusCode: delivery.statusCode,
    error: delivery.error,
    durationMs: delivery.durationMs,
  };
}

/**
 * The `webhook-id` of an entry's delivery to an endpoint: the same on every attempt and after a
 * restart, so a receiver that got it twice (at least once) drops the second.
 */
export function webhookMessageId(endpointId: string, seq: number): string {
  return `msg_${endpointId}_${seq}`;
}

/** Whether an action passes an endpoint's filter (`*`, `user.*`, `role.updated`; null = all). */
export function actionMatches(events: readonly string[] | null, action: string): boolean {
  if (!events) return true;
  return events.some(
    (pattern) =>
      pattern === '*' || pattern === action || (pattern.endsWith('.*') && action.startsWith(pattern.slice(0, -1))),
  );
}

/** A URL as the activity log shows it: without its query and fragment (they often carry a token). */
export function urlForLog(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
  } catch {
    return raw.slice(0, 100);
  }
}
