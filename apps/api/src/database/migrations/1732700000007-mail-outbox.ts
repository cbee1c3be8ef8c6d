import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The mail outbox (issue 14 §3): transactional mails (invitation, email verification, password
 * reset, 2FA reset) are written in the transaction of the change that asks for them and sent after
 * commit, retried with back-off and on start-up. See `apps/api/src/mail/mail-outbox.ts`.
 */
export class MailOutbox1732700000007 implements MigrationInterface {
  name = 'MailOutbox1732700000007';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'mail_outbox',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'kind', type: 'varchar', length: '20' },
          { name: 'recipient', type: 'varchar', length: '254' },
          { name: 'member_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'subject', type: 'text', isNullable: true },
          { name: 'text', type: 'text', isNullable: true },
          { name: 'html', type: 'text', isNullable: true },
          { name: 'status', type: 'varchar', length: '10' },
          { name: 'attempts', type: 'integer', default: '0' },
          { name: 'next_attempt_at', type: 'varchar', length: '30' },
          { name: 'leased_until', type: 'varchar', length: '30', isNullable: true },
          { name: 'last_error', type: 'varchar', length: '500', isNullable: true },
          { name: 'sent_at', type: 'varchar', length: '30', isNullable: true },
          { name: 'created_at', type: 'varchar', length: '30' },
          { name: 'updated_at', type: 'varchar', length: '30' },
        ],
        indices: [
          new TableIndex({ name: 'ix_mail_outbox_due', columnNames: ['status', 'next_attempt_at'] }),
          new TableIndex({ name: 'ix_mail_outbox_member', columnNames: ['member_id'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('mail_outbox');
  }
}
