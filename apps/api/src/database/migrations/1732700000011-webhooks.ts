import { Table, TableForeignKey, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Audit streaming (issue 16 §4): webhook endpoints, each with its cursor into the activity log (the
 * log is the delivery queue) and its lease, and the delivery log of their attempts. See
 * `apps/api/src/webhooks/webhook-worker.ts`.
 */
export class Webhooks1732700000011 implements MigrationInterface {
  name = 'Webhooks1732700000011';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'webhook_endpoints',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '36' },
          { name: 'url', type: 'varchar', length: '2000' },
          { name: 'description', type: 'varchar', length: '300', default: "''" },
          { name: 'events', type: 'text', isNullable: true },
          { name: 'enabled', type: 'boolean', default: 'true' },
          { name: 'disabled_reason', type: 'varchar', length: '20', isNullable: true },
          { name: 'disabled_at', type: 'varchar', length: '30', isNullable: true },
          { name: 'secret_sealed', type: 'varchar', length: '300' },
          { name: 'cursor_seq', type: 'integer', default: 0 },
          { name: 'next_attempt_at', type: 'varchar', length: '30' },
          { name: 'failures', type: 'integer', default: 0 },
          { name: 'failing_since', type: 'varchar', length: '30', isNullable: true },
          { name: 'last_error', type: 'varchar', length: '300', isNullable: true },
          { name: 'last_success_at', type: 'varchar', length: '30', isNullable: true },
          { name: 'leased_until', type: 'varchar', length: '30', isNullable: true },
          { name: 'lease_owner', type: 'varchar', length: '36', isNullable: true },
          { name: 'version', type: 'integer', default: 1 },
          { name: 'created_at', type: 'varchar', length: '30' },
        ],
        indices: [
          new TableIndex({ name: 'ix_webhook_endpoints_account', columnNames: ['account_id'] }),
          new TableIndex({ name: 'ix_webhook_endpoints_due', columnNames: ['enabled', 'next_attempt_at'] }),
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['account_id'],
            referencedTableName: 'accounts',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'webhook_deliveries',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'endpoint_id', type: 'varchar', length: '36' },
          { name: 'seq', type: 'integer' },
          { name: 'action', type: 'varchar', length: '40' },
          { name: 'at', type: 'varchar', length: '30' },
          { name: 'ok', type: 'boolean' },
          { name: 'status_code', type: 'integer', isNullable: true },
          { name: 'error', type: 'varchar', length: '300', isNullable: true },
          { name: 'duration_ms', type: 'integer' },
        ],
        indices: [
          new TableIndex({ name: 'ix_webhook_deliveries_endpoint', columnNames: ['endpoint_id', 'id'] }),
          new TableIndex({ name: 'ix_webhook_deliveries_at', columnNames: ['at'] }),
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['endpoint_id'],
            referencedTableName: 'webhook_endpoints',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('webhook_deliveries');
    await queryRunner.dropTable('webhook_endpoints');
  }
}
