import type { RoleDto } from '@rolecall/contracts';
import { loadavg } from 'node:os';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { sha256Hex } from '../../../apps/api/src/common/tokens.js';
import { createAccount } from '../../api/support/factories.js';
import { client } from '../../api/support/http.js';
import { sharedDatabase, startNode, type ApiNode } from '../../api/support/nodes.js';
import { pgSeeder, seedPopulation } from '../propagation/seed.js';

/**
 * `npm run bench:members-fillfactor` (issue 18 (b)): a role edit's one statement over its holders
 * (`bumpRoleHolders`: `UPDATE members SET permissions_version = permissions_version + 1 … RETURNING`)
 * on PostgreSQL at BENCH_MEMBERS (10,000, half of them holding the role, the scale-out bench's
 * population), 5 edits in a row (committed) per fillfactor of `members`, the table rewritten
 * (`VACUUM FULL`) before each: the statement's time and how many of its row updates were HOT (no
 * index entry written). Why migration 1732700000013 sets 50. DATABASE_URL as the other benches.
 */
const FILLFACTORS = [100, 90, 80, 70, 60, 50];
const SOCKETS = Number(process.env['BENCH_MEMBERS']) || 10_000;

let node: ApiNode | undefined;
let drop: (() => Promise<void>) | undefined;
let pool: pg.Pool | undefined;
afterAll(async () => {
  await node?.stop();
  await pool?.end();
  await drop?.();
});

test('members fillfactor: the role edit holders’ UPDATE, time and HOT share', async () => {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`\n[bench members-fillfactor] ${new Date().toISOString()}, load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const db = await sharedDatabase(process.env['DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test');
  drop = db.drop;
  node = await startNode({ DATABASE_URL: db.url }); // runs the migrations
  const api = client(node.url);
  const owner = await createAccount(api, { plan: 'enterprise', accountName: 'Fillfactor Co', name: 'Olive Owner' });
  const role = await api.post<RoleDto>('/roles', { name: 'Half', description: '', icon: 'bolt', permissions: ['people.view'] }, { token: owner.token });
  expect(role.status).toBe(201);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const session = await pool.query<{ id: string }>('SELECT id FROM sessions WHERE token_hash = $1', [sha256Hex(owner.token)]);
  await seedPopulation(pgSeeder(pool), {
    accountId: owner.account.id,
    owner: { memberId: owner.member.id, token: owner.token, sessionId: session.rows[0]!.id },
    customRoleId: role.body.id,
    sockets: SOCKETS,
    dashboards: 5,
    revokeRounds: 40,
    sessionAbsoluteMs: 30 * 24 * 60 * 60 * 1000,
  });
  const shape = await pool.query<{ row: number; members: string }>('SELECT avg(pg_column_size(m.*))::int AS row, count(*) AS members FROM members m');
  out(`members: ${shape.rows[0]!.members}, ${shape.rows[0]!.row} bytes per row on average`);
  const results: { fillfactor: number; ms: number[]; hot: number[]; updated: number; mb: number }[] = [];
  for (const fillfactor of FILLFACTORS) {
    await pool.query(`ALTER TABLE members SET (fillfactor = ${fillfactor})`);
    await pool.query('VACUUM FULL members');
    await pool.query('ANALYZE members');
    const result = { fillfactor, ms: [] as number[], hot: [] as number[], updated: 0, mb: 0 };
    for (let edit = 0; edit < 5; edit += 1) {
      const connection = await pool.connect();
      try {
        await connection.query('BEGIN');
        const stats = async () =>
          (await connection.query<{ updated: string; hot: string }>("SELECT n_tup_upd AS updated, n_tup_hot_upd AS hot FROM pg_stat_xact_user_tables WHERE relname = 'members'")).rows[0]!;
        const before = await stats();
        const t0 = performance.now();
        await connection.query(
          'UPDATE members SET permissions_version = permissions_version + 1 WHERE account_id = $1 AND role_id = $2 ' +
            'RETURNING id, status, role_id AS "roleId", agent_access AS "agentAccess", permissions_version AS "permissionsVersion"',
          [owner.account.id, role.body.id],
        );
        result.ms.push(performance.now() - t0);
        const after = await stats();
        result.hot.push(Number(after.hot) - Number(before.hot));
        result.updated = Number(after.updated) - Number(before.updated);
        await connection.query('COMMIT');
      } finally {
        connection.release();
      }
    }
    result.mb = Number((await pool.query<{ bytes: string }>("SELECT pg_relation_size('members') AS bytes")).rows[0]!.bytes) / 1e6;
    results.push(result);
    out(`fillfactor ${String(fillfactor).padStart(3)}: ${result.ms.map((ms, i) => `${ms.toFixed(0)} ms (${result.hot[i]}/${result.updated} HOT)`).join(', ')}; table ${result.mb.toFixed(1)} MB after`);
  }
  out(`load average at end ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  expect(results.at(-1)!.hot.every((hot) => hot === results.at(-1)!.updated)).toBe(true);
}, 600_000);
