import { Table, TableColumn, TableForeignKey, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Single sign-on: `identities` (a person's linked provider identities, unique per provider, issuer
 * and subject), `sso_flows` (sign-ins between start and callback: hashed state, nonce, PKCE
 * verifier, 10 minutes, single use) and `sessions.mfa` (a second factor was proven at sign-in).
 * Portable Table API; timestamps are ISO-8601 strings like everywhere else.
 */
export class SingleSignOn1732700000002 implements MigrationInterface {
  name = 'SingleSignOn1732700000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('sessions', new TableColumn({ name: 'mfa', type: 'boolean', default: 'false' }));

    await queryRunner.createTable(
      new Table({
        name: 'identities',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'person_id', type: 'varchar', length: '36' },
          { name: 'provider', type: 'varchar', length: '20' },
          { name: 'issuer', type: 'varchar', length: '500' },
          { name: 'subject', type: 'varchar', length: '255' },
          { name: 'email', type: 'varchar', length: '254', isNullable: true },
          { name: 'created_at', type: 'varchar', length: '30' },
          { name: 'last_used_at', type: 'varchar', length: '30' },
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['person_id'],
            referencedTableName: 'persons',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
        indices: [
          new TableIndex({
            name: 'ux_identities_provider_issuer_subject',
            columnNames: ['provider', 'issuer', 'subject'],
            isUnique: true,
          }),
          new TableIndex({ name: 'ix_identities_person', columnNames: ['person_id'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'sso_flows',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'state_hash', type: 'varchar', length: '64', isUnique: true },
          { name: 'binding_hash', type: 'varchar', length: '64' },
          { name: 'provider', type: 'varchar', length: '20' },
          { name: 'account_id', type: 'varchar', length: '36' },
          { name: 'nonce', type: 'varchar', length: '100' },
          { name: 'code_verifier', type: 'varchar', length: '100' },
          { name: 'next_path', type: 'varchar', length: '500' },
          { name: 'created_at', type: 'varchar', length: '30' },
          { name: 'expires_at', type: 'varchar', length: '30' },
          { name: 'used_at', type: 'varchar', length: '30', isNullable: true },
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['account_id'],
            referencedTableName: 'accounts',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
        indices: [new TableIndex({ name: 'ix_sso_flows_expires', columnNames: ['expires_at'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('sso_flows');
    await queryRunner.dropTable('identities');
    await queryRunner.dropColumn('sessions', 'mfa');
  }
}
