import { HashColumn, TimestampColumn } from './columns.js';

/**
 * The columns of a single-use token mailed to someone (an invitation, an email link): only its
 * SHA-256 is stored, it expires, and it dies for good once ended.
 */
export abstract class SingleUseToken {
  @HashColumn('token_hash', { unique: true })
  tokenHash!: string;

  @TimestampColumn('expires_at')
  expiresAt!: string;

  /** Set when the token is used up, replaced by a newer one or cancelled: it is dead. */
  @TimestampColumn('ended_at', { nullable: true })
  endedAt!: string | null;

  @TimestampColumn('created_at')
  createdAt!: string;
}
