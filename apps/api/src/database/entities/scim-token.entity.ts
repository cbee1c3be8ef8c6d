import { Entity } from 'typeorm';
import { HashColumn, IdColumn, ReferenceColumn, TimestampColumn } from './columns.js';

/** An account's SCIM bearer token (issue 16 §2): one per account, only its SHA-256 stored. */
@Entity('scim_tokens')
export class ScimTokenEntity {
  @IdColumn('account_id')
  accountId!: string;

  @HashColumn('token_hash', { unique: true })
  tokenHash!: string;

  @TimestampColumn('created_at')
  createdAt!: string;

  @ReferenceColumn('created_by_member_id', { nullable: true })
  createdByMemberId!: string | null;

  @TimestampColumn('last_used_at', { nullable: true })
  lastUsedAt!: string | null;
}
