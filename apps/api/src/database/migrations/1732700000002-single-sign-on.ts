import { Table, TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { bool, fk, id, index, ref, text, time } from './columns.js';

/**
 * Single sign-on: `identities` (a person's linked provider identities, unique per provider, issuer
 * and subject), `sso_flows` (sign-ins between start and callback: hashed state, nonce, PKCE
 * verifier, 10 minutes, single use) and `sessions.mfa` (a second factor was proven at sign-in).
 * Portable Table API; timestamps are ISO-8601 strings like everywhere else.
 */
export class SingleSignOn1732700000002 implements MigrationInterface {
  name = 'SingleSignOn1732700000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('sessions', new TableColumn(bool('mfa')));

    await queryRunner.createTable(
      new Table({
        name: 'identities',
        columns: [
          id(),
          ref('person_id'),
          text('provider', 20),
          text('issuer', 500),
          text('subject', 255),
          text('email', 254, true),
          time('created_at'),
          time('last_used_at'),
        ],
        foreignKeys: [fk('person_id', 'persons', 'CASCADE')],
        indices: [
          index('ux_identities_provider_issuer_subject', ['provider', 'issuer', 'subject'], true),
          index('ix_identities_person', ['person_id']),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'sso_flows',
        columns: [
          id(),
          { ...text('state_hash', 64), isUnique: true },
          text('binding_hash', 64),
          text('provider', 20),
          ref('account_id'),
          text('nonce', 100),
          text('code_verifier', 100),
          text('next_path', 500),
          time('created_at'),
          time('expires_at'),
          time('used_at', true),
        ],
        foreignKeys: [fk('account_id', 'accounts', 'CASCADE')],
        indices: [index('ix_sso_flows_expires', ['expires_at'])],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('sso_flows');
    await queryRunner.dropTable('identities');
    await queryRunner.dropColumn('sessions', 'mfa');
  }
}
