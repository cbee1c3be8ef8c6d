import type { SsoProvider } from '@rolecall/contracts';
import { Column, Entity, Index } from 'typeorm';
import { HashColumn, IdColumn, ReferenceColumn, TimestampColumn } from './columns.js';

/**
 * A sign-in in progress between `/start` and `/callback`: single use, 10 minutes. Only hashes of
 * the `state` and of the browser-binding cookie are stored; the nonce and PKCE verifier are kept
 * here (server side) and never reach the browser except as the nonce inside the provider's URL.
 */
@Entity('sso_flows')
@Index('ix_sso_flows_expires', ['expiresAt'])
export class SsoFlowEntity {
  @IdColumn()
  id!: string;

  @HashColumn('state_hash', { unique: true })
  stateHash!: string;

  /** SHA-256 of the `rolecall_sso` cookie of the browser that started the flow. */
  @HashColumn('binding_hash')
  bindingHash!: string;

  @Column({ type: 'varchar', length: 20 })
  provider!: SsoProvider;

  @ReferenceColumn('account_id')
  accountId!: string;

  @Column({ type: 'varchar', length: 100 })
  nonce!: string;

  @Column({ name: 'code_verifier', type: 'varchar', length: 100 })
  codeVerifier!: string;

  /** Dashboard path to land on afterwards. */
  @Column({ name: 'next_path', type: 'varchar', length: 500 })
  nextPath!: string;

  @TimestampColumn('created_at')
  createdAt!: string;

  @TimestampColumn('expires_at')
  expiresAt!: string;

  @TimestampColumn('used_at', { nullable: true })
  usedAt!: string | null;
}
