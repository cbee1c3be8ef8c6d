import type { SsoProvider } from '@rolecall/contracts';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A sign-in in progress between `/start` and `/callback`: single use, 10 minutes. Only hashes of
 * the `state` and of the browser-binding cookie are stored; the nonce and PKCE verifier are kept
 * here (server side) and never reach the browser except as the nonce inside the provider's URL.
 */
@Entity('sso_flows')
@Index('ix_sso_flows_expires', ['expiresAt'])
export class SsoFlowEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'state_hash', type: 'varchar', length: 64, unique: true })
  stateHash!: string;

  /** SHA-256 of the `rolecall_sso` cookie of the browser that started the flow. */
  @Column({ name: 'binding_hash', type: 'varchar', length: 64 })
  bindingHash!: string;

  @Column({ type: 'varchar', length: 20 })
  provider!: SsoProvider;

  @Column({ name: 'account_id', type: 'varchar', length: 36 })
  accountId!: string;

  @Column({ type: 'varchar', length: 100 })
  nonce!: string;

  @Column({ name: 'code_verifier', type: 'varchar', length: 100 })
  codeVerifier!: string;

  /** Dashboard path to land on afterwards. */
  @Column({ name: 'next_path', type: 'varchar', length: 500 })
  nextPath!: string;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;

  @Column({ name: 'expires_at', type: 'varchar', length: 30 })
  expiresAt!: string;

  @Column({ name: 'used_at', type: 'varchar', length: 30, nullable: true })
  usedAt!: string | null;
}
