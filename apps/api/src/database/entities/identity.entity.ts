import type { SsoProvider } from '@rolecall/contracts';
import { Column, Entity, Index } from 'typeorm';
import { IdColumn, ReferenceColumn, TimestampColumn } from './columns.js';

/**
 * A provider identity linked to a person: the ID token's `iss` + `sub`. Unique per provider and
 * issuer, because a subject is only unique within its issuer — an Okta org (configured per account)
 * must never be able to claim another org's subject.
 */
@Entity('identities')
@Index('ux_identities_provider_issuer_subject', ['provider', 'issuer', 'subject'], { unique: true })
@Index('ix_identities_person', ['personId'])
export class IdentityEntity {
  @IdColumn()
  id!: string;

  @ReferenceColumn('person_id')
  personId!: string;

  @Column({ type: 'varchar', length: 20 })
  provider!: SsoProvider;

  /** The ID token's `iss` (for Microsoft's multi-tenant endpoint: the person's tenant issuer). */
  @Column({ type: 'varchar', length: 500 })
  issuer!: string;

  @Column({ type: 'varchar', length: 255 })
  subject!: string;

  /** The email the provider last gave for this identity (informational). */
  @Column({ type: 'varchar', length: 254, nullable: true })
  email!: string | null;

  @TimestampColumn('created_at')
  createdAt!: string;

  @TimestampColumn('last_used_at')
  lastUsedAt!: string;
}
