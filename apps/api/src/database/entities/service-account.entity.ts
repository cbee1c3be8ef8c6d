import { Column, Entity, Index } from 'typeorm';
import { HashColumn, IdColumn, ReferenceColumn, TimestampColumn, VersionCounterColumn } from './columns.js';

/** A non-person actor of an account holding one role (issue 16 §3). Takes no seat. */
@Entity('service_accounts')
@Index('ix_service_accounts_account', ['accountId'])
@Index('ix_service_accounts_role', ['roleId'])
export class ServiceAccountEntity {
  @IdColumn()
  id!: string;

  @ReferenceColumn('account_id')
  accountId!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /** No foreign key: a deleted custom role leaves the service account with no permissions until reassigned. */
  @ReferenceColumn('role_id')
  roleId!: string;

  /** Grows with every change of its permission set (role change, edit of its role): `me.permissions` versions. */
  @VersionCounterColumn('permissions_version')
  permissionsVersion!: number;

  @VersionCounterColumn()
  version!: number;

  @TimestampColumn('created_at')
  createdAt!: string;
}

/** An API key of a service account: only its SHA-256 is stored. */
@Entity('service_account_keys')
@Index('ux_service_account_keys_hash', ['tokenHash'], { unique: true })
@Index('ix_service_account_keys_owner', ['serviceAccountId'])
export class ServiceAccountKeyEntity {
  @IdColumn()
  id!: string;

  @ReferenceColumn('service_account_id')
  serviceAccountId!: string;

  @ReferenceColumn('account_id')
  accountId!: string;

  @Column({ type: 'varchar', length: 20 })
  prefix!: string;

  @HashColumn('token_hash')
  tokenHash!: string;

  @TimestampColumn('created_at')
  createdAt!: string;

  @TimestampColumn('expires_at', { nullable: true })
  expiresAt!: string | null;

  @TimestampColumn('last_used_at', { nullable: true })
  lastUsedAt!: string | null;

  @TimestampColumn('revoked_at', { nullable: true })
  revokedAt!: string | null;
}
