/**
 * Audit streaming (issue 16 §4): webhook endpoints that receive every activity entry, signed per the
 * Standard Webhooks spec, and the activity export (`GET /activity/export`). Shared by the API, which
 * validates with these schemas, and the dashboard.
 */
import { z } from 'zod';
import { integerCursorSchema, listActivityQuerySchema } from './schemas.js';

/**
 * An activity action filter: an action (`role.updated`), a whole family (`user.*`) or everything (`*`).
 * An endpoint without a filter (`events: null`) receives every entry.
 */
export const webhookEventPatternSchema = z
  .string()
  .trim()
  .regex(
    /^(\*|[a-z_0-9]+\.(\*|[a-z0-9_]+))$/,
    'Use an action such as "role.updated", a family such as "user.*", or "*"',
  );

export const WEBHOOK_DESCRIPTION_MAX = 280;
export const WEBHOOK_URL_MAX = 2000;

const webhookUrlSchema = z
  .string()
  .trim()
  .min(1, 'Required')
  .max(WEBHOOK_URL_MAX, `Use at most ${WEBHOOK_URL_MAX} characters`)
  .refine((value) => URL.canParse(value), 'Enter a full URL, e.g. https://siem.example.com/rolecall');

const webhookEventsSchema = z
  .array(webhookEventPatternSchema)
  .min(1, 'Choose at least one action, or leave the filter out to receive everything')
  .max(50);

const webhookDescriptionSchema = z
  .string()
  .trim()
  .max(WEBHOOK_DESCRIPTION_MAX, `Use at most ${WEBHOOK_DESCRIPTION_MAX} characters`)
  .regex(/^[^\p{Cc}]*$/u, 'Must not contain control characters');

export const createWebhookSchema = z.strictObject({
  url: webhookUrlSchema,
  /** Absent or null: every action. */
  events: webhookEventsSchema.nullable().optional(),
  description: webhookDescriptionSchema.optional(),
  /** Default true; false creates a paused endpoint (nothing is delivered until it is enabled). */
  enabled: z.boolean().optional(),
});
export type CreateWebhookRequest = z.input<typeof createWebhookSchema>;

export const updateWebhookSchema = z.strictObject({
  url: webhookUrlSchema.optional(),
  events: webhookEventsSchema.nullable().optional(),
  description: webhookDescriptionSchema.optional(),
  /** true after a disable (by hand or after a day of failures) starts again from where delivery stopped. */
  enabled: z.boolean().optional(),
});
export type UpdateWebhookRequest = z.input<typeof updateWebhookSchema>;

export const listWebhookDeliveriesQuerySchema = z.strictObject({
  /** The `id` of the last delivery seen; the next page is older. */
  cursor: integerCursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** `GET /activity/export`: the filters of `GET /activity` (no paging) and the format. */
export const exportActivityQuerySchema = listActivityQuerySchema.omit({ cursor: true, limit: true }).extend({
  format: z.enum(['ndjson', 'csv'], 'Use ndjson or csv').default('ndjson'),
});
export type ExportActivityQuery = z.input<typeof exportActivityQuerySchema>;

/**
 * `active`: delivering (or nothing to deliver); `failing`: the oldest undelivered entry keeps failing
 * and is retried with back-off; `disabled`: turned off by an admin or after a day of failures.
 */
export type WebhookStatus = 'active' | 'failing' | 'disabled';

export interface WebhookEndpointDto {
  id: string;
  url: string;
  description: string;
  /** Action filter; null = every action. */
  events: string[] | null;
  enabled: boolean;
  status: WebhookStatus;
  /** Why it is disabled: `manual` or `failures` (a day of failed attempts); null while enabled. */
  disabledReason: 'manual' | 'failures' | null;
  disabledAt: string | null;
  /** Since when the oldest undelivered entry has failed; null when the last attempt succeeded. */
  failingSince: string | null;
  lastError: string | null;
  /** When the next attempt is due while failing; null otherwise. */
  nextAttemptAt: string | null;
  /** The seq of the newest entry handled (delivered, or skipped by the filter). */
  deliveredSeq: number;
  /** The account's newest seq: entries after `deliveredSeq` are still to go. */
  headSeq: number;
  lastSuccessAt: string | null;
  createdAt: string;
  version: number;
}

/** The answer to a create and to a secret rotation: the signing secret is shown this once. */
export interface WebhookWithSecretDto extends WebhookEndpointDto {
  /** Standard Webhooks secret, `whsec_<base64>`; verify signatures with it. */
  secret: string;
}

/** One delivery attempt of one activity entry to one endpoint. */
export interface WebhookDeliveryDto {
  id: string;
  seq: number;
  /** The `webhook-id` header: the same for every attempt of this entry to this endpoint (dedupe on it). */
  webhookId: string;
  action: string;
  at: string;
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/**
 * One line of an ndjson export (a row of the CSV export): every field the entry's hash covers, so the
 * chain can be verified offline (`npm run verify-export -- file.ndjson`), then `prevHash` and `hash`.
 */
export interface ActivityExportLine {
  accountId: string;
  seq: number;
  at: string;
  actorMemberId: string | null;
  actorEmail: string | null;
  actorKind: string | null;
  actorName: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  targetLabel: string | null;
  changes: Record<string, unknown> | null;
  ip: string | null;
  userAgent: string | null;
  prevHash: string;
  hash: string;
}

/** The JSON body of a webhook delivery (Standard Webhooks' `{ type, timestamp, data }`). */
export interface WebhookPayload {
  /** The activity action, e.g. `user.role_changed`. */
  type: string;
  /** When the entry was written. */
  timestamp: string;
  data: ActivityExportLine;
}
