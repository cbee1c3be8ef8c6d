import { Column, Entity, Index } from 'typeorm';
import { IdColumn, ReferenceColumn, TimestampColumn } from './columns.js';

/** The transactional mails that go through the outbox. */
export type OutboxMailKind = 'invitation' | 'verify_email' | 'password_reset' | 'two_factor_reset';

/** `pending` until the mail server took it (`sent`) or every attempt failed (`failed`). */
export type OutboxMailStatus = 'pending' | 'sent' | 'failed';

/**
 * A mail written in the same transaction as the change that asks for it, and sent after commit.
 * The rendered mail is kept only while it is pending: it holds a raw link token (stored nowhere
 * else), so `subject`, `text` and `html` are wiped once it is sent or has failed for good.
 */
@Entity('mail_outbox')
@Index('ix_mail_outbox_due', ['status', 'nextAttemptAt'])
@Index('ix_mail_outbox_member', ['memberId'])
export class MailOutboxEntity {
  @IdColumn()
  id!: string;

  @Column({ type: 'varchar', length: 20 })
  kind!: OutboxMailKind;

  @Column({ type: 'varchar', length: 254 })
  recipient!: string;

  /** The invited member, for invitation mails (`GET /users/:id` shows how its mail went). */
  @ReferenceColumn('member_id', { nullable: true })
  memberId!: string | null;

  @Column({ type: 'text', nullable: true })
  subject!: string | null;

  @Column({ type: 'text', nullable: true })
  text!: string | null;

  @Column({ type: 'text', nullable: true })
  html!: string | null;

  @Column({ type: 'varchar', length: 10 })
  status!: OutboxMailStatus;

  /** Attempts started so far (a claim counts one before the mail server is asked). */
  @Column({ type: 'integer' })
  attempts!: number;

  @TimestampColumn('next_attempt_at')
  nextAttemptAt!: string;

  /** While a node is sending it: no other node claims it before then (a node that died mid-send lets go then). */
  @TimestampColumn('leased_until', { nullable: true })
  leasedUntil!: string | null;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError!: string | null;

  @TimestampColumn('sent_at', { nullable: true })
  sentAt!: string | null;

  @TimestampColumn('created_at')
  createdAt!: string;

  @TimestampColumn('updated_at')
  updatedAt!: string;
}
