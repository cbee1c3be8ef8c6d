import { SYSTEM_ROLES, type MemberDto, type PermissionKey, type RoleDto } from '@rolecall/contracts';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { client } from '../../api/support/http.js';
import { sharedDatabase, startNode, type ApiNode } from '../../api/support/nodes.js';
import { scrape, valueOf } from '../../api/support/metrics.js';
import { LIVE_SERVER_OPTIONS } from '../propagation/bare-server.js';
import { ClientProcess, now, type GroupSpec } from '../propagation/client-process.js';
import type { Population } from '../propagation/seed.js';
import { ms, percentile, ratio, table } from '../users-list/stats.js';
import { startBalancer } from './balancer.js';
import { BareNode } from './bare-process.js';
import {
  BENCH_DATABASE_URL,
  BENCH_REDIS_URL,
  envNumber,
  flipRole,
  jsonClient,
  load,
  out,
  processCpuMs,
  roleChangeGroups,
  seedBenchAccount,
  sleep,
  timedRound,
  type CpuReader,
  type Flippable,
  type Reply,
  type RoundResult,
} from './processes.js';

/**
 * `npm run bench:scale-out` (issue 18; README "## Benchmarks").
 *
 * Three API processes (apps/api/dist/main.js, as test/api/support/nodes.ts starts them) on one fresh
 * PostgreSQL database and one Redis, N websocket sockets spread over them (socket i on node i % 3, so
 * a member's 3 sessions sit on 3 different nodes), the admin's requests sent to node 1 only. Then the
 * same topology of bare Socket.IO processes with `@socket.io/redis-adapter` (bare-node.mjs), the same
 * clients reconnected, the same payloads replayed to the same rooms. Timed from just before the
 * admin's HTTP request to the last expected receipt (shared machine clock, as in ../propagation):
 *   (a) PATCH /users/:id {roleId}: `me.permissions` on the member's 3 sessions (3 nodes) and
 *       `user.upserted` on every dashboard; target p99 ≤ 50 ms
 *   (b) PATCH /roles/:id of a role held by half the members: `me.permissions` on every holder and
 *       `role.upserted` on every dashboard; target: worst round's last delivery ≤ 500 ms, and the
 *       median round ≤ 2× the bare cluster's
 *   (c) POST /users/:id/revoke: the member's 3 sockets (3 nodes) disconnected and `user.upserted`
 *       on the dashboards; target p99 ≤ 100 ms
 * Each node's CPU (from /proc/<pid>/stat) is summed over the connect phase and over each round.
 * Then node loss (`nodeLossPhase`), on each cluster: every session reconnects as libs/client's `Live`
 * through a balancer, node 3 is killed, and the survivors' CPU per reconnected session is compared
 * (target ≤ 1.5× the bare cluster's; on the API cluster less the CPU of the admin's changes made during
 * the storm, measured by making as many again afterwards); on the API cluster every session's set and every dashboard's
 * seq must then agree with the server's within 10 s of the kill. BENCH_STORMS node losses per cluster
 * (default 5), in pairs, the killed node started again before each; the CPU target is judged on the
 * median pair (see STORMS).
 *
 * Env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test, the bench creates and drops a
 * database of its own), REDIS_URL (default redis://127.0.0.1:6379, a prefix of its own),
 * BENCH_SOCKETS (10000), BENCH_ROUNDS_A (200), BENCH_ROUNDS_B (5), BENCH_ROUNDS_C (200),
 * BENCH_DASHBOARDS (5), BENCH_NODE_LOSS=0 to skip node loss, BENCH_STORMS (5), BENCH_ADAPTER=classic|sharded (the
 * Socket.IO Redis adapter of both clusters, default classic), BENCH_NODE_ARGS (Node flags for the API
 * processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`; the node-loss phase prints each storm's window on
 * the profiles' clock), BENCH_BARE_NODE_ARGS (the same for the bare nodes), BENCH_ENFORCE=1 to fail on a
 * missed target, BENCH_NODE1_METRICS=1 to scrape node 1's /metrics after each (a) round and print, beside
 * the slowest rounds, what node 1 did meanwhile (its longest event-loop delay, its GC pauses): is a slow
 * round the admin's node stalled, or its request waiting elsewhere? (Off by default: one more request
 * to node 1 between rounds.)
 */

const env = envNumber;
const DATABASE_URL = BENCH_DATABASE_URL;
const REDIS_URL = BENCH_REDIS_URL;
const NODES = 3;
const SOCKETS = env('BENCH_SOCKETS', 10_000);
/**
 * (a)'s and (c)'s rounds: 200 each, so that their p99 is a percentile (nearest rank: the 198th of
 * 200, the third worst) and not, as with 40 rounds, the one worst round — one scavenge on any of the
 * three nodes or in the client process. The worst round is printed beside it (`API max`). Each (c)
 * round revokes a member of its own: 200 members × 3 sessions of the N sockets, so the node-loss
 * phase after them reconnects 600 fewer sessions than N (it had 120 fewer with 40 rounds).
 */
const ROUNDS_A = env('BENCH_ROUNDS_A', 200);
const NODE1_METRICS = process.env['BENCH_NODE1_METRICS'] === '1';

/** Node 1's GC pauses and longest event-loop delay since the last scrape, by (a) round (BENCH_NODE1_METRICS). */
const node1Notes = new WeakMap<RoundResult, string>();

/** What node 1's /metrics says of its GC (totals by kind) and its event loop (the longest delay since the last scrape). */
async function node1Gauges(
  url: string,
): Promise<{ gc: Record<string, { count: number; sum: number }>; loopMaxMs: number }> {
  const samples = await scrape(url);
  const gc: Record<string, { count: number; sum: number }> = {};
  for (const kind of ['major', 'minor', 'incremental']) {
    gc[kind] = {
      count: valueOf(samples, 'nodejs_gc_duration_seconds_count', { kind }),
      sum: valueOf(samples, 'nodejs_gc_duration_seconds_sum', { kind }) * 1000,
    };
  }
  return { gc, loopMaxMs: valueOf(samples, 'nodejs_eventloop_lag_max_seconds') * 1000 };
}

function node1Note(
  before: Awaited<ReturnType<typeof node1Gauges>>,
  after: Awaited<ReturnType<typeof node1Gauges>>,
): string {
  const gc = Object.keys(after.gc)
    .map((kind) => {
      const count = after.gc[kind]!.count - (before.gc[kind]?.count ?? 0);
      return count > 0
        ? `${kind} ${count}× ${(after.gc[kind]!.sum - (before.gc[kind]?.sum ?? 0)).toFixed(1)} ms`
        : null;
    })
    .filter(Boolean);
  return `node 1: loop delay max ${after.loopMaxMs.toFixed(1)} ms, GC ${gc.length > 0 ? gc.join(', ') : 'none'}`;
}
const ROUNDS_B = env('BENCH_ROUNDS_B', 5);
const ROUNDS_C = env('BENCH_ROUNDS_C', 200);
const DASHBOARDS = env('BENCH_DASHBOARDS', 5);
const ENFORCE = process.env['BENCH_ENFORCE'] === '1';
const NODE_LOSS = process.env['BENCH_NODE_LOSS'] !== '0';
/**
 * Node losses per cluster (BENCH_STORMS, default 5), in pairs: the first of each cluster after its
 * rounds, the others at the end, one cluster's right after the other's (bare first in even pairs), the
 * killed node started again before each. The storm's verdict is the median of the pairs' ratios: this
 * VM's CPU time includes what its host takes (no steal time is reported), so one storm's CPU per
 * handshake moves by a third from run to run (bare: 0.35–0.54 ms on 2026-12-07) and a ratio is
 * trustworthy only between storms made close together.
 */
const STORMS = env('BENCH_STORMS', 5);
/** BENCH_ADAPTER=classic|sharded: REDIS_ADAPTER of the API nodes, and the bare nodes' adapter. */
const ADAPTER = process.env['BENCH_ADAPTER'] === 'sharded' ? 'sharded' : 'classic';
const WARMUP_A = 3;
const WARMUP_B = 1;
const SESSION_ABSOLUTE_MS = 30 * 24 * 60 * 60 * 1000;

const [, EDITOR, READONLY] = SYSTEM_ROLES.map((role) => role.id) as [string, string, string];
const ROLE_BASE: PermissionKey[] = ['people.view', 'campaigns.view', 'dashboards.view', 'reports.view'];
const ROLE_TOGGLED: PermissionKey[] = [...ROLE_BASE, 'reports.export'];

interface Side {
  a: RoundResult[];
  b: RoundResult[];
  c: RoundResult[];
  connected: number;
  connectMs: number;
  /** All nodes' CPU during the connect phase, per handshake (ms). */
  cpuPerHandshake: number;
  perTenth: string[];
}

/** The API's payloads per timed round, replayed by the bare cluster. */
interface Captured {
  a: { memberId: string; roleId: string; permissions: unknown; upserted: unknown }[];
  b: { version: number; description: string; role: unknown; permissions: unknown }[];
  c: { memberId: string; upserted: unknown }[];
}

const nodes: ApiNode[] = [];
let bareNodes: BareNode[] = [];
let clients: ClientProcess | undefined;
let pool: pg.Pool | undefined;
let dropDatabase: (() => Promise<void>) | undefined;
afterAll(async () => {
  await clients?.stop();
  await Promise.all(bareNodes.map((node) => node.stop()));
  await Promise.all(nodes.map((node) => node.stop()));
  await pool?.end();
  await dropDatabase?.();
});

async function connectAll(clientProcess: ClientProcess, urls: string[], tokens: string[], serverCpu: CpuReader) {
  const cpu0 = serverCpu();
  const connected = await clientProcess.call<{
    connected: number;
    failed: number;
    errors: Record<string, number>;
    ms: number;
    tenths: number[];
  }>('connect', { urls, tokens, concurrency: 64 });
  const cpu = serverCpu() - cpu0;
  if (connected.failed) out(`  ! ${connected.failed} connections failed: ${JSON.stringify(connected.errors)}`);
  return {
    connected: connected.connected,
    connectMs: connected.ms,
    cpuPerHandshake: cpu / tokens.length,
    perTenth: connected.tenths.map((at, i) => ((at - (connected.tenths[i - 1] ?? 0)) / 1000).toFixed(1)),
  };
}

interface Plan {
  population: Population;
  holderSockets: number[];
}

const roleEditGroups = (plan: Plan, version: number, description: string): GroupSpec[] => [
  {
    name: 'holders',
    event: 'me.permissions',
    sockets: plan.holderSockets,
    match: { path: 'version', equals: version },
  },
  {
    name: 'dashboards',
    event: 'role.upserted',
    sockets: plan.population.dashboards,
    match: { path: 'role.description', equals: description },
  },
];
const revokeGroups = (plan: Plan, memberId: string, memberSockets: number[]): GroupSpec[] => [
  { name: 'sessions', event: 'disconnect', sockets: memberSockets },
  {
    name: 'dashboards',
    event: 'user.upserted',
    sockets: plan.population.dashboards,
    match: { path: 'member.id', equals: memberId },
  },
];

function report(api: Side, bare: Side, holderSockets: number): string[] {
  const missed: string[] = [];
  const pick = (rounds: RoundResult[], p: number, field: (r: RoundResult) => number = (r) => r.total) =>
    percentile(rounds.map(field), p);
  const rows: string[][] = [];
  const scenario = (
    key: 'a' | 'b' | 'c',
    label: string,
    target: { limit: number; p: number; text: string },
    ratioLimit: number | null,
  ) => {
    const judged = pick(api[key], target.p);
    const r = key === 'b' ? pick(api[key], 50) / pick(bare[key], 50) : pick(api[key], 99) / pick(bare[key], 99);
    const met = judged <= target.limit;
    if (!met) missed.push(`${label}: ${ms(judged)} ms > ${target.limit} ms`);
    const ratioMet = ratioLimit === null || r <= ratioLimit;
    if (!ratioMet) missed.push(`${label}: API/bare ${ratio(r)} > ${ratioLimit}×`);
    rows.push([
      label,
      String(api[key].length),
      ms(pick(api[key], 50, (x) => x.http)),
      ms(pick(api[key], 50)),
      ms(pick(api[key], 99)),
      ms(Math.max(...api[key].map((x) => x.total))),
      ms(pick(bare[key], 50)),
      ms(pick(bare[key], 99)),
      ms(Math.max(...bare[key].map((x) => x.total))),
      ratio(r),
      `${target.text}${ratioLimit ? `, ×≤${ratioLimit}` : ''}`,
      [met ? 'met' : 'MISSED', ratioLimit === null ? '' : ratioMet ? 'met' : 'MISSED'].filter(Boolean).join(' / '),
    ]);
  };
  scenario('a', '(a) role change → 3 sessions on 3 nodes', { limit: 50, p: 99, text: 'p99 ≤ 50' }, null);
  scenario(
    'b',
    `(b) role edit → ${holderSockets.toLocaleString('en')} holders`,
    { limit: 500, p: 100, text: 'last ≤ 500' },
    2,
  );
  scenario('c', '(c) revoke → 3 sockets closed on 3 nodes', { limit: 100, p: 99, text: 'p99 ≤ 100' }, null);
  out(
    table(
      [
        'measure',
        'rounds',
        'API http p50',
        'API p50',
        'API p99',
        'API max',
        'bare p50',
        'bare p99',
        'bare max',
        'API/bare',
        'target',
        'verdict',
      ],
      rows,
    ),
  );
  out(
    `  ratio: (a), (c) on p99; (b) on the median round's last delivery; (b)'s ≤ 500 judges the worst round. p99 by nearest rank: ` +
      `of (a)'s ${ROUNDS_A} rounds the ${Math.ceil(0.99 * ROUNDS_A)}th, of (c)'s ${ROUNDS_C} the ${Math.ceil(0.99 * ROUNDS_C)}th (their maximum when under 100 rounds).`,
  );
  const median = (side: Side, key: 'a' | 'b' | 'c', field: (r: RoundResult) => number) =>
    ms(pick(side[key], 50, field));
  out(
    `  medians: (a) API sessions ${median(api, 'a', (x) => x.byGroup['sessions']!)} / dashboards ${median(api, 'a', (x) => x.byGroup['dashboards']!)}, bare sessions ${median(bare, 'a', (x) => x.byGroup['sessions']!)}; ` +
      `(b) API first ${median(api, 'b', (x) => x.first)}, http ${median(api, 'b', (x) => x.http)}, nodes' CPU ${median(api, 'b', (x) => x.serverCpu)}; bare first ${median(bare, 'b', (x) => x.first)}, nodes' CPU ${median(bare, 'b', (x) => x.serverCpu)}; ` +
      `(c) API sockets closed ${median(api, 'c', (x) => x.byGroup['sessions']!)}, bare ${median(bare, 'c', (x) => x.byGroup['sessions']!)}`,
  );
  // Where a tail round's time went: the admin's request (until its response) or the delivery after it.
  const slowest = (key: 'a' | 'c') =>
    [...api[key]]
      .sort((x, y) => y.total - x.total)
      .slice(0, 3)
      .map((x) => `${ms(x.total)} (http ${ms(x.http)}${node1Notes.has(x) ? `; ${node1Notes.get(x)}` : ''})`)
      .join(', ');
  out(`  API's 3 slowest rounds, ms: (a) ${slowest('a')}; (c) ${slowest('c')}`);
  const connectRow = (label: string, side: Side) => [
    label,
    side.connected.toLocaleString('en'),
    `${(side.connectMs / 1000).toFixed(1)} s`,
    `${ms(side.cpuPerHandshake)} ms`,
    side.perTenth.join(' '),
  ];
  out(
    table(
      ['cluster', 'sockets', 'connect', "nodes' CPU / handshake", 's per tenth'],
      [connectRow('API', api), connectRow('bare', bare)],
    ),
  );
  return missed;
}

interface NodeLoss {
  total: number;
  onLost: number;
  cut: number;
  changes: number;
  cutAndChanged: number;
  /** Cut sessions connected again that were not told their set on the new connection (`me.permissions`, reason `connected`). */
  cutNotGreeted: number;
  errors: Record<string, number>;
  /** Lines the surviving nodes logged after the kill about the other nodes not answering. */
  crossNodeWarnings: number;
  /** Sessions connected at the end, and how many were connected 1, 2, 5, 10, 20 s after the kill. */
  connectedAtEnd: number;
  timeline: string[];
  reconnected: number | null;
  synced: number | null;
  stale: number;
  behind: number;
  cpuPerReconnect: number;
  /**
   * The survivors' CPU for the admin's changes alone: as many changes, at the same pace, once the
   * storm is over (API cluster; 0 on the bare one, which gets none).
   */
  changesCpu: number;
  /** The storm's CPU less the changes', per cut session: what a reconnection costs. */
  cpuPerHandshake: number;
  load: string;
}

interface LiveState {
  connected: number;
  cut: number;
  lastConnect: number;
  /** Cut sessions of members the admin changed during the storm. */
  cutAndChanged: number;
  cutNotGreeted: number;
  /** connect_error messages of the live sessions so far, by message. */
  errors: Record<string, number>;
  stale: number;
  behind: number;
  total: number;
}

/** A cluster the node-loss phase cuts: its nodes' URLs and processes; the last node is killed. */
interface LossCluster {
  urls: string[];
  pids: (number | undefined)[];
  kill: () => void;
  /** The surviving nodes' output so far (API nodes), to count cross-node warnings after the kill. */
  outputs?: string[][];
}

/** The API side of the node-loss phase: the admin keeps changing roles, then every session is checked. */
interface LossChecks {
  admin: ReturnType<typeof jsonClient>;
  db: pg.Pool;
}

/**
 * Node loss: every live session (revoked ones aside) reconnects as libs/client's `Live` through a
 * round-robin balancer (balancer.ts); the cluster's node 3 is killed with SIGKILL; its sessions
 * reconnect (Socket.IO's reconnection with jitter) through the balancer to nodes 1 and 2. On the API
 * cluster (`checks`) the admin keeps changing roles on node 1 meanwhile (one every 100 ms, members
 * with one session each, until every session is back), then every session's permission version and
 * role are compared with the database's, and every dashboard's last seq with the account's, until
 * they all agree (or 40 s after the kill). On the bare cluster only the reconnects and the survivors'
 * CPU are measured: the same storm's baseline.
 */
async function nodeLossPhase(
  clientProcess: ClientProcess,
  cluster: LossCluster,
  population: Population,
  checks: LossChecks | null,
): Promise<NodeLoss> {
  await clientProcess.call('close');
  await sleep(1000);
  const balancer = await startBalancer(cluster.urls);
  try {
    const revoked = new Set(population.revokeTargets.map((member) => member.id));
    const rows = checks
      ? (
          await checks.db.query<{ id: string; role_id: string; permissions_version: number; version: number }>(
            'SELECT id, role_id, permissions_version, version FROM members WHERE account_id = (SELECT account_id FROM members WHERE id = $1)',
            [population.roleTarget.id],
          )
        ).rows
      : [];
    const byId = new Map(rows.map((row) => [row.id, row]));
    const seq0 = checks
      ? (await checks.admin.request<{ account: { activitySeq: number } }>('GET', '/me')).body.account.activitySeq
      : 0;
    const sessions = population.sockets
      .filter((socket) => !revoked.has(socket.memberId))
      .map((socket) => ({
        token: socket.token,
        memberId: socket.memberId,
        dashboard: socket.dashboard,
        version: byId.get(socket.memberId)?.permissions_version ?? 0,
        roleId: byId.get(socket.memberId)?.role_id ?? '',
        seq: seq0,
      }));
    const connected = await clientProcess.call<{ connected: number; failed: number; ms: number }>('live-connect', {
      url: balancer.url,
      members: sessions,
      concurrency: 64,
    });
    out(
      `node loss (${checks ? 'API' : 'bare'}): ${connected.connected.toLocaleString('en')} libs/client sessions through the balancer in ${(connected.ms / 1000).toFixed(1)} s (per node ${balancer.opened.join(' / ')} connections)${connected.failed ? `, ${connected.failed} FAILED` : ''}`,
    );
    await sleep(2000);
    const onLost = balancer.opened[NODES - 1]!;
    // Members the admin changes during the storm: one session each, not holders of the custom role.
    const holders = new Set(population.roleHolders.map((member) => member.id));
    const changeable: Flippable[] = [...byId.values()]
      .filter(
        (row) => !holders.has(row.id) && !revoked.has(row.id) && (row.role_id === EDITOR || row.role_id === READONLY),
      )
      .map((row) => ({ id: row.id, roleId: row.role_id, version: row.version }));
    const survivors = cluster.pids.slice(0, NODES - 1);
    const cpu = () => survivors.reduce<number>((sum, pid) => sum + processCpuMs(pid), 0);
    const cpu0 = cpu();
    const logged = (cluster.outputs ?? []).slice(0, NODES - 1).map((output) => output.length);
    const killedAt = now();
    // CLOCK_MONOTONIC in µs, the clock of V8's CPU profiles (`--cpu-prof` in BENCH_NODE_ARGS): the storm's window in them.
    const killedMono = process.hrtime.bigint() / 1000n;
    cluster.kill();
    let changes = 0;
    const changed = new Set<string>();
    let reconnected: number | null = null;
    let state: LiveState | null = null;
    const marks = [1, 2, 5, 10, 20];
    const timeline: string[] = [];
    for (let k = 0; reconnected === null && now() - killedAt < 30_000; k += 1) {
      const member = checks ? changeable[k % changeable.length] : undefined;
      if (checks && member && (await flipRole(checks.admin, member)) === 200) {
        changes += 1;
        changed.add(member.id);
      }
      state = await clientProcess.call<LiveState>('live-state');
      while (marks.length && now() - killedAt >= marks[0]! * 1000)
        timeline.push(`${marks.shift()} s: ${state.connected.toLocaleString('en')}`);
      if (state.connected === state.total && state.cut >= onLost * 0.9) reconnected = state.lastConnect - killedAt;
      await sleep(100);
    }
    const cpuUsed = cpu() - cpu0;
    out(
      `  storm window (CLOCK_MONOTONIC µs, as in --cpu-prof profiles): ${killedMono}–${process.hrtime.bigint() / 1000n}`,
    );
    let synced: number | null = null;
    if (checks) {
      const final = await checks.db.query<{ id: string; role_id: string; permissions_version: number }>(
        'SELECT id, role_id, permissions_version FROM members WHERE account_id = (SELECT account_id FROM members WHERE id = $1)',
        [population.roleTarget.id],
      );
      const expected = Object.fromEntries(
        final.rows.map((row) => [row.id, { version: row.permissions_version, roleId: row.role_id }]),
      );
      const seq = (await checks.admin.request<{ account: { activitySeq: number } }>('GET', '/me')).body.account
        .activitySeq;
      while (now() - killedAt < 40_000) {
        state = await clientProcess.call<LiveState>('live-state', { expected, seq, changed: [...changed] });
        if (state.stale === 0 && state.behind === 0) {
          synced = now() - killedAt;
          break;
        }
        await sleep(100);
      }
    }
    // The admin's changes cost the survivors CPU the bare cluster never spends: the same number
    // again, at the storm's pace, with every session settled, is what to take off the storm's CPU.
    let changesCpu = 0;
    if (checks && changes > 0) {
      await sleep(1000);
      const before = cpu();
      for (let k = 0; k < changes; k += 1) {
        await flipRole(checks.admin, changeable[(changes + k) % changeable.length]!);
        await sleep(100);
      }
      changesCpu = cpu() - before;
    }
    const cut = Math.max(1, state?.cut ?? 0);
    const result: NodeLoss = {
      total: sessions.length,
      onLost,
      cut: state?.cut ?? 0,
      changes,
      cutAndChanged: state?.cutAndChanged ?? 0,
      errors: state?.errors ?? {},
      cutNotGreeted: state?.cutNotGreeted ?? 0,
      connectedAtEnd: state?.connected ?? 0,
      timeline,
      crossNodeWarnings: (cluster.outputs ?? [])
        .slice(0, NODES - 1)
        .flatMap((output, i) => output.slice(logged[i]).join('').split('\n'))
        .filter((line) => line.includes('on other nodes failed')).length,
      reconnected,
      synced,
      stale: state?.stale ?? Number.NaN,
      behind: state?.behind ?? Number.NaN,
      cpuPerReconnect: cpuUsed / cut,
      changesCpu,
      cpuPerHandshake: Math.max(0, cpuUsed - changesCpu) / cut,
      load: load(),
    };
    await clientProcess.call('live-close');
    return result;
  } finally {
    await balancer.close();
  }
}

/**
 * The storm pairs (see STORMS) as a table, and the node-loss targets judged on them: every API storm
 * all back and in sync ≤ 10 s, and the median pair's CPU per handshake ≤ 1.5× the bare cluster's.
 */
function stormReport(pairs: readonly { api: NodeLoss; bare: NodeLoss }[]): string[] {
  if (pairs.length === 0) return [];
  const missed: string[] = [];
  const seconds = (value: number | null) => (value === null ? 'NEVER' : `${(value / 1000).toFixed(2)} s`);
  const ratios = pairs.map(({ api, bare }) => api.cpuPerHandshake / bare.cpuPerHandshake);
  out(
    `\nReconnect storms, ${pairs.length} pairs (pair 1 after each cluster's rounds, the others back to back, bare first in even pairs); CPU per reconnection net of the admin's changes:`,
  );
  out(
    table(
      [
        'pair',
        'API ms',
        'bare ms',
        'API / bare',
        'gross API / bare',
        'API: changes, all back, in sync',
        'load (API, bare)',
      ],
      pairs.map(({ api, bare }, i) => [
        String(i + 1),
        ms(api.cpuPerHandshake),
        ms(bare.cpuPerHandshake),
        ratio(ratios[i]!),
        ratio(api.cpuPerReconnect / bare.cpuPerReconnect),
        `${api.changes}, ${seconds(api.reconnected)}, ${seconds(api.synced)}`,
        `${api.load} / ${bare.load}`,
      ]),
    ),
  );
  const median = percentile(ratios, 50);
  const met = median <= 1.5;
  out(
    `Reconnect storm CPU per handshake API / bare, median of ${pairs.length} pairs: ${ratio(median)} (target ≤ 1.5×: ${met ? 'met' : 'MISSED'}; pairs ${ratios.map((r) => ratio(r)).join(', ')})`,
  );
  if (!met)
    missed.push(
      `node loss: reconnect storm CPU per handshake, median pair ${ratio(median)} of the bare cluster's > 1.5×`,
    );
  const late = pairs.filter(({ api }) => api.synced === null || api.synced > 10_000).length;
  out(`Every API storm all back and in sync ≤ 10 s: ${late === 0 ? 'met' : `MISSED in ${late} of ${pairs.length}`}`);
  if (late > 0)
    missed.push(`node loss: all reconnected and in sync ≤ 10 s missed in ${late} of ${pairs.length} storms`);
  return missed;
}

test(`scale-out: ${NODES} API nodes on PostgreSQL + Redis, ${SOCKETS} sockets, vs a bare Socket.IO cluster with the Redis adapter`, async () => {
  out(
    `\n[bench scale-out] ${new Date().toISOString()}, node ${process.version}, ${cpus().length} CPUs, load average at start ${load()}`,
  );
  const started = now();

  // ── the API cluster ──────────────────────────────────────────────────────────────────────────
  const db = await sharedDatabase(DATABASE_URL);
  dropDatabase = db.drop;
  const prefix = `rolecall-bench-scale-out-${Date.now()}`;
  const nodeEnv = { DATABASE_URL: db.url, REDIS_URL, REDIS_PREFIX: prefix, REDIS_ADAPTER: ADAPTER };
  nodes.push(await startNode(nodeEnv)); // runs the migrations
  nodes.push(...(await Promise.all(Array.from({ length: NODES - 1 }, () => startNode(nodeEnv)))));
  const apiCpu = () => nodes.reduce((sum, node) => sum + processCpuMs(node.process.pid), 0);
  out(
    `API nodes: ${nodes.map((node, i) => `${i + 1}: pid ${node.process.pid} ${node.url}`).join(', ')}; admin on node 1`,
  );

  const api = client(nodes[0]!.url);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const {
    owner,
    role: created,
    population,
  } = await seedBenchAccount(api, pool, {
    accountName: 'Scale-out Co',
    permissions: ROLE_BASE,
    sockets: SOCKETS,
    dashboards: DASHBOARDS,
    revokeRounds: ROUNDS_C,
    sessionAbsoluteMs: SESSION_ABSOLUTE_MS,
  });
  const plan: Plan = { population, holderSockets: population.roleHolders.flatMap((member) => member.sockets) };
  const onNodes = (indices: number[]) => [...new Set(indices.map((i) => (i % NODES) + 1))].sort().join(',');
  out(
    `seeded ${population.members.toLocaleString('en')} members / ${population.sockets.length.toLocaleString('en')} sessions in ${ms(population.ms)} ms: ` +
      `${population.dashboards.length} dashboards (nodes ${onNodes(population.dashboards)}), role holders ${population.roleHolders.length.toLocaleString('en')}, ` +
      `(a) target's sessions on nodes ${onNodes(population.roleTarget.sockets)}, ${ROUNDS_C} revocation targets × 3 sessions`,
  );
  expect(onNodes(population.roleTarget.sockets)).toBe('1,2,3');

  clients = await ClientProcess.start(fileURLToPath(new URL('./clients.mjs', import.meta.url)));
  out(`client process pid ${clients.pid}, clock offset ${clients.clockOffset.toFixed(3)} ms (corrected)`);
  const tokens = population.sockets.map((socket) => socket.token);
  const admin = jsonClient(nodes[0]!.url, '/api/v1', owner.token);
  await admin.request('GET', '/me');

  // (b0) the same role edit with no socket connected: the request's own cost (transaction, activity
  // entry, publishing to rooms nobody is in), to tell it apart from the fan-out in (b).
  let role = { id: created.id, version: created.version, permissions: ROLE_BASE };
  let holderVersion = 1;
  const idleEdits: number[] = [];
  for (let round = 0; round < WARMUP_B + 3; round += 1) {
    const permissions = role.permissions === ROLE_BASE ? ROLE_TOGGLED : ROLE_BASE;
    const t0 = now();
    const reply = await admin.request<RoleDto>(
      'PATCH',
      `/roles/${role.id}`,
      { description: `idle ${round + 1}`, permissions },
      { 'if-match': `"${role.version}"` },
    );
    const took = now() - t0;
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    role = { id: role.id, version: reply.body.version, permissions };
    holderVersion += 1;
    if (round >= WARMUP_B) idleEdits.push(took);
    await sleep(300);
  }
  // The role edit's one statement over every holder (apps/api/src/members/permission-rows.ts
  // bumpRoleHolders), alone, from here, in a transaction rolled back: its share of (b0).
  const bumpTimes: number[] = [];
  let hotShare = '';
  for (let round = 0; round < 3; round += 1) {
    const connection = await pool.connect();
    try {
      await connection.query('BEGIN');
      const xactStats = async () =>
        (
          await connection.query<{ updated: string; hot: string }>(
            "SELECT n_tup_upd AS updated, n_tup_hot_upd AS hot FROM pg_stat_xact_user_tables WHERE relname = 'members'",
          )
        ).rows[0];
      const before = await xactStats();
      const t0 = now();
      await connection.query(
        'UPDATE members SET permissions_version = permissions_version + 1 WHERE account_id = $1 AND role_id = $2 ' +
          'RETURNING id, status, role_id AS "roleId", agent_access AS "agentAccess", permissions_version AS "permissionsVersion"',
        [owner.account.id, role.id],
      );
      bumpTimes.push(now() - t0);
      const after = await xactStats();
      // The statement's own row updates (pg_stat_xact_* also holds this backend's unflushed counts).
      hotShare = `${Number(after?.hot) - Number(before?.hot)} of ${Number(after?.updated) - Number(before?.updated)} row updates HOT`;
    } finally {
      await connection.query('ROLLBACK');
      connection.release();
    }
  }
  const memberIndexes = await pool.query<{ count: string }>(
    "SELECT count(*) AS count FROM pg_indexes WHERE tablename = 'members'",
  );
  out(
    `(b0) role edit with no socket connected (${population.roleHolders.length.toLocaleString('en')} holders), HTTP: ${idleEdits.map((t) => ms(t)).join(', ')} ms; its holders' UPDATE … RETURNING alone (rolled back): ${bumpTimes.map((t) => ms(t)).join(', ')} ms (${hotShare}); members has ${memberIndexes.rows[0]?.count ?? '?'} indexes`,
  );

  const apiConnect = await connectAll(
    clients,
    nodes.map((node) => node.url),
    tokens,
    apiCpu,
  );
  out(
    `API: ${apiConnect.connected.toLocaleString('en')} sockets on ${NODES} nodes in ${(apiConnect.connectMs / 1000).toFixed(1)} s, nodes' CPU ${ms(apiConnect.cpuPerHandshake)} ms per handshake; load ${load()}`,
  );
  if (apiConnect.connected !== SOCKETS)
    out(
      nodes
        .flatMap((node, i) =>
          node.output
            .join('')
            .split('\n')
            .filter((line) => /"level":"(error|warn)"|\b(ERROR|WARN)\b/.test(line))
            .map((line) => `  node ${i + 1}: ${line.slice(0, 600)}`),
        )
        .slice(0, 20)
        .join('\n'),
    );
  expect(apiConnect.connected).toBe(SOCKETS);

  const captured: Captured = { a: [], b: [], c: [] };
  const apiSide: Side = { a: [], b: [], c: [], ...apiConnect };

  // (a) role change of one member whose 3 sessions are on 3 nodes, editor ↔ read only.
  const target = { ...population.roleTarget };
  let node1 = NODE1_METRICS ? await node1Gauges(nodes[0]!.url) : null;
  for (let round = 0; round < WARMUP_A + ROUNDS_A; round += 1) {
    const roleId = target.roleId === EDITOR ? READONLY : EDITOR;
    const result = await timedRound(
      clients,
      apiCpu,
      roleChangeGroups(target.sockets, plan.population.dashboards, roleId),
      10_000,
      () => admin.request('PATCH', `/users/${target.id}`, { roleId }, { 'if-match': `"${target.version}"` }),
      (reply) => {
        expect(reply.status, JSON.stringify(reply.body)).toBe(200);
        target.version = (reply.body as MemberDto).version;
      },
    );
    target.roleId = roleId;
    if (node1) {
      const after = await node1Gauges(nodes[0]!.url);
      node1Notes.set(result, node1Note(node1, after));
      node1 = after;
    }
    if (round >= WARMUP_A) {
      apiSide.a.push(result);
      captured.a.push({
        memberId: target.id,
        roleId,
        permissions: result.groups[0]!.sample,
        upserted: result.groups[1]!.sample,
      });
    }
    await sleep(50);
  }

  // (b) edit of the custom role held by half of the members (toggle reports.export).
  for (let round = 0; round < WARMUP_B + ROUNDS_B; round += 1) {
    const permissions = role.permissions === ROLE_BASE ? ROLE_TOGGLED : ROLE_BASE;
    const description = `round ${round + 1}`;
    holderVersion += 1;
    const result = await timedRound(
      clients,
      apiCpu,
      roleEditGroups(plan, holderVersion, description),
      120_000,
      () =>
        admin.request('PATCH', `/roles/${role.id}`, { description, permissions }, { 'if-match': `"${role.version}"` }),
      (reply) => {
        expect(reply.status, JSON.stringify(reply.body)).toBe(200);
        role = { id: role.id, version: (reply.body as RoleDto).version, permissions };
      },
    );
    if (round >= WARMUP_B) {
      apiSide.b.push(result);
      captured.b.push({
        version: holderVersion,
        description,
        role: result.groups[1]!.sample,
        permissions: result.groups[0]!.sample,
      });
    }
    out(
      `  (b) API round ${round + 1}${round < WARMUP_B ? ' (warm-up)' : ''}: HTTP ${ms(result.http)} ms, first ${ms(result.first)} ms, last ${ms(result.total)} ms, nodes' CPU ${ms(result.serverCpu)} ms${result.missing ? `, MISSING ${result.missing}` : ''}`,
    );
    await sleep(500);
  }

  // (c) revocation of a member with 3 sessions on 3 nodes, a fresh member each round.
  for (const member of population.revokeTargets) {
    const result = await timedRound(
      clients,
      apiCpu,
      revokeGroups(plan, member.id, member.sockets),
      10_000,
      () => admin.request('POST', `/users/${member.id}/revoke`, undefined, { 'if-match': `"${member.version}"` }),
      (reply) => expect(reply.status, JSON.stringify(reply.body)).toBe(200),
    );
    apiSide.c.push(result);
    captured.c.push({ memberId: member.id, upserted: result.groups[1]!.sample });
    await sleep(50);
  }
  // The cluster as it stands when a storm starts (node 3 is started again between storms).
  const apiCluster = (): LossCluster => ({
    urls: nodes.map((node) => node.url),
    pids: nodes.map((node) => node.process.pid),
    kill: () => nodes[NODES - 1]!.process.kill('SIGKILL'),
    outputs: nodes.map((node) => node.output),
  });
  const nodeLoss = NODE_LOSS ? await nodeLossPhase(clients, apiCluster(), population, { admin, db: pool }) : null;
  const apiSound = nodes.map((node) => ({ exitCode: node.process.exitCode, signal: node.process.signalCode }));
  const apiErrors = nodes.flatMap((node, i) =>
    node.output
      .join('')
      .split('\n')
      .filter((line) => /\b(ERROR|UnhandledPromiseRejection)\b/.test(line))
      .map((line) => `node ${i + 1}: ${line.slice(0, 300)}`),
  );

  // ── the bare cluster: the same clients reconnected ───────────────────────────────────────────
  // The API nodes stay up, without a socket (an idle node takes ~2% of a core): the storm pairs at
  // the end need nodes 1 and 2 as warm as in the first storm, not started afresh.
  await clients.call('close');
  await sleep(1000);
  const bareInput = {
    options: LIVE_SERVER_OPTIONS,
    redisUrl: REDIS_URL,
    key: `${prefix}-bare`,
    adapter: ADAPTER,
    accountId: owner.account.id,
    byToken: population.sockets.map((socket) => [
      socket.token,
      { sessionId: socket.sessionId, memberId: socket.memberId, dashboard: socket.dashboard },
    ]),
    roleHolders: population.roleHolders.map((member) => member.id),
    sessionsOf: population.revokeTargets.map((member) => [
      member.id,
      member.sockets.map((index) => population.sockets[index]!.sessionId),
    ]),
  };
  bareNodes = await Promise.all(Array.from({ length: NODES }, () => BareNode.start(bareInput)));
  const bareCpu = () => bareNodes.reduce((sum, node) => sum + processCpuMs(node.child.pid), 0);
  const bareConnect = await connectAll(
    clients,
    bareNodes.map((node) => node.url),
    tokens,
    bareCpu,
  );
  const counts = await Promise.all(bareNodes.map((node) => node.call<{ count: number }>('count')));
  out(
    `bare: ${bareConnect.connected.toLocaleString('en')} sockets (per node ${counts.map((c) => c.count).join(' / ')}) in ${(bareConnect.connectMs / 1000).toFixed(1)} s, nodes' CPU ${ms(bareConnect.cpuPerHandshake)} ms per handshake`,
  );
  const bareSide: Side = { a: [], b: [], c: [], ...bareConnect };
  const bareHttp = jsonClient(bareNodes[0]!.url, '');
  const ok = (reply: Reply) => expect(reply.status).toBe(200);
  for (let round = 0; round < WARMUP_A + ROUNDS_A; round += 1) {
    const sample = captured.a[round % captured.a.length]!;
    const result = await timedRound(
      clients,
      bareCpu,
      roleChangeGroups(population.roleTarget.sockets, population.dashboards, sample.roleId),
      10_000,
      () => bareHttp.request('POST', '/bare/role-change', sample),
      ok,
    );
    if (round >= WARMUP_A) bareSide.a.push(result);
    await sleep(50);
  }
  for (let round = 0; round < WARMUP_B + ROUNDS_B; round += 1) {
    const sample = captured.b[round % captured.b.length]!;
    const result = await timedRound(
      clients,
      bareCpu,
      roleEditGroups(plan, sample.version, sample.description),
      120_000,
      () => bareHttp.request('POST', '/bare/role-edit', { role: sample.role, permissions: sample.permissions }),
      ok,
    );
    if (round >= WARMUP_B) bareSide.b.push(result);
    out(
      `  (b) bare round ${round + 1}${round < WARMUP_B ? ' (warm-up)' : ''}: HTTP ${ms(result.http)} ms, first ${ms(result.first)} ms, last ${ms(result.total)} ms, nodes' CPU ${ms(result.serverCpu)} ms${result.missing ? `, MISSING ${result.missing}` : ''}`,
    );
    await sleep(500);
  }
  for (const [index, member] of population.revokeTargets.entries()) {
    const result = await timedRound(
      clients,
      bareCpu,
      revokeGroups(plan, member.id, member.sockets),
      10_000,
      () => bareHttp.request('POST', '/bare/revoke', captured.c[index]!),
      ok,
    );
    bareSide.c.push(result);
    await sleep(50);
  }
  bareHttp.close();
  // The same storm on the bare cluster: its node 3 killed, its sessions back through the balancer.
  const bareCluster = (): LossCluster => ({
    urls: bareNodes.map((node) => node.url),
    pids: bareNodes.map((node) => node.child.pid),
    kill: () => bareNodes[NODES - 1]!.child.kill('SIGKILL'),
  });
  const bareLoss = NODE_LOSS ? await nodeLossPhase(clients, bareCluster(), population, null) : null;

  // ── more storm pairs: the killed node 3 of each cluster started again, then killed again ──────
  const pairs: { api: NodeLoss; bare: NodeLoss }[] = nodeLoss && bareLoss ? [{ api: nodeLoss, bare: bareLoss }] : [];
  for (let pair = 1; pairs.length > 0 && pair < STORMS; pair += 1) {
    const apiStorm = async () => {
      await nodes[NODES - 1]!.stop(); // the killed node's data directory
      nodes[NODES - 1] = await startNode(nodeEnv);
      return nodeLossPhase(clients!, apiCluster(), population, { admin, db: pool! });
    };
    const bareStorm = async () => {
      await bareNodes[NODES - 1]!.stop();
      bareNodes[NODES - 1] = await BareNode.start(bareInput);
      return nodeLossPhase(clients!, bareCluster(), population, null);
    };
    const bareFirst = pair % 2 === 1;
    const first = await (bareFirst ? bareStorm() : apiStorm());
    const second = await (bareFirst ? apiStorm() : bareStorm());
    pairs.push(bareFirst ? { api: second, bare: first } : { api: first, bare: second });
  }
  admin.close();

  out(
    `\n══ Scale-out, ${NODES} nodes, ${ADAPTER} Redis adapter, N = ${SOCKETS.toLocaleString('en')} sockets (${population.members.toLocaleString('en')} members, ${population.dashboards.length} dashboards), ms from the admin's request (node 1) to the last receipt ══`,
  );
  const missed = report(apiSide, bareSide, plan.holderSockets.length);
  out(
    `API nodes at the end of their rounds: ${JSON.stringify(apiSound)}${apiErrors.length ? `; errors logged:\n  ${apiErrors.slice(0, 10).join('\n  ')}` : ', no error logged'}`,
  );
  out(`load average at end ${load()}; ${((now() - started) / 1000).toFixed(0)} s in all`);
  if (nodeLoss) {
    out(
      `Node loss (kill -9 of node ${NODES}, ${nodeLoss.onLost.toLocaleString('en')} of ${nodeLoss.total.toLocaleString('en')} libs/client sessions on it through the balancer; ` +
        `${nodeLoss.changes} role changes by the admin on node 1 from the kill until all were back, ${nodeLoss.cutAndChanged} cut sessions belong to members it changed):`,
    );
    out(
      `  sessions cut ${nodeLoss.cut.toLocaleString('en')}; all connected again ${nodeLoss.reconnected === null ? 'NEVER (30 s)' : `${(nodeLoss.reconnected / 1000).toFixed(2)} s`} after the kill; ` +
        `every session's permission set and every dashboard's seq equal to the server's ${nodeLoss.synced === null ? `NOT within 40 s: ${nodeLoss.stale} sessions with a stale set, ${nodeLoss.behind} dashboards behind` : `${(nodeLoss.synced / 1000).toFixed(2)} s after the kill`} ` +
        `(target ≤ 10 s: ${nodeLoss.synced !== null && nodeLoss.synced <= 10_000 ? 'met' : 'MISSED'}); no change missed: ${nodeLoss.synced !== null ? 'yes' : 'NO'}; ` +
        `nodes 1 and 2's CPU from the kill until all were back (handshakes, sync, the admin's changes) ${ms(nodeLoss.cpuPerReconnect)} ms per cut session; ` +
        `the same ${nodeLoss.changes} changes again once settled ${ms(nodeLoss.changesCpu)} ms, so ${ms(nodeLoss.cpuPerHandshake)} ms per reconnection; load ${nodeLoss.load}`,
    );
    if (bareLoss) {
      out(
        `  the bare cluster's same storm: ${bareLoss.cut.toLocaleString('en')} sessions cut, all connected again ${bareLoss.reconnected === null ? 'NEVER (30 s)' : `${(bareLoss.reconnected / 1000).toFixed(2)} s`} after the kill ` +
          `(${bareLoss.timeline.join(', ')}); survivors' CPU ${ms(bareLoss.cpuPerReconnect)} ms per cut session; load ${bareLoss.load}`,
      );
    }
    out(
      `  connected after the kill (of ${nodeLoss.total.toLocaleString('en')}): ${nodeLoss.timeline.join(', ')}; at the end ${nodeLoss.connectedAtEnd.toLocaleString('en')}; cut sessions back without their set on the new connection ${nodeLoss.cutNotGreeted}`,
    );
    out(
      `  connect errors seen by the sessions: ${JSON.stringify(nodeLoss.errors)}; survivors' "counting the sockets on other nodes failed" warnings after the kill: ${nodeLoss.crossNodeWarnings}`,
    );
  }
  missed.push(...stormReport(pairs));
  if (missed.length) out(`\nMissed targets:\n  ${missed.join('\n  ')}`);
  const missing = [...apiSide.a, ...apiSide.b, ...apiSide.c, ...bareSide.a, ...bareSide.b, ...bareSide.c].reduce(
    (sum, r) => sum + r.missing,
    0,
  );
  if (missing) out(`  ! ${missing} expected receipts never arrived (timed-out rounds)`);
  expect(missing, 'rounds timed out').toBe(0);
  if (ENFORCE) expect(missed).toEqual([]);
});
