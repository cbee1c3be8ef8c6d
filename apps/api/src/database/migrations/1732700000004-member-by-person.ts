import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every authenticated request and socket handshake looks up the signed-in person's membership by
 * (account, person). With only `ix_members_person` and several (account, …) indexes, SQLite's
 * planner could walk the whole account (0.7 ms per lookup at 10,000 members, measured by
 * `npm run bench:propagation`); an index on both columns makes it one probe on either database.
 */
export class MemberByPerson1732700000004 implements MigrationInterface {
  name = 'MemberByPerson1732700000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX ix_members_account_person ON members (account_id, person_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX ix_members_account_person');
  }
}
