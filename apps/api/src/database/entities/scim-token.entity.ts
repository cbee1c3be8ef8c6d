import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An account's SCIM bearer token (issue 16 §2): one per account, only its SHA-256 stored. */
@Entity('scim_tokens')
export class ScimTokenEntity {
  @PrimaryColumn({ name: 'account_id', type: 'varchar', length: 36 })
  accountId!: string;

  @Column({ name: 'token_hash', type: 'varchar', length: 64, unique: true })
  tokenHash!: string;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;

  @Column({ name: 'created_by_member_id', type: 'varchar', length: 36, nullable: true })
  createdByMemberId!: string | null;

  @Column({ name: 'last_used_at', type: 'varchar', length: 30, nullable: true })
  lastUsedAt!: string | null;
}
