import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { IdColumn, ReferenceColumn, TimestampColumn, VersionCounterColumn } from './columns.js';

/**
 * A webhook endpoint of an account (issue 16 §4). The activity log itself is its queue:
 * `cursorSeq` is the seq of the newest entry handled (delivered with a 2xx, or skipped by the
 * filter); the worker delivers the entries after it, in seq order, and advances it only after a 2xx.
 * `leasedUntil`/`leaseOwner` say which node is delivering to it (one at a time, across nodes).
 */
@Entity('webhook_endpoints')
@Index('ix_webhook_endpoints_account', ['accountId'])
@Index('ix_webhook_endpoints_due', ['enabled', 'nextAttemptAt'])
export class WebhookEndpointEntity {
  @IdColumn()
  id!: string;

  @ReferenceColumn('account_id')
  accountId!: string;

  @Column({ type: 'varchar', length: 2000 })
  url!: string;

  @Column({ type: 'varchar', length: 300, default: '' })
  description!: string;

  /** Action patterns (`user.*`, `role.updated`, `*`); null = every action. */
  @Column({ type: 'simple-json', nullable: true })
  events!: string[] | null;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  /** `manual` or `failures`; null while enabled. */
  @Column({ name: 'disabled_reason', type: 'varchar', length: 20, nullable: true })
  disabledReason!: 'manual' | 'failures' | null;

  @TimestampColumn('disabled_at', { nullable: true })
  disabledAt!: string | null;

  /** The signing secret (`whsec_…`), sealed with the secrets key (SecretBox, context = endpoint id). */
  @Column({ name: 'secret_sealed', type: 'varchar', length: 300 })
  secretSealed!: string;

  @Column({ name: 'cursor_seq', type: 'integer', default: 0 })
  cursorSeq!: number;

  @TimestampColumn('next_attempt_at')
  nextAttemptAt!: string;

  /** Failed attempts in a row at the entry after the cursor (drives the back-off). */
  @Column({ type: 'integer', default: 0 })
  failures!: number;

  @TimestampColumn('failing_since', { nullable: true })
  failingSince!: string | null;

  @Column({ name: 'last_error', type: 'varchar', length: 300, nullable: true })
  lastError!: string | null;

  @TimestampColumn('last_success_at', { nullable: true })
  lastSuccessAt!: string | null;

  @TimestampColumn('leased_until', { nullable: true })
  leasedUntil!: string | null;

  @ReferenceColumn('lease_owner', { nullable: true })
  leaseOwner!: string | null;

  @VersionCounterColumn()
  version!: number;

  @TimestampColumn('created_at')
  createdAt!: string;
}

/** One attempt to deliver one activity entry to one endpoint: the endpoint's delivery log. */
@Entity('webhook_deliveries')
@Index('ix_webhook_deliveries_endpoint', ['endpointId', 'id'])
@Index('ix_webhook_deliveries_at', ['at'])
export class WebhookDeliveryEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @ReferenceColumn('endpoint_id')
  endpointId!: string;

  @Column({ type: 'integer' })
  seq!: number;

  @Column({ type: 'varchar', length: 40 })
  action!: string;

  @TimestampColumn()
  at!: string;

  @Column({ type: 'boolean' })
  ok!: boolean;

  @Column({ name: 'status_code', type: 'integer', nullable: true })
  statusCode!: number | null;

  @Column({ type: 'varchar', length: 300, nullable: true })
  error!: string | null;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs!: number;
}
