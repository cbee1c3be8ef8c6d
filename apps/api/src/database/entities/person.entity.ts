import { Column, Entity } from 'typeorm';
import { FlagColumn, IdColumn, TimestampColumn } from './columns.js';

/** A login identity (SPEC §4): one per email, member of any number of accounts. */
@Entity('persons')
export class PersonEntity {
  @IdColumn()
  id!: string;

  /** Normalised: trimmed and lower-cased. */
  @Column({ type: 'varchar', length: 254, unique: true })
  email!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 255, nullable: true })
  passwordHash!: string | null;

  @Column({ name: 'avatar_url', type: 'varchar', length: 500, nullable: true })
  avatarUrl!: string | null;

  /** Base32 TOTP secret once 2FA is confirmed. */
  @Column({ name: 'totp_secret', type: 'varchar', length: 64, nullable: true })
  totpSecret!: string | null;

  /** Secret issued by `/me/2fa/setup`, waiting for its first code. */
  @Column({ name: 'totp_pending_secret', type: 'varchar', length: 64, nullable: true })
  totpPendingSecret!: string | null;

  /** The last TOTP time step accepted, so a code is never accepted twice. */
  @Column({ name: 'totp_last_step', type: 'integer', nullable: true })
  totpLastStep!: number | null;

  /** SHA-256 hashes of the unused recovery codes. */
  @Column({ name: 'recovery_codes', type: 'simple-json', nullable: true })
  recoveryCodes!: string[] | null;

  /** The person proved control of the email; until then whoever proves the mailbox takes the person over. */
  @FlagColumn('email_verified')
  emailVerified!: boolean;

  /** An admin reset the person's 2FA: the password stops working until a new one is set through the mailed link. */
  @FlagColumn('password_reset_required')
  passwordResetRequired!: boolean;

  /** An admin reset the person's 2FA: sessions without a second factor may only enrol until TOTP is on again. */
  @FlagColumn('two_factor_enrolment_required')
  twoFactorEnrolmentRequired!: boolean;

  @TimestampColumn('created_at')
  createdAt!: string;
}
