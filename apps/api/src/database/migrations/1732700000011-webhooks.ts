import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { bool, fk, id, index, int, longText, ref, text, time } from './columns.js';

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
          id(),
          ref('account_id'),
          text('url', 2000),
          text('description', 300, false, ''),
          longText('events', true),
          bool('enabled', true),
          text('disabled_reason', 20, true),
          time('disabled_at', true),
          text('secret_sealed', 300),
          int('cursor_seq', 0),
          time('next_attempt_at'),
          int('failures', 0),
          time('failing_since', true),
          text('last_error', 300, true),
          time('last_success_at', true),
          time('leased_until', true),
          text('lease_owner', 36, true),
          int('version', 1),
          time('created_at'),
        ],
        indices: [
          index('ix_webhook_endpoints_account', ['account_id']),
          index('ix_webhook_endpoints_due', ['enabled', 'next_attempt_at']),
        ],
        foreignKeys: [fk('account_id', 'accounts', 'CASCADE')],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'webhook_deliveries',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          ref('endpoint_id'),
          int('seq'),
          text('action', 40),
          time('at'),
          { name: 'ok', type: 'boolean' },
          { name: 'status_code', type: 'integer', isNullable: true },
          text('error', 300, true),
          int('duration_ms'),
        ],
        indices: [
          index('ix_webhook_deliveries_endpoint', ['endpoint_id', 'id']),
          index('ix_webhook_deliveries_at', ['at']),
        ],
        foreignKeys: [fk('endpoint_id', 'webhook_endpoints', 'CASCADE')],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('webhook_deliveries');
    await queryRunner.dropTable('webhook_endpoints');
  }
}
