import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The member list (`GET /users`) sorts and pages by name, email, creation and last activity with a
 * keyset cursor. `sort_name` is the lower-cased name (the email while invited) kept by the app, so
 * every sort is a plain column with an (account, key, id) index; the same SQL runs on both databases.
 */
export class MemberListIndexes1732700000001 implements MigrationInterface {
  name = 'MemberListIndexes1732700000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('members', new TableColumn({ name: 'sort_name', type: 'varchar', length: '254', default: "''" }));
    await queryRunner.addColumn('members', new TableColumn({ name: 'last_active_sort', type: 'varchar', length: '30', default: "''" }));
    await queryRunner.query(`UPDATE members SET sort_name = LOWER(COALESCE(name, email)), last_active_sort = COALESCE(last_active_at, '')`);
    await queryRunner.query('CREATE INDEX ix_members_sort_name ON members (account_id, sort_name, id)');
    await queryRunner.query('CREATE INDEX ix_members_sort_email ON members (account_id, email, id)');
    await queryRunner.query('CREATE INDEX ix_members_sort_created ON members (account_id, created_at, id)');
    await queryRunner.query('CREATE INDEX ix_members_sort_active ON members (account_id, last_active_sort, id)');
    await queryRunner.query('CREATE INDEX ix_activity_account_target ON activity (account_id, target_id, seq)');
    await queryRunner.query('CREATE INDEX ix_activity_account_actor ON activity (account_id, actor_member_id, seq)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of ['ix_members_sort_name', 'ix_members_sort_email', 'ix_members_sort_created', 'ix_members_sort_active']) {
      await queryRunner.query(`DROP INDEX ${index}`);
    }
    await queryRunner.query('DROP INDEX ix_activity_account_target');
    await queryRunner.query('DROP INDEX ix_activity_account_actor');
    await queryRunner.dropColumn('members', 'last_active_sort');
    await queryRunner.dropColumn('members', 'sort_name');
  }
}
