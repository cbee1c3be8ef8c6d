import type { AuthEnforcement, Plan } from '@rolecall/contracts';
import { Column, Entity } from 'typeorm';
import { FlagColumn, IdColumn, ReferenceColumn, TimestampColumn, VersionCounterColumn } from './columns.js';

/** A tenant (SPEC §4). Its row is also the lock that serialises the account's mutations. */
@Entity('accounts')
export class AccountEntity {
  @IdColumn()
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'varchar', length: 20 })
  plan!: Plan;

  @ReferenceColumn('owner_member_id')
  ownerMemberId!: string;

  @ReferenceColumn('billing_contact_member_id')
  billingContactMemberId!: string;

  @Column({ name: 'auth_enforcement', type: 'varchar', length: 20, default: 'any' })
  authEnforcement!: AuthEnforcement;

  @FlagColumn('require_2fa')
  require2fa!: boolean;

  @FlagColumn('teams_enabled')
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

  @TimestampColumn('validated_at', { nullable: true })
  validatedAt!: string | null;

  @VersionCounterColumn('roles_version')
  rolesVersion!: number;

  @VersionCounterColumn()
  version!: number;

  /** Seq and hash of the newest activity entry: the head of the hash chain. */
  @Column({ name: 'activity_seq', type: 'integer', default: 0 })
  activitySeq!: number;

  @Column({ name: 'activity_hash', type: 'varchar', length: 64, default: '' })
  activityHash!: string;

  @TimestampColumn('created_at')
  createdAt!: string;
}
