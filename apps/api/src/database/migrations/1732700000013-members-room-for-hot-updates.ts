import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PostgreSQL only: `members` pages keep half their space free (fillfactor 50), so that a role edit's
 * one statement over its holders (`bumpRoleHolders`: `permissions_version + 1`, a column in no index)
 * is a HOT update — the new row version on the same page, no entry in any of the table's 17 indexes
 * (two of them trigram GIN). Measured with `npm run bench:members-fillfactor` (issue 18; 9,918
 * members, half holding the role, 421-byte rows, 5 edits in a row): fillfactor 100 → 0 of 4,959
 * updates HOT, 316–492 ms per edit, and the table grew from 4.3 to 15.0 MB; 80 → 1,327–3,911 HOT,
 * 355–126 ms; 70 → 221–47 ms; 60 → 117–19 ms; 50 → all 4,959 HOT from the first edit, 18–19 ms, 9.0 MB.
 * Nothing else writes `members` in bulk; other updates (a role change, last active) touch a row or two.
 *
 * The setting applies to pages written from now on: a fresh database has it everywhere, an existing
 * table gets it as rows move (every non-HOT update writes the row to a page with room). To apply it
 * to every existing row at once, run `VACUUM FULL members` at a quiet moment (it locks the table while
 * it rewrites it) — not done here, because migrations run at start-up and that lock grows with the table.
 */
export class MembersRoomForHotUpdates1732700000013 implements MigrationInterface {
  name = 'MembersRoomForHotUpdates1732700000013';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query('ALTER TABLE members SET (fillfactor = 50)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query('ALTER TABLE members RESET (fillfactor)');
  }
}
