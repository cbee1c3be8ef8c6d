import { loadavg, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { PermissionKey, RoleDto } from '@rolecall/contracts';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { sha256Hex } from '../../../apps/api/src/common/tokens.js';
import { createAccount } from '../../api/support/factories.js';
import { client } from '../../api/support/http.js';
import { sharedDatabase, startNode, type ApiNode } from '../../api/support/nodes.js';
import { pgSeeder, seedPopulation } from '../propagation/seed.js';

/**
 * `npm run bench:role-edit-pg` (issue 18 (b), PostgreSQL only; needs apps/api/dist built).
 *
 * A role held by half of 10,000 members is edited: the request's big statement is the holders'
 * permission-version bump (apps/api/src/members/permission-rows.ts `bumpRoleHolders`), one row
 * update per holder. Each is HOT (no entry in any of the members table's 17 indexes) only if the
 * row's page has room for the new version — migration 1732700000013 keeps half of every page free.
 *
 * One API node on a fresh database (its migrations run), 10,000 members seeded, then per fillfactor
 * (the migrated one first, then each of ROLE_EDIT_PG_COMPARE, default "100" = before the migration;
 * the table is rewritten with VACUUM FULL so the setting applies to every page): 5 rounds of
 * a real `PATCH /roles/:id` over HTTP (committed: the next round sees the dead versions it left),
 * then the holders' UPDATE … RETURNING alone in a transaction rolled back, with its HOT count.
 * Small enough for the shared 2-core machine (no sockets); the load average is printed.
 */
const DATABASE_URL = process.env['DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
const MEMBERS = Number(process.env['ROLE_EDIT_PG_MEMBERS'] ?? 10_000);
const ROUNDS = 5;
const COMPARE = (process.env['ROLE_EDIT_PG_COMPARE'] ?? '100')
  .split(',')
  .map((value) => value.trim())
  .filter(Boolean)
  .map(Number);
const BASE: PermissionKey[] = ['people.view', 'campaigns.view', 'dashboards.view', 'reports.view'];
const TOGGLED: PermissionKey[] = [...BASE, 'reports.export'];

let node: ApiNode | undefined;
let pool: pg.Pool | undefined;
let dropDatabase: (() => Promise<void>) | undefined;
afterAll(async () => {
  await node?.stop();
  await pool?.end();
  await dropDatabase?.();
});

const load = () => loadavg().map((value) => value.toFixed(2)).join(' ');
const ms = (value: number) => value.toFixed(0);
const out = (line: string) => process.stdout.write(`${line}\n`);

test('role edit on PostgreSQL: the holders’ version bump, HOT or not', async () => {
  for (const value of COMPARE) expect(value >= 10 && value <= 100, `fillfactor ${value}`).toBe(true);
  out(`\n[bench role-edit-pg] ${new Date().toISOString()}, node ${process.version}, ${cpus().length} CPUs, load average at start ${load()}`);
  const db = await sharedDatabase(DATABASE_URL);
  dropDatabase = db.drop;
  node = await startNode({ DATABASE_URL: db.url }); // runs the migrations
  const api = client(node.url);
  const owner = await createAccount(api, { plan: 'enterprise', accountName: 'Role Edit Co', name: 'Olive Owner' });
  const created = await api.post<RoleDto>('/roles', { name: 'Half', description: 'round 0', icon: 'bolt', permissions: BASE }, { token: owner.token });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const session = await pool.query<{ id: string }>('SELECT id FROM sessions WHERE token_hash = $1', [sha256Hex(owner.token)]);
  const population = await seedPopulation(pgSeeder(pool), {
    accountId: owner.account.id,
    owner: { memberId: owner.member.id, token: owner.token, sessionId: session.rows[0]!.id },
    customRoleId: created.body.id,
    sockets: MEMBERS,
    dashboards: 5,
    revokeRounds: 40,
    sessionAbsoluteMs: 30 * 86_400_000,
  });
  await pool.query('ANALYZE members');
  const migrated = await pool.query<{ reloptions: string[] | null }>("SELECT reloptions FROM pg_class WHERE relname = 'members'");
  const indexes = await pool.query<{ count: string }>("SELECT count(*) AS count FROM pg_indexes WHERE tablename = 'members'");
  out(
    `seeded ${population.members.toLocaleString('en')} members in ${ms(population.ms)} ms, role holders ${population.roleHolders.length.toLocaleString('en')}; ` +
      `members: ${indexes.rows[0]?.count} indexes, reloptions ${JSON.stringify(migrated.rows[0]?.reloptions ?? null)} as migrated`,
  );

  let role = { id: created.body.id, version: created.body.version, permissions: BASE };
  const measure = async (label: string) => {
    const shape = await pool!.query<{ row: number; rows: string; pages: string; bytes: string }>(
      "SELECT (SELECT avg(pg_column_size(m.*))::int FROM members m) AS row, (SELECT count(*) FROM members) AS rows, " +
        "relpages AS pages, pg_relation_size('members') AS bytes FROM pg_class WHERE relname = 'members'",
    );
    const { row, rows, pages, bytes } = shape.rows[0]!;
    out(`${label}: avg row ${row} B, ${(Number(rows) / Math.max(1, Number(pages))).toFixed(1)} rows per 8 kB page, table ${(Number(bytes) / 1e6).toFixed(1)} MB; load ${load()}`);
    const patches: number[] = [];
    const statements: number[] = [];
    const hot: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const permissions = role.permissions === BASE ? TOGGLED : BASE;
      const t0 = performance.now();
      const reply = await api.patch<RoleDto>(`/roles/${role.id}`, { description: `${label} ${round + 1}`, permissions }, { token: owner.token, headers: { 'if-match': `"${role.version}"` } });
      patches.push(performance.now() - t0);
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      role = { id: role.id, version: reply.body.version, permissions };
      // The same statement bumpRoleHolders runs, alone, rolled back: its time and how many row updates were HOT.
      const connection = await pool!.connect();
      try {
        await connection.query('BEGIN');
        const stats = async () =>
          (await connection.query<{ updated: string; hot: string }>("SELECT n_tup_upd AS updated, n_tup_hot_upd AS hot FROM pg_stat_xact_user_tables WHERE relname = 'members'")).rows[0]!;
        const before = await stats();
        const t1 = performance.now();
        const result = await connection.query(
          'UPDATE members SET permissions_version = permissions_version + 1 WHERE account_id = $1 AND role_id = $2 ' +
            'RETURNING id, status, role_id AS "roleId", agent_access AS "agentAccess", permissions_version AS "permissionsVersion"',
          [owner.account.id, role.id],
        );
        statements.push(performance.now() - t1);
        const after = await stats();
        expect(result.rowCount).toBe(population.roleHolders.length);
        hot.push(`${Number(after.hot) - Number(before.hot)}/${Number(after.updated) - Number(before.updated)}`);
      } finally {
        await connection.query('ROLLBACK');
        connection.release();
      }
    }
    const size = await pool!.query<{ bytes: string }>("SELECT pg_relation_size('members') AS bytes");
    out(`  PATCH /roles/:id over HTTP (committed, in order): ${patches.map(ms).join(', ')} ms`);
    out(`  holders' UPDATE … RETURNING alone (rolled back) after each: ${statements.map(ms).join(', ')} ms; HOT ${hot.join(', ')}`);
    out(`  table ${(Number(size.rows[0]!.bytes) / 1e6).toFixed(1)} MB after; load ${load()}`);
  };

  await measure(`fillfactor as migrated`);
  for (const fillfactor of COMPARE) {
    await pool.query(`ALTER TABLE members SET (fillfactor = ${fillfactor})`);
    const t0 = performance.now();
    await pool.query('VACUUM FULL members');
    const rewrite = performance.now() - t0;
    await pool.query('ANALYZE members');
    await measure(`fillfactor ${fillfactor} (VACUUM FULL ${ms(rewrite)} ms)`);
  }
});
