import type { PermissionKey, RoleIcon, SystemRoleKey } from '@rolecall/contracts';
import { Column, Entity, Index } from 'typeorm';
import { IdColumn, ReferenceColumn, TimestampColumn, VersionCounterColumn } from './columns.js';

/** System roles (account_id null, fixed ids, seeded by migration) and each account's custom roles. */
@Entity('roles')
@Index('ix_roles_account_position', ['accountId', 'position'])
export class RoleEntity {
  @IdColumn()
  id!: string;

  @ReferenceColumn('account_id', { nullable: true })
  accountId!: string | null;

  @Column({ name: 'system_key', type: 'varchar', length: 20, nullable: true })
  systemKey!: SystemRoleKey | null;

  @Column({ type: 'varchar', length: 60 })
  name!: string;

  /** Lower-cased name for the case-insensitive unique check per account. */
  @Column({ name: 'name_key', type: 'varchar', length: 60 })
  nameKey!: string;

  @Column({ type: 'varchar', length: 280, default: '' })
  description!: string;

  @Column({ type: 'varchar', length: 30 })
  icon!: RoleIcon;

  @Column({ type: 'simple-json' })
  permissions!: PermissionKey[];

  @Column({ type: 'integer', default: 0 })
  position!: number;

  @VersionCounterColumn()
  version!: number;

  @TimestampColumn('created_at')
  createdAt!: string;

  @TimestampColumn('updated_at')
  updatedAt!: string;
}
