import { cpus } from 'node:os';
import { resolve } from 'node:path';
import pg from 'pg';
import { afterAll, test } from 'vitest';
import { client } from '../../api/support/http.js';
import { sharedDatabase, startNode, type ApiNode } from '../../api/support/nodes.js';
import {
  BENCH_DATABASE_URL,
  BENCH_REDIS_URL,
  envNumber,
  flipRole,
  jsonClient,
  load,
  out,
  processCpuMs,
  seedBenchAccount,
  sleep,
  versusEnv,
} from '../scale-out/processes.js';
import { ms, percentile, ratio, table } from '../users-list/stats.js';

/**
 * `npm run bench:mutation` (issue 18: bench:scale-out's (a) is a role change, and its slowest rounds
 * are the admin's request, not the delivery). Two API processes on one fresh PostgreSQL database (and
 * Redis), no socket connected: the same member's role flips editor ↔ read only (`PATCH /users/:id`,
 * If-Match), one request at a time, the two processes taking turns round by round, so both see the
 * host as it is at that moment. For each: the response time's p50 / p90 / p99 and the process's CPU
 * per request (from /proc), and A / B of the medians.
 *
 * A is the build as configured; B the same build with BENCH_VERSUS's environment variables on top
 * (default `{"PG_PREPARED_STATEMENTS":"off"}`: what prepared statements save), or another build with
 * BENCH_VERSUS_MAIN (a path, as in bench:handshake: `cp -r apps/api/dist apps/api/dist-versus` before
 * a change, `npm run build` after). A also served the seeding requests; `BENCH_VERSUS='{}'` is the
 * A/A run that shows what that alone does.
 *
 * Env: DATABASE_URL, REDIS_URL (as bench:scale-out), BENCH_ROUNDS (600, both processes together,
 * after 40 warm-up rounds), BENCH_PAUSE_MS (20, between rounds), BENCH_MEMBERS (300; 10000 is bench:scale-out's account), BENCH_VERSUS, BENCH_VERSUS_MAIN.
 */

const env = envNumber;
const DATABASE_URL = BENCH_DATABASE_URL;
const REDIS_URL = BENCH_REDIS_URL;
const ROUNDS = env('BENCH_ROUNDS', 600);
const PAUSE_MS = env('BENCH_PAUSE_MS', 20);
/** Sessions seeded (bench:scale-out's population at BENCH_SOCKETS): ~one member per session. */
const MEMBERS = env('BENCH_MEMBERS', 300);
const WARMUP = 40;
const VERSUS_MAIN = process.env['BENCH_VERSUS_MAIN'] ? resolve(process.env['BENCH_VERSUS_MAIN']) : undefined;
const VERSUS = versusEnv(process.env['BENCH_VERSUS'] || '{"PG_PREPARED_STATEMENTS":"off"}', 'BENCH_VERSUS');

let nodes: ApiNode[] = [];
let dropDatabase: (() => Promise<void>) | undefined;
afterAll(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
  await dropDatabase?.();
});

test(`mutation: a role change's response time on PostgreSQL, A vs B (${JSON.stringify(VERSUS)}${VERSUS_MAIN ? `, ${VERSUS_MAIN}` : ''})`, async () => {
  out(
    `\n[bench mutation] ${new Date().toISOString()}, node ${process.version}, ${cpus().length} CPUs, load average at start ${load()}`,
  );
  const db = await sharedDatabase(DATABASE_URL);
  dropDatabase = db.drop;
  const nodeEnv = { DATABASE_URL: db.url, REDIS_URL, REDIS_PREFIX: `rolecall-bench-mutation-${Date.now()}` };
  const a = await startNode(nodeEnv);
  nodes = [a];
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const { owner, population } = await seedBenchAccount(client(a.url), pool, {
    accountName: 'Mutation Co',
    permissions: ['people.view'],
    sockets: MEMBERS,
    dashboards: 2,
    revokeRounds: 1,
    sessionAbsoluteMs: 30 * 24 * 60 * 60 * 1000,
  });
  await pool.end();
  const b = await startNode({ ...nodeEnv, ...VERSUS }, VERSUS_MAIN);
  nodes = [a, b];
  const sides = nodes.map((node, i) => ({
    name: i === 0 ? 'A' : 'B',
    admin: jsonClient(node.url, '/api/v1', owner.token),
    pid: node.process.pid!,
    times: [] as number[],
    cpu: 0,
  }));
  const target = { ...population.roleTarget };
  for (let round = 0; round < WARMUP + ROUNDS; round += 1) {
    const side = sides[round % 2]!;
    const cpuBefore = processCpuMs(side.pid);
    const started = performance.now();
    const status = await flipRole(side.admin, target);
    const took = performance.now() - started;
    if (status !== 200) throw new Error(`round ${round}: PATCH /users/:id answered ${status} on ${side.name}`);
    if (round >= WARMUP) {
      side.times.push(took);
      side.cpu += processCpuMs(side.pid) - cpuBefore;
    }
    await sleep(PAUSE_MS);
  }
  const [first, second] = sides as [(typeof sides)[0], (typeof sides)[0]];
  out(
    table(
      ['process', 'rounds', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'CPU ms per request'],
      sides.map((side) => [
        side.name === 'A'
          ? 'A (as configured)'
          : `B (${JSON.stringify(VERSUS)}${VERSUS_MAIN ? `, ${VERSUS_MAIN}` : ''})`,
        String(side.times.length),
        ms(percentile(side.times, 50)),
        ms(percentile(side.times, 90)),
        ms(percentile(side.times, 99)),
        ms(Math.max(...side.times)),
        ms(side.cpu / side.times.length),
      ]),
    ),
  );
  out(
    `A / B: response p50 ${ratio(percentile(first.times, 50) / percentile(second.times, 50))}, p90 ${ratio(percentile(first.times, 90) / percentile(second.times, 90))}, CPU per request ${ratio(first.cpu / second.cpu)}; load average at end ${load()}`,
  );
}, 900_000);
