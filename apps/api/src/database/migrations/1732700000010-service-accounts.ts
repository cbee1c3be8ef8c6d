import { Table, TableForeignKey, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Service accounts and their API keys (issue 16 §3). See `apps/api/src/service-accounts`. */
export class ServiceAccounts1732700000010 implements MigrationInterface {
  name = 'ServiceAccounts1732700000010';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'service_accounts',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '36' },
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'role_id', type: 'varchar', length: '36' },
          { name: 'permissions_version', type: 'integer', default: 1 },
          { name: 'version', type: 'integer', default: 1 },
          { name: 'created_at', type: 'varchar', length: '30' },
        ],
        indices: [
          new TableIndex({ name: 'ix_service_accounts_account', columnNames: ['account_id'] }),
          new TableIndex({ name: 'ix_service_accounts_role', columnNames: ['role_id'] }),
        ],
        foreignKeys: [
          new TableForeignKey({ columnNames: ['account_id'], referencedTableName: 'accounts', referencedColumnNames: ['id'], onDelete: 'CASCADE' }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'service_account_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'service_account_id', type: 'varchar', length: '36' },
          { name: 'account_id', type: 'varchar', length: '36' },
          { name: 'prefix', type: 'varchar', length: '20' },
          { name: 'token_hash', type: 'varchar', length: '64' },
          { name: 'created_at', type: 'varchar', length: '30' },
          { name: 'expires_at', type: 'varchar', length: '30', isNullable: true },
          { name: 'last_used_at', type: 'varchar', length: '30', isNullable: true },
          { name: 'revoked_at', type: 'varchar', length: '30', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'ux_service_account_keys_hash', columnNames: ['token_hash'], isUnique: true }),
          new TableIndex({ name: 'ix_service_account_keys_owner', columnNames: ['service_account_id'] }),
        ],
        foreignKeys: [
          new TableForeignKey({ columnNames: ['service_account_id'], referencedTableName: 'service_accounts', referencedColumnNames: ['id'], onDelete: 'CASCADE' }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('service_account_keys');
    await queryRunner.dropTable('service_accounts');
  }
}
