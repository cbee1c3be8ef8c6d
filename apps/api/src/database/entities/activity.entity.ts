import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One audit entry (SPEC §4): append-only, gap-free `seq` per account, hash-chained. */
@Entity('activity')
@Index('ux_activity_account_seq', ['accountId', 'seq'], { unique: true })
export class ActivityEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'account_id', type: 'varchar', length: 36 })
  accountId!: string;

  @Column({ type: 'integer' })
  seq!: number;

  @Column({ type: 'varchar', length: 30 })
  at!: string;

  @Column({ name: 'actor_member_id', type: 'varchar', length: 36, nullable: true })
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

  @Column({ name: 'target_id', type: 'varchar', length: 36, nullable: true })
  targetId!: string | null;

  @Column({ name: 'target_label', type: 'varchar', length: 300, nullable: true })
  targetLabel!: string | null;

  @Column({ type: 'simple-json', nullable: true })
  changes!: Record<string, unknown> | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 300, nullable: true })
  userAgent!: string | null;

  @Column({ name: 'prev_hash', type: 'varchar', length: 64 })
  prevHash!: string;

  @Column({ type: 'varchar', length: 64 })
  hash!: string;
}
