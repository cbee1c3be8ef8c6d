import { Entity, Index } from 'typeorm';
import { HashColumn, IdColumn, ReferenceColumn, TimestampColumn } from './columns.js';

/** A single-use invitation token for an invited member; only its SHA-256 is stored. */
@Entity('invitations')
@Index('ix_invitations_member', ['memberId'])
export class InvitationEntity {
  @IdColumn()
  id!: string;

  @ReferenceColumn('account_id')
  accountId!: string;

  @ReferenceColumn('member_id')
  memberId!: string;

  @HashColumn('token_hash', { unique: true })
  tokenHash!: string;

  @ReferenceColumn('invited_by_member_id', { nullable: true })
  invitedByMemberId!: string | null;

  @TimestampColumn('expires_at')
  expiresAt!: string;

  /** Set when accepted, resent (superseded) or cancelled: the token is dead. */
  @TimestampColumn('ended_at', { nullable: true })
  endedAt!: string | null;

  @TimestampColumn('created_at')
  createdAt!: string;
}
