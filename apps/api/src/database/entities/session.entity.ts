import { Column, Entity, Index } from 'typeorm';
import { FlagColumn, HashColumn, IdColumn, ReferenceColumn, TimestampColumn } from './columns.js';

/** A signed-in session: an opaque token (only its SHA-256 stored) for a person in a current account. */
@Entity('sessions')
@Index('ix_sessions_person', ['personId'])
@Index('ix_sessions_account_person', ['accountId', 'personId'])
export class SessionEntity {
  @IdColumn()
  id!: string;

  @HashColumn('token_hash', { unique: true })
  tokenHash!: string;

  @ReferenceColumn('person_id')
  personId!: string;

  @ReferenceColumn('account_id')
  accountId!: string;

  /** `password`, or the SSO provider that made it. */
  @Column({ name: 'auth_method', type: 'varchar', length: 20, default: 'password' })
  authMethod!: string;

  /**
   * A second factor was proven at sign-in: password + TOTP, or SSO whose ID token's `amr` names one.
   * Judged against the account's `require2fa` (see `sso/sso.rules.ts`).
   */
  @FlagColumn()
  mfa!: boolean;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 300, nullable: true })
  userAgent!: string | null;

  @TimestampColumn('created_at')
  createdAt!: string;

  @TimestampColumn('last_seen_at')
  lastSeenAt!: string;

  /** Absolute expiry. Idle expiry is `last_seen_at` + 12 h. */
  @TimestampColumn('expires_at')
  expiresAt!: string;

  @TimestampColumn('revoked_at', { nullable: true })
  revokedAt!: string | null;

  @Column({ name: 'revoked_reason', type: 'varchar', length: 30, nullable: true })
  revokedReason!: string | null;
}
