import { Table, TableColumn, TableForeignKey, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

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
      new TableColumn({ name: 'email_verified', type: 'boolean', default: 'false' }),
      new TableColumn({ name: 'password_reset_required', type: 'boolean', default: 'false' }),
      new TableColumn({ name: 'two_factor_enrolment_required', type: 'boolean', default: 'false' }),
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
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'person_id', type: 'varchar', length: '36' },
          { name: 'purpose', type: 'varchar', length: '20' },
          { name: 'email', type: 'varchar', length: '254' },
          { name: 'token_hash', type: 'varchar', length: '64', isUnique: true },
          { name: 'expires_at', type: 'varchar', length: '30' },
          { name: 'ended_at', type: 'varchar', length: '30', isNullable: true },
          { name: 'created_at', type: 'varchar', length: '30' },
        ],
        foreignKeys: [
          new TableForeignKey({ columnNames: ['person_id'], referencedTableName: 'persons', referencedColumnNames: ['id'], onDelete: 'CASCADE' }),
        ],
        indices: [new TableIndex({ name: 'ix_email_links_person_purpose', columnNames: ['person_id', 'purpose'] })],
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
