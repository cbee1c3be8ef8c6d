import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A signed-in session: an opaque token (only its SHA-256 stored) for a person in a current account. */
@Entity('sessions')
@Index('ix_sessions_person', ['personId'])
@Index('ix_sessions_account_person', ['accountId', 'personId'])
export class SessionEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'token_hash', type: 'varchar', length: 64, unique: true })
  tokenHash!: string;

  @Column({ name: 'person_id', type: 'varchar', length: 36 })
  personId!: string;

  @Column({ name: 'account_id', type: 'varchar', length: 36 })
  accountId!: string;

  /** `password`, or the SSO provider that made it. */
  @Column({ name: 'auth_method', type: 'varchar', length: 20, default: 'password' })
  authMethod!: string;

  /**
   * A second factor was proven at sign-in: password + TOTP, or SSO whose ID token's `amr` names one.
   * Judged against the account's `require2fa` (see `sso/sso.rules.ts`).
   */
  @Column({ type: 'boolean', default: false })
  mfa!: boolean;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 300, nullable: true })
  userAgent!: string | null;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;

  @Column({ name: 'last_seen_at', type: 'varchar', length: 30 })
  lastSeenAt!: string;

  /** Absolute expiry. Idle expiry is `last_seen_at` + 12 h. */
  @Column({ name: 'expires_at', type: 'varchar', length: 30 })
  expiresAt!: string;

  @Column({ name: 'revoked_at', type: 'varchar', length: 30, nullable: true })
  revokedAt!: string | null;

  @Column({ name: 'revoked_reason', type: 'varchar', length: 30, nullable: true })
  revokedReason!: string | null;
}
