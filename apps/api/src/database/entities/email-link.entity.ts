import { Column, Entity, Index } from 'typeorm';
import { HashColumn, IdColumn, ReferenceColumn, TimestampColumn } from './columns.js';

export type EmailLinkPurpose = 'verify_email' | 'password_reset';

/** A single-use token mailed to a person (verify the email, reset the password); only its SHA-256 is stored. */
@Entity('email_links')
@Index('ix_email_links_person_purpose', ['personId', 'purpose'])
export class EmailLinkEntity {
  @IdColumn()
  id!: string;

  @ReferenceColumn('person_id')
  personId!: string;

  @Column({ type: 'varchar', length: 20 })
  purpose!: EmailLinkPurpose;

  /** The address the link was mailed to: a link dies if the person's email is no longer this one. */
  @Column({ type: 'varchar', length: 254 })
  email!: string;

  @HashColumn('token_hash', { unique: true })
  tokenHash!: string;

  @TimestampColumn('expires_at')
  expiresAt!: string;

  /** Set when used or replaced by a newer link of the same purpose: the token is dead. */
  @TimestampColumn('ended_at', { nullable: true })
  endedAt!: string | null;

  @TimestampColumn('created_at')
  createdAt!: string;
}
