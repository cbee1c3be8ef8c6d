import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A login identity (SPEC §4): one per email, member of any number of accounts. */
@Entity('persons')
export class PersonEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
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
  @Column({ name: 'email_verified', type: 'boolean', default: false })
  emailVerified!: boolean;

  /** An admin reset the person's 2FA: the password stops working until a new one is set through the mailed link. */
  @Column({ name: 'password_reset_required', type: 'boolean', default: false })
  passwordResetRequired!: boolean;

  /** An admin reset the person's 2FA: sessions without a second factor may only enrol until TOTP is on again. */
  @Column({ name: 'two_factor_enrolment_required', type: 'boolean', default: false })
  twoFactorEnrolmentRequired!: boolean;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;
}
