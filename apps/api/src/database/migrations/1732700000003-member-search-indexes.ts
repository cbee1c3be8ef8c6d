import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The filter columns, carried in SQLite's sort indexes so a filtered page or count never reads the table. */
const FILTERS = 'status, role_id, agent_access';

/** SQLite's sort indexes before (1732700000001) and after this migration. */
const SQLITE_SORT_INDEXES = [
  { name: 'ix_members_sort_name', before: 'account_id, sort_name, id', after: `account_id, sort_name, id, ${FILTERS}` },
  // `sort_name` too: the email branch of a prefix search skips rows the name branch already has.
  {
    name: 'ix_members_sort_email',
    before: 'account_id, email, id',
    after: `account_id, email, id, sort_name, ${FILTERS}`,
  },
  {
    name: 'ix_members_sort_created',
    before: 'account_id, created_at, id',
    after: `account_id, created_at, id, ${FILTERS}`,
  },
  {
    name: 'ix_members_sort_active',
    before: 'account_id, last_active_sort, id',
    after: `account_id, last_active_sort, id, ${FILTERS}`,
  },
] as const;

/**
 * The member list (`GET /users`) at 100,000 members (issue 3):
 * - `total` with role and status filters counts one range of (account, role, status) on both databases.
 * - `q` (a name or email prefix) is two index ranges, `lo <= value < hi` in code point order
 *   (`MembersRepository.page`). SQLite's BINARY collation is code point order, so its sort indexes
 *   serve; they also carry the filter columns, so a rare filter is checked in the index while it is
 *   walked in sort order. PostgreSQL sorts in the database's collation, which need not be code point
 *   order, so the ranges compare with `COLLATE "C"` and get indexes of their own; its planner uses
 *   statistics for the other filters and needs no wider sort indexes.
 */
export class MemberSearchIndexes1732700000003 implements MigrationInterface {
  name = 'MemberSearchIndexes1732700000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX ix_members_account_role_status ON members (account_id, role_id, status)');
    if (queryRunner.connection.options.type === 'postgres') {
      await queryRunner.query('CREATE INDEX ix_members_prefix_name ON members (account_id, sort_name COLLATE "C", id)');
      await queryRunner.query(
        'CREATE INDEX ix_members_prefix_email ON members (account_id, email COLLATE "C") INCLUDE (sort_name, id)',
      );
      return;
    }
    for (const index of SQLITE_SORT_INDEXES) {
      await queryRunner.query(`DROP INDEX ${index.name}`);
      await queryRunner.query(`CREATE INDEX ${index.name} ON members (${index.after})`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'postgres') {
      await queryRunner.query('DROP INDEX ix_members_prefix_email');
      await queryRunner.query('DROP INDEX ix_members_prefix_name');
    } else {
      for (const index of SQLITE_SORT_INDEXES) {
        await queryRunner.query(`DROP INDEX ${index.name}`);
        await queryRunner.query(`CREATE INDEX ${index.name} ON members (${index.before})`);
      }
    }
    await queryRunner.query('DROP INDEX ix_members_account_role_status');
  }
}
