import type { PermissionKey, RoleIcon, SystemRoleKey } from '@rolecall/contracts';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** System roles (account_id null, fixed ids, seeded by migration) and each account's custom roles. */
@Entity('roles')
@Index('ix_roles_account_position', ['accountId', 'position'])
export class RoleEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'account_id', type: 'varchar', length: 36, nullable: true })
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

  @Column({ type: 'integer', default: 1 })
  version!: number;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;

  @Column({ name: 'updated_at', type: 'varchar', length: 30 })
  updatedAt!: string;
}
