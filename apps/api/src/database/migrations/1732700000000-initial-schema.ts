import { SYSTEM_ROLES } from '@rolecall/contracts';
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { bool, fk, id, int, json, ref, text, time } from './columns.js';

/**
 * The first schema: persons, accounts, members, roles (system roles seeded), invitations, teams,
 * sessions and activity. Written with TypeORM's portable Table API so the same migration runs on
 * SQLite and PostgreSQL. Timestamps are ISO-8601 UTC strings (fixed width, so they sort correctly).
 */
export class InitialSchema1732700000000 implements MigrationInterface {
  name = 'InitialSchema1732700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'persons',
        columns: [
          id(),
          { ...text('email', 254), isUnique: true },
          text('name', 100),
          text('password_hash', 255, true),
          text('avatar_url', 500, true),
          text('totp_secret', 64, true),
          text('totp_pending_secret', 64, true),
          int('totp_last_step', undefined, true),
          json('recovery_codes', true),
          time('created_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'accounts',
        columns: [
          id(),
          text('name', 100),
          text('plan', 20),
          ref('owner_member_id'),
          ref('billing_contact_member_id'),
          text('auth_enforcement', 20, false, 'any'),
          bool('require_2fa'),
          bool('teams_enabled'),
          text('okta_issuer', 500, true),
          text('okta_client_id', 200, true),
          { name: 'okta_secret_enc', type: 'text', isNullable: true },
          text('validated_phone', 20, true),
          time('validated_at', true),
          int('roles_version', 1),
          int('version', 1),
          int('activity_seq', 0),
          text('activity_hash', 64, false, ''),
          time('created_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'roles',
        columns: [
          id(),
          ref('account_id', true),
          text('system_key', 20, true),
          text('name', 60),
          text('name_key', 60),
          text('description', 280, false, ''),
          text('icon', 30),
          json('permissions'),
          int('position', 0),
          int('version', 1),
          time('created_at'),
          time('updated_at'),
        ],
        foreignKeys: [fk('account_id', 'accounts', 'CASCADE')],
        indices: [
          new TableIndex({ name: 'ix_roles_account_position', columnNames: ['account_id', 'position'] }),
          new TableIndex({ name: 'ux_roles_account_name', columnNames: ['account_id', 'name_key'], isUnique: true }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'members',
        columns: [
          id(),
          ref('account_id'),
          ref('person_id', true),
          text('email', 254),
          text('name', 100, true),
          text('status', 10),
          ref('role_id'),
          bool('agent_access'),
          ref('invited_by_member_id', true),
          time('invited_at', true),
          time('joined_at', true),
          time('last_active_at', true),
          int('permissions_version', 1),
          int('version', 1),
          time('created_at'),
        ],
        foreignKeys: [fk('account_id', 'accounts', 'CASCADE'), fk('person_id', 'persons', 'RESTRICT'), fk('role_id', 'roles')],
        indices: [
          new TableIndex({ name: 'ux_members_account_email', columnNames: ['account_id', 'email'], isUnique: true }),
          new TableIndex({ name: 'ix_members_account_status', columnNames: ['account_id', 'status'] }),
          new TableIndex({ name: 'ix_members_person', columnNames: ['person_id'] }),
          new TableIndex({ name: 'ix_members_role', columnNames: ['role_id'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'teams',
        columns: [id(), ref('account_id'), text('name', 60), text('name_key', 60), int('version', 1), time('created_at')],
        foreignKeys: [fk('account_id', 'accounts', 'CASCADE')],
        indices: [new TableIndex({ name: 'ux_teams_account_name', columnNames: ['account_id', 'name_key'], isUnique: true })],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'member_teams',
        columns: [
          { ...ref('member_id'), isPrimary: true },
          { ...ref('team_id'), isPrimary: true },
        ],
        foreignKeys: [fk('member_id', 'members', 'CASCADE'), fk('team_id', 'teams', 'CASCADE')],
        indices: [new TableIndex({ name: 'ix_member_teams_team', columnNames: ['team_id'] })],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'invitations',
        columns: [
          id(),
          ref('account_id'),
          ref('member_id'),
          { ...text('token_hash', 64), isUnique: true },
          ref('invited_by_member_id', true),
          time('expires_at'),
          time('ended_at', true),
          time('created_at'),
        ],
        foreignKeys: [fk('account_id', 'accounts', 'CASCADE'), fk('member_id', 'members', 'CASCADE')],
        indices: [new TableIndex({ name: 'ix_invitations_member', columnNames: ['member_id'] })],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'sessions',
        columns: [
          id(),
          { ...text('token_hash', 64), isUnique: true },
          ref('person_id'),
          ref('account_id'),
          text('auth_method', 20, false, 'password'),
          text('ip', 64, true),
          text('user_agent', 300, true),
          time('created_at'),
          time('last_seen_at'),
          time('expires_at'),
          time('revoked_at', true),
          text('revoked_reason', 30, true),
        ],
        foreignKeys: [fk('person_id', 'persons', 'CASCADE'), fk('account_id', 'accounts', 'CASCADE')],
        indices: [
          new TableIndex({ name: 'ix_sessions_person', columnNames: ['person_id'] }),
          new TableIndex({ name: 'ix_sessions_account_person', columnNames: ['account_id', 'person_id'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'activity',
        columns: [
          id(),
          ref('account_id'),
          int('seq'),
          time('at'),
          ref('actor_member_id', true),
          text('actor_email', 254, true),
          text('action', 40),
          text('target_type', 20),
          ref('target_id', true),
          text('target_label', 300, true),
          json('changes', true),
          text('ip', 64, true),
          text('user_agent', 300, true),
          text('prev_hash', 64),
          text('hash', 64),
        ],
        foreignKeys: [fk('account_id', 'accounts', 'CASCADE')],
        indices: [
          new TableIndex({ name: 'ux_activity_account_seq', columnNames: ['account_id', 'seq'], isUnique: true }),
          new TableIndex({ name: 'ix_activity_account_action', columnNames: ['account_id', 'action'] }),
        ],
      }),
    );

    const now = new Date().toISOString();
    const postgres = queryRunner.connection.driver.options.type === 'postgres';
    const placeholders = Array.from({ length: 12 }, (_, i) => (postgres ? `$${i + 1}` : '?')).join(', ');
    for (const [position, role] of SYSTEM_ROLES.entries()) {
      await queryRunner.query(
        `INSERT INTO roles (id, account_id, system_key, name, name_key, description, icon, permissions, position, version, created_at, updated_at)
         VALUES (${placeholders})`,
        [role.id, null, role.key, role.name, role.name.toLowerCase(), role.description, role.icon, JSON.stringify(role.permissions), position, 1, now, now],
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['activity', 'sessions', 'invitations', 'member_teams', 'teams', 'members', 'roles', 'accounts', 'persons']) {
      await queryRunner.dropTable(table);
    }
  }
}
