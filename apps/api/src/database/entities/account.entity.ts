import type { AuthEnforcement, Plan } from '@rolecall/contracts';
import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A tenant (SPEC §4). Its row is also the lock that serialises the account's mutations. */
@Entity('accounts')
export class AccountEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'varchar', length: 20 })
  plan!: Plan;

  @Column({ name: 'owner_member_id', type: 'varchar', length: 36 })
  ownerMemberId!: string;

  @Column({ name: 'billing_contact_member_id', type: 'varchar', length: 36 })
  billingContactMemberId!: string;

  @Column({ name: 'auth_enforcement', type: 'varchar', length: 20, default: 'any' })
  authEnforcement!: AuthEnforcement;

  @Column({ name: 'require_2fa', type: 'boolean', default: false })
  require2fa!: boolean;

  @Column({ name: 'teams_enabled', type: 'boolean', default: false })
  teamsEnabled!: boolean;

  @Column({ name: 'okta_issuer', type: 'varchar', length: 500, nullable: true })
  oktaIssuer!: string | null;

  @Column({ name: 'okta_client_id', type: 'varchar', length: 200, nullable: true })
  oktaClientId!: string | null;

  @Column({ name: 'okta_secret_enc', type: 'text', nullable: true })
  oktaSecretEnc!: string | null;

  /** Owner's phone in E.164 once validated. */
  @Column({ name: 'validated_phone', type: 'varchar', length: 20, nullable: true })
  validatedPhone!: string | null;

  @Column({ name: 'validated_at', type: 'varchar', length: 30, nullable: true })
  validatedAt!: string | null;

  @Column({ name: 'roles_version', type: 'integer', default: 1 })
  rolesVersion!: number;

  @Column({ type: 'integer', default: 1 })
  version!: number;

  /** Seq and hash of the newest activity entry: the head of the hash chain. */
  @Column({ name: 'activity_seq', type: 'integer', default: 0 })
  activitySeq!: number;

  @Column({ name: 'activity_hash', type: 'varchar', length: 64, default: '' })
  activityHash!: string;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;
}
