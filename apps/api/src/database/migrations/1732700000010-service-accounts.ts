import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { fk, id, index, int, ref, text, time } from './columns.js';

/** Service accounts and their API keys (issue 16 §3). See `apps/api/src/service-accounts`. */
export class ServiceAccounts1732700000010 implements MigrationInterface {
  name = 'ServiceAccounts1732700000010';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'service_accounts',
        columns: [
          id(),
          ref('account_id'),
          text('name', 100),
          ref('role_id'),
          int('permissions_version', 1),
          int('version', 1),
          time('created_at'),
        ],
        indices: [
          index('ix_service_accounts_account', ['account_id']),
          index('ix_service_accounts_role', ['role_id']),
        ],
        foreignKeys: [
          fk('account_id', 'accounts', 'CASCADE'),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'service_account_keys',
        columns: [
          id(),
          ref('service_account_id'),
          ref('account_id'),
          text('prefix', 20),
          text('token_hash', 64),
          time('created_at'),
          time('expires_at', true),
          time('last_used_at', true),
          time('revoked_at', true),
        ],
        indices: [
          index('ux_service_account_keys_hash', ['token_hash'], true),
          index('ix_service_account_keys_owner', ['service_account_id']),
        ],
        foreignKeys: [
          fk('service_account_id', 'service_accounts', 'CASCADE'),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('service_account_keys');
    await queryRunner.dropTable('service_accounts');
  }
}
