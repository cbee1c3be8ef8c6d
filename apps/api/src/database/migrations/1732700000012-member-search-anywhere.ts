import type { MigrationInterface, QueryRunner } from 'typeorm';
import { searchNameOf } from '../entities/member.entity.js';

/** The filter columns SQLite's sort indexes carry since 1732700000003. */
const FILTERS = 'status, role_id, agent_access';

/** SQLite's sort indexes before (1732700000003) and after this migration: each also carries what `q` reads. */
const SQLITE_SORT_INDEXES = [
  {
    name: 'ix_members_sort_name',
    before: `account_id, sort_name, id, ${FILTERS}`,
    after: `account_id, sort_name, id, ${FILTERS}, search_name, email`,
  },
  {
    name: 'ix_members_sort_email',
    before: `account_id, email, id, sort_name, ${FILTERS}`,
    after: `account_id, email, id, sort_name, ${FILTERS}, search_name`,
  },
  {
    name: 'ix_members_sort_created',
    before: `account_id, created_at, id, ${FILTERS}`,
    after: `account_id, created_at, id, ${FILTERS}, search_name, email`,
  },
  {
    name: 'ix_members_sort_active',
    before: `account_id, last_active_sort, id, ${FILTERS}`,
    after: `account_id, last_active_sort, id, ${FILTERS}, search_name, email`,
  },
] as const;

/**
 * Search anywhere in a name or email (issue 17 §1): `q` of 3 characters or more matches any part of
 * `search_name` (the name folded by `searchFold`: lower case, no accents; '' while invited, kept by
 * the app with `sort_name`) or of `email` (lower-case ASCII already), prefix matches first.
 * - PostgreSQL: `pg_trgm` GIN indexes on both columns serve `LIKE '%…%'` for rare terms; the name
 *   prefix (the first group) is a `COLLATE "C"` range, as the email's is since 1732700000003.
 * - SQLite: an FTS5 trigram table was measured slower than a plain walk at 100,000 members (every
 *   email shares "@example.com"'s trigrams: 68 ms to count a term in every row, 7 ms for one in none,
 *   against 11 ms for walking the account's index entries with `instr`), so the sort indexes carry
 *   `search_name` and `email`: a page walks its sort index and stops after `limit + 1` matches, and
 *   the count walks one index without reading the table. `ix_members_search_name` serves the name
 *   prefix range and is the narrowest index a count can walk (it carries the email and the filters:
 *   without them SQLite counted through it reading every row, 40 ms at 100,000 members).
 * Existing rows are back-filled here with the app's own folding (one UPDATE per distinct name).
 */
export class MemberSearchAnywhere1732700000012 implements MigrationInterface {
  name = 'MemberSearchAnywhere1732700000012';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    await queryRunner.query("ALTER TABLE members ADD COLUMN search_name varchar(254) NOT NULL DEFAULT ''");
    const names: { name: string }[] = await queryRunner.query(
      'SELECT DISTINCT name FROM members WHERE name IS NOT NULL',
    );
    for (const { name } of names) {
      await queryRunner.query(
        `UPDATE members SET search_name = ${postgres ? '$1' : '?'} WHERE name = ${postgres ? '$2' : '?'}`,
        [searchNameOf(name), name],
      );
    }
    if (postgres) {
      await queryRunner.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
      await queryRunner.query(
        'CREATE INDEX ix_members_search_name_trgm ON members USING gin (search_name gin_trgm_ops)',
      );
      await queryRunner.query('CREATE INDEX ix_members_email_trgm ON members USING gin (email gin_trgm_ops)');
      await queryRunner.query(
        'CREATE INDEX ix_members_prefix_search_name ON members (account_id, search_name COLLATE "C", id)',
      );
      return;
    }
    for (const index of SQLITE_SORT_INDEXES) {
      await queryRunner.query(`DROP INDEX ${index.name}`);
      await queryRunner.query(`CREATE INDEX ${index.name} ON members (${index.after})`);
    }
    await queryRunner.query(
      `CREATE INDEX ix_members_search_name ON members (account_id, search_name, email, ${FILTERS})`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'postgres') {
      await queryRunner.query('DROP INDEX ix_members_prefix_search_name');
      await queryRunner.query('DROP INDEX ix_members_email_trgm');
      await queryRunner.query('DROP INDEX ix_members_search_name_trgm');
    } else {
      await queryRunner.query('DROP INDEX ix_members_search_name');
      for (const index of SQLITE_SORT_INDEXES) {
        await queryRunner.query(`DROP INDEX ${index.name}`);
        await queryRunner.query(`CREATE INDEX ${index.name} ON members (${index.before})`);
      }
    }
    await queryRunner.query('ALTER TABLE members DROP COLUMN search_name');
  }
}
