import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SCIM 2.0 provisioning (issue 16 §2): one bearer token per account (only its SHA-256 kept), and on
 * members the identity provider's `externalId` and whether SCIM made the membership (such a member
 * signs in through the account's provider without an invitation). Plain ALTER TABLE … ADD COLUMN:
 * instant on both databases.
 */
export class Scim1732700000009 implements MigrationInterface {
  name = 'Scim1732700000009';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE scim_tokens (account_id varchar(36) PRIMARY KEY, token_hash varchar(64) NOT NULL UNIQUE, ' +
        'created_at varchar(30) NOT NULL, created_by_member_id varchar(36), last_used_at varchar(30))',
    );
    await queryRunner.query('ALTER TABLE members ADD COLUMN external_id varchar(255)');
    await queryRunner.query('ALTER TABLE members ADD COLUMN scim_provisioned boolean NOT NULL DEFAULT false');
    await queryRunner.query('CREATE INDEX ix_members_account_external ON members (account_id, external_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX ix_members_account_external');
    await queryRunner.query('ALTER TABLE members DROP COLUMN scim_provisioned');
    await queryRunner.query('ALTER TABLE members DROP COLUMN external_id');
    await queryRunner.query('DROP TABLE scim_tokens');
  }
}
