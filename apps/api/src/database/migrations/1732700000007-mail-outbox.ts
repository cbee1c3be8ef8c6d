import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { id, index, longText, ref, text, time } from './columns.js';

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
          id(),
          text('kind', 20),
          text('recipient', 254),
          ref('member_id', true),
          longText('subject', true),
          longText('text', true),
          longText('html', true),
          text('status', 10),
          { name: 'attempts', type: 'integer', default: '0' },
          time('next_attempt_at'),
          time('leased_until', true),
          text('last_error', 500, true),
          time('sent_at', true),
          time('created_at'),
          time('updated_at'),
        ],
        indices: [
          index('ix_mail_outbox_due', ['status', 'next_attempt_at']),
          index('ix_mail_outbox_member', ['member_id']),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('mail_outbox');
  }
}
