import { Column, Entity, Index } from 'typeorm';
import { HashColumn, IdColumn, ReferenceColumn, TimestampColumn } from './columns.js';

/** One audit entry (SPEC §4): append-only, gap-free `seq` per account, hash-chained. */
@Entity('activity')
@Index('ux_activity_account_seq', ['accountId', 'seq'], { unique: true })
export class ActivityEntity {
  @IdColumn()
  id!: string;

  @ReferenceColumn('account_id')
  accountId!: string;

  @Column({ type: 'integer' })
  seq!: number;

  @TimestampColumn()
  at!: string;

  @ReferenceColumn('actor_member_id', { nullable: true })
  actorMemberId!: string | null;

  @Column({ name: 'actor_email', type: 'varchar', length: 254, nullable: true })
  actorEmail!: string | null;

  /** Who acted when it was not a member (issue 16): `scim` or `service_account`; null otherwise. */
  @Column({ name: 'actor_kind', type: 'varchar', length: 20, nullable: true })
  actorKind!: string | null;

  /** The display name of that actor as it was: "SCIM (Okta)", a service account's name. */
  @Column({ name: 'actor_name', type: 'varchar', length: 100, nullable: true })
  actorName!: string | null;

  @Column({ type: 'varchar', length: 40 })
  action!: string;

  @Column({ name: 'target_type', type: 'varchar', length: 20 })
  targetType!: string;

  @ReferenceColumn('target_id', { nullable: true })
  targetId!: string | null;

  @Column({ name: 'target_label', type: 'varchar', length: 300, nullable: true })
  targetLabel!: string | null;

  @Column({ type: 'simple-json', nullable: true })
  changes!: Record<string, unknown> | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 300, nullable: true })
  userAgent!: string | null;

  @HashColumn('prev_hash')
  prevHash!: string;

  @HashColumn()
  hash!: string;
}
