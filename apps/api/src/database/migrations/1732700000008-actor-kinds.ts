import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Activity entries made by something other than a member (issue 16): an identity provider's SCIM
 * client or a service account's API key. `actor_kind` says which, `actor_name` keeps its display
 * name as it was. Both are hashed only when set, so older entries' hashes are unchanged.
 */
export class ActorKinds1732700000008 implements MigrationInterface {
  name = 'ActorKinds1732700000008';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Plain ALTER TABLE … ADD COLUMN (nullable, no default): instant on both databases, where
    // TypeORM's addColumns would copy the whole table on SQLite — the activity log is the largest one.
    await queryRunner.query('ALTER TABLE activity ADD COLUMN actor_kind varchar(20)');
    await queryRunner.query('ALTER TABLE activity ADD COLUMN actor_name varchar(100)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE activity DROP COLUMN actor_name');
    await queryRunner.query('ALTER TABLE activity DROP COLUMN actor_kind');
  }
}
