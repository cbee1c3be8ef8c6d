import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A single-use invitation token for an invited member; only its SHA-256 is stored. */
@Entity('invitations')
@Index('ix_invitations_member', ['memberId'])
export class InvitationEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'account_id', type: 'varchar', length: 36 })
  accountId!: string;

  @Column({ name: 'member_id', type: 'varchar', length: 36 })
  memberId!: string;

  @Column({ name: 'token_hash', type: 'varchar', length: 64, unique: true })
  tokenHash!: string;

  @Column({ name: 'invited_by_member_id', type: 'varchar', length: 36, nullable: true })
  invitedByMemberId!: string | null;

  @Column({ name: 'expires_at', type: 'varchar', length: 30 })
  expiresAt!: string;

  /** Set when accepted, resent (superseded) or cancelled: the token is dead. */
  @Column({ name: 'ended_at', type: 'varchar', length: 30, nullable: true })
  endedAt!: string | null;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;
}
