import { Column, Entity, Index } from 'typeorm';
import { IdColumn, ReferenceColumn } from './columns.js';
import { SingleUseToken } from './single-use-token.js';

export type EmailLinkPurpose = 'verify_email' | 'password_reset';

/**
 * A single-use token mailed to a person (verify the email, reset the password). It ends when used or
 * replaced by a newer link of the same purpose.
 */
@Entity('email_links')
@Index('ix_email_links_person_purpose', ['personId', 'purpose'])
export class EmailLinkEntity extends SingleUseToken {
  @IdColumn()
  id!: string;

  @ReferenceColumn('person_id')
  personId!: string;

  @Column({ type: 'varchar', length: 20 })
  purpose!: EmailLinkPurpose;

  /** The address the link was mailed to: a link dies if the person's email is no longer this one. */
  @Column({ type: 'varchar', length: 254 })
  email!: string;
}
