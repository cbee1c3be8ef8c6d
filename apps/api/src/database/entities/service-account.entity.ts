import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A non-person actor of an account holding one role (issue 16 §3). Takes no seat. */
@Entity('service_accounts')
@Index('ix_service_accounts_account', ['accountId'])
@Index('ix_service_accounts_role', ['roleId'])
export class ServiceAccountEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'account_id', type: 'varchar', length: 36 })
  accountId!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /** No foreign key: a deleted custom role leaves the service account with no permissions until reassigned. */
  @Column({ name: 'role_id', type: 'varchar', length: 36 })
  roleId!: string;

  /** Grows with every change of its permission set (role change, edit of its role): `me.permissions` versions. */
  @Column({ name: 'permissions_version', type: 'integer', default: 1 })
  permissionsVersion!: number;

  @Column({ type: 'integer', default: 1 })
  version!: number;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;
}

/** An API key of a service account: only its SHA-256 is stored. */
@Entity('service_account_keys')
@Index('ux_service_account_keys_hash', ['tokenHash'], { unique: true })
@Index('ix_service_account_keys_owner', ['serviceAccountId'])
export class ServiceAccountKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'service_account_id', type: 'varchar', length: 36 })
  serviceAccountId!: string;

  @Column({ name: 'account_id', type: 'varchar', length: 36 })
  accountId!: string;

  @Column({ type: 'varchar', length: 20 })
  prefix!: string;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;

  @Column({ name: 'expires_at', type: 'varchar', length: 30, nullable: true })
  expiresAt!: string | null;

  @Column({ name: 'last_used_at', type: 'varchar', length: 30, nullable: true })
  lastUsedAt!: string | null;

  @Column({ name: 'revoked_at', type: 'varchar', length: 30, nullable: true })
  revokedAt!: string | null;
}
