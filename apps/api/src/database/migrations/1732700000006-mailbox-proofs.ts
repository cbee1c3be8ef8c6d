import { Table, TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { bool, fk, id, index, ref, text, time } from './columns.js';

/**
 * Mailbox proofs (issue 13): `persons.email_verified` — an unverified email is owned by nobody —,
 * `persons.password_reset_required` and `persons.two_factor_enrolment_required` (an admin reset the
 * person's 2FA), and `email_links`: single-use tokens mailed to a person (email verification 24 h,
 * password reset 1 h), stored only as their SHA-256.
 *
 * Existing persons count as verified when they already proved the mailbox: they accepted an
 * invitation (a member that was invited and is no longer pending) or linked a provider identity (the
 * provider vouched for the email). Everyone else — sign-ups — starts unverified.
 */
export class MailboxProofs1732700000006 implements MigrationInterface {
  name = 'MailboxProofs1732700000006';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('persons', [
      new TableColumn(bool('email_verified')),
      new TableColumn(bool('password_reset_required')),
      new TableColumn(bool('two_factor_enrolment_required')),
    ]);
    await queryRunner.query(
      'UPDATE persons SET email_verified = true WHERE id IN (' +
        "SELECT person_id FROM members WHERE person_id IS NOT NULL AND invited_at IS NOT NULL AND status <> 'invited' " +
        'UNION SELECT person_id FROM identities)',
    );
    await queryRunner.createTable(
      new Table({
        name: 'email_links',
        columns: [
          id(),
          ref('person_id'),
          text('purpose', 20),
          text('email', 254),
          { ...text('token_hash', 64), isUnique: true },
          time('expires_at'),
          time('ended_at', true),
          time('created_at'),
        ],
        foreignKeys: [
          fk('person_id', 'persons', 'CASCADE'),
        ],
        indices: [index('ix_email_links_person_purpose', ['person_id', 'purpose'])],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('email_links');
    await queryRunner.dropColumn('persons', 'two_factor_enrolment_required');
    await queryRunner.dropColumn('persons', 'password_reset_required');
    await queryRunner.dropColumn('persons', 'email_verified');
  }
}
