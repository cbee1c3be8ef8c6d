import { Entity, Index } from 'typeorm';
import { IdColumn, ReferenceColumn } from './columns.js';
import { SingleUseToken } from './single-use-token.js';

/** A single-use invitation token for an invited member. It ends when accepted, resent (superseded) or cancelled. */
@Entity('invitations')
@Index('ix_invitations_member', ['memberId'])
export class InvitationEntity extends SingleUseToken {
  @IdColumn()
  id!: string;

  @ReferenceColumn('account_id')
  accountId!: string;

  @ReferenceColumn('member_id')
  memberId!: string;

  @ReferenceColumn('invited_by_member_id', { nullable: true })
  invitedByMemberId!: string | null;
}
