import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type EmailLinkPurpose = 'verify_email' | 'password_reset';

/** A single-use token mailed to a person (verify the email, reset the password); only its SHA-256 is stored. */
@Entity('email_links')
@Index('ix_email_links_person_purpose', ['personId', 'purpose'])
export class EmailLinkEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'person_id', type: 'varchar', length: 36 })
  personId!: string;

  @Column({ type: 'varchar', length: 20 })
  purpose!: EmailLinkPurpose;

  /** The address the link was mailed to: a link dies if the person's email is no longer this one. */
  @Column({ type: 'varchar', length: 254 })
  email!: string;

  @Column({ name: 'token_hash', type: 'varchar', length: 64, unique: true })
  tokenHash!: string;

  @Column({ name: 'expires_at', type: 'varchar', length: 30 })
  expiresAt!: string;

  /** Set when used or replaced by a newer link of the same purpose: the token is dead. */
  @Column({ name: 'ended_at', type: 'varchar', length: 30, nullable: true })
  endedAt!: string | null;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;
}
