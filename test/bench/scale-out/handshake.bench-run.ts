import { SYSTEM_ROLES, type MemberDto } from '@rolecall/contracts';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { client } from '../../api/support/http.js';
import { sharedDatabase, startNode, type ApiNode } from '../../api/support/nodes.js';
import { LIVE_SERVER_OPTIONS } from '../propagation/bare-server.js';
import { ClientProcess } from '../propagation/client-process.js';
import { ms, percentile, ratio, table } from '../users-list/stats.js';
import { BareNode } from './bare-process.js';
import {
  BENCH_DATABASE_URL,
  BENCH_REDIS_URL,
  envNumber,
  jsonClient,
  load,
  out,
  processCpuMs,
  processCpuSplitMs,
  roleChangeGroups,
  seedBenchAccount,
  sleep,
  timedRound,
  versusEnv,
} from './processes.js';

/**
 * `npm run bench:handshake` (issue 18: where a reconnect storm's CPU goes, on one node, quickly).
 *
 * One API process (apps/api/dist/main.js) on a fresh PostgreSQL database and Redis, and one bare
 * Socket.IO process (bare-node.mjs: the API's server options and Redis adapter, a Map lookup instead
 * of authentication), both up at once. The same N sessions connect (websocket, 64 at a time, each
 * with its own X-Forwarded-For, as in bench:scale-out) and close, cycle after cycle, the two servers
 * taking turns (API first in even cycles, bare first in odd ones; cycle 0 is the warm-up). For each
 * side: the server process's CPU per handshake, user and kernel apart, from /proc, and per close;
 * medians over the cycles and API / bare. `bench:scale-out`'s storm is the same handshake through a
 * balancer after a node loss, with libs/client's `sync` after it, on two survivors.
 *
 * Then (a) on one node: the 3-session member's role flips editor ↔ read only, every other session
 * connected: from the request to the last push (3 sessions, 5 dashboards), the response, the push
 * after it, and the node's CPU per change.
 *
 * Each timed connect phase prints its window on CLOCK_MONOTONIC (µs, the clock of `--cpu-prof`
 * profiles and of `perf record`), to cut a profile to it: BENCH_NODE_ARGS / BENCH_BARE_NODE_ARGS
 * pass Node flags (`--cpu-prof --cpu-prof-dir=…`, `--perf-basic-prof`).
 *
 * BENCH_VERSUS (a JSON object of environment variables, `{}` for none) puts a second API process in
 * the bare node's place, started with those variables on top of the first's (its own Redis prefix):
 * an A/B of two settings of one build — a Node flag through NODE_OPTIONS, an adapter, a limit — in
 * one run, the two taking turns as above and judged by the median of the cycles' pair ratios. The
 * first process also serves the seeding requests: an A/A run (`BENCH_VERSUS='{}'`) shows what that
 * alone does to the ratio (API / API′ 1.03× and ~1.05× in two runs on 2026-12-07).
 * BENCH_VERSUS_MAIN (a path) runs the second process from another build, to weigh a code change:
 * `cp -r apps/api/dist apps/api/dist-versus` before it (the copy must stay under apps/api, where its
 * imports resolve; gitignored), `npm run build` after, then
 * `BENCH_VERSUS_MAIN=apps/api/dist-versus/main.js npm run bench:handshake` (API / API′ = after / before).
 *
 * Env: DATABASE_URL, REDIS_URL (as bench:scale-out), BENCH_SOCKETS (3000), BENCH_CYCLES (7),
 * BENCH_ROUNDS_A (40), BENCH_VERSUS, BENCH_VERSUS_MAIN.
 */

const env = envNumber;
const DATABASE_URL = BENCH_DATABASE_URL;
const REDIS_URL = BENCH_REDIS_URL;
const SOCKETS = env('BENCH_SOCKETS', 3000);
const CYCLES = env('BENCH_CYCLES', 7);
const ROUNDS_A = env('BENCH_ROUNDS_A', 40);
const WARMUP_A = 3;
const VERSUS_MAIN = process.env['BENCH_VERSUS_MAIN'] ? resolve(process.env['BENCH_VERSUS_MAIN']) : undefined;
const VERSUS =
  process.env['BENCH_VERSUS'] || VERSUS_MAIN ? versusEnv(process.env['BENCH_VERSUS'] || '{}', 'BENCH_VERSUS') : null;

const [, EDITOR, READONLY] = SYSTEM_ROLES.map((role) => role.id) as [string, string, string];

let node: ApiNode | undefined;
let bare: BareNode | undefined;
let versus: ApiNode | undefined;
let clients: ClientProcess | undefined;
let dropDatabase: (() => Promise<void>) | undefined;
afterAll(async () => {
  await clients?.stop();
  await bare?.stop();
  await versus?.stop();
  await node?.stop();
  await dropDatabase?.();
});

interface Side {
  name: 'API' | 'bare' | 'API′';
  url: string;
  pid: number;
  user: number[];
  system: number[];
  close: number[];
  seconds: number[];
}

const median = (values: number[]) => percentile(values, 50);
const monotonicMicros = () => process.hrtime.bigint() / 1000n;

test(`handshake: one API node vs ${VERSUS ? 'another with BENCH_VERSUS' : 'one bare Socket.IO node'}, ${SOCKETS} sessions connecting and closing, ${CYCLES} cycles`, async () => {
  out(
    `\n[bench handshake] ${new Date().toISOString()}, node ${process.version}, ${cpus().length} CPUs, load average at start ${load()}`,
  );
  const db = await sharedDatabase(DATABASE_URL);
  dropDatabase = db.drop;
  const prefix = `rolecall-bench-handshake-${Date.now()}`;
  const nodeEnv = { DATABASE_URL: db.url, REDIS_URL, REDIS_PREFIX: prefix, REDIS_ADAPTER: 'classic' };
  node = await startNode(nodeEnv);
  const api = client(node.url);
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const { owner, population } = await seedBenchAccount(api, pool, {
    accountName: 'Handshake Co',
    permissions: ['people.view'],
    sockets: SOCKETS,
    dashboards: 5,
    revokeRounds: 1,
    sessionAbsoluteMs: 30 * 24 * 60 * 60 * 1000,
  });
  await pool.end();
  if (VERSUS) versus = await startNode({ ...nodeEnv, REDIS_PREFIX: `${prefix}-versus`, ...VERSUS }, VERSUS_MAIN);
  else
    bare = await BareNode.start({
      options: LIVE_SERVER_OPTIONS,
      redisUrl: REDIS_URL,
      key: `${prefix}-bare`,
      adapter: 'classic',
      accountId: owner.account.id,
      byToken: population.sockets.map((socket) => [
        socket.token,
        { sessionId: socket.sessionId, memberId: socket.memberId, dashboard: socket.dashboard },
      ]),
      roleHolders: [],
      sessionsOf: [],
    });
  clients = await ClientProcess.start(fileURLToPath(new URL('./clients.mjs', import.meta.url)));
  const tokens = population.sockets.map((socket) => socket.token);
  const other = versus
    ? { name: 'API′' as const, url: versus.url, pid: versus.process.pid! }
    : { name: 'bare' as const, url: bare!.url, pid: bare!.child.pid! };
  const sides: Side[] = [
    { name: 'API', url: node.url, pid: node.process.pid!, user: [], system: [], close: [], seconds: [] },
    { ...other, user: [], system: [], close: [], seconds: [] },
  ];
  out(
    `API node pid ${sides[0]!.pid}, ${other.name} node pid ${other.pid}` +
      `${VERSUS ? ` (BENCH_VERSUS ${JSON.stringify(VERSUS)}${VERSUS_MAIN ? `, ${VERSUS_MAIN}` : ''})` : ''}; ` +
      `${SOCKETS.toLocaleString('en')} sessions`,
  );

  for (let cycle = 0; cycle < CYCLES; cycle += 1) {
    for (const side of cycle % 2 ? [...sides].reverse() : sides) {
      const before = processCpuSplitMs(side.pid);
      const from = monotonicMicros();
      const connected = await clients.call<{ connected: number; failed: number; ms: number; errors: unknown }>(
        'connect',
        { urls: [side.url], tokens, concurrency: 64 },
      );
      const to = monotonicMicros();
      expect(connected.failed, JSON.stringify(connected.errors)).toBe(0);
      await sleep(300);
      const after = processCpuSplitMs(side.pid);
      await clients.call('close');
      await sleep(1500);
      const closed = processCpuMs(side.pid) - after.user - after.system;
      const user = (after.user - before.user) / SOCKETS;
      const system = (after.system - before.system) / SOCKETS;
      out(
        `  cycle ${cycle}${cycle === 0 ? ' (warm-up)' : ''} ${side.name}: ${(connected.ms / 1000).toFixed(1)} s, ` +
          `${(user + system).toFixed(3)} ms per handshake (user ${user.toFixed(3)}, kernel ${system.toFixed(3)}), ` +
          `${(closed / SOCKETS).toFixed(3)} ms per close; window (CLOCK_MONOTONIC µs) ${from}–${to}`,
      );
      if (cycle === 0) continue;
      side.user.push(user);
      side.system.push(system);
      side.close.push(closed / SOCKETS);
      side.seconds.push(connected.ms / 1000);
    }
  }
  const [apiSide, otherSide] = sides as [Side, Side];
  const perHandshake = (side: Side) => side.user.map((user, i) => user + side.system[i]!);
  const row = (label: string, of: (side: Side) => number[], digits = 3) => [
    label,
    median(of(apiSide)).toFixed(digits),
    median(of(otherSide)).toFixed(digits),
    ratio(median(of(apiSide)) / median(of(otherSide))),
  ];
  const pairs = perHandshake(apiSide).map((api, i) => api / perHandshake(otherSide)[i]!);
  out(
    table(
      ['median of cycles', 'API', otherSide.name, `API / ${otherSide.name}`],
      [
        row('CPU per handshake (ms)', perHandshake),
        row('  user', (side) => side.user),
        row('  kernel', (side) => side.system),
        row('CPU per close (ms)', (side) => side.close),
        row(`connect ${SOCKETS.toLocaleString('en')}, 64 at a time (s)`, (side) => side.seconds, 2),
      ],
    ),
  );
  // One cycle's two turns ran seconds apart, so a pair shares the host's state of the moment.
  out(
    `CPU per handshake API / ${otherSide.name}, median of the cycles' pairs: ${ratio(median(pairs))} ` +
      `(${pairs.map(ratio).join(', ')})`,
  );

  // (a) on one node: every session connected, the 3-session member's role flips.
  await clients.call('connect', { urls: [node.url], tokens, concurrency: 64 });
  await sleep(1000);
  const admin = jsonClient(node.url, '/api/v1', owner.token);
  const target = { ...population.roleTarget };
  const rounds: { total: number; http: number }[] = [];
  const cpu0 = processCpuMs(node.process.pid);
  const aFrom = monotonicMicros();
  for (let round = 0; round < WARMUP_A + ROUNDS_A; round += 1) {
    const roleId = target.roleId === EDITOR ? READONLY : EDITOR;
    const result = await timedRound(
      clients,
      () => processCpuMs(node!.process.pid),
      roleChangeGroups(target.sockets, population.dashboards, roleId),
      10_000,
      () => admin.request('PATCH', `/users/${target.id}`, { roleId }, { 'if-match': `"${target.version}"` }),
      (reply) => {
        expect(reply.status, JSON.stringify(reply.body)).toBe(200);
        target.version = (reply.body as MemberDto).version;
      },
    );
    expect(result.missing).toBe(0);
    target.roleId = roleId;
    if (round >= WARMUP_A) rounds.push({ total: result.total, http: result.http });
    await sleep(50);
  }
  admin.close();
  const nodeCpu = processCpuMs(node.process.pid) - cpu0;
  const totals = rounds.map((r) => r.total);
  out(
    `(a) on one node, ${ROUNDS_A} role changes of a member with 3 sessions (and 5 dashboards), ${SOCKETS.toLocaleString('en')} sockets connected: ` +
      `request → last push p50 ${ms(median(totals))} / p90 ${ms(percentile(totals, 90))} / max ${ms(Math.max(...totals))} ms; ` +
      `response p50 ${ms(median(rounds.map((r) => r.http)))} ms; push after the response p50 ${ms(median(rounds.map((r) => r.total - r.http)))} ms; ` +
      `node CPU ${ms(nodeCpu / (WARMUP_A + ROUNDS_A))} ms per change (idle between rounds included); ` +
      `window (CLOCK_MONOTONIC µs) ${aFrom}–${monotonicMicros()}`,
  );
  out(`load average at end ${load()}`);
}, 900_000);
