import { SYSTEM_ROLES, type MemberDto, type PermissionKey, type RoleDto } from '@rolecall/contracts';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { createAccount, type SignedUp } from '../../api/support/factories.js';
import { client } from '../../api/support/http.js';
import { sharedDatabase, startNode, type ApiNode } from '../../api/support/nodes.js';
import { ClientProcess, now, type GroupSpec } from '../propagation/client-process.js';
import { pgSeeder, seedPopulation } from '../propagation/seed.js';
import {
  BENCH_DATABASE_URL,
  BENCH_REDIS_URL,
  commandCpuMs,
  cpuBetween,
  envNumber,
  flipRole,
  jsonClient,
  load,
  out,
  processCpuMs,
  residentMiB,
  roleChangeGroups,
  seedBenchAccount,
  sessionIdOf,
  sleep,
  timedRound,
  type Flippable,
  type RoundResult,
} from '../scale-out/processes.js';
import { ms, percentile, table } from '../users-list/stats.js';

/**
 * `npm run bench:one-node` (issue 18: how far one node goes on this 2-core machine, and what that
 * predicts for N nodes; README "## Benchmarks", "One node's capacity").
 *
 * One API process (apps/api/dist/main.js) on a fresh PostgreSQL database and Redis — the unit the
 * scaled deployment repeats — with everything else on the same 2 cores: PostgreSQL, Redis, and the
 * process that holds the client sockets. Two parts:
 *
 * 1. Sockets, in steps (BENCH_STEPS, default 5,000 / 10,000 / 18,000 websocket sockets of one
 *    account's members): at each step the handshakes' rate and CPU, the node's resident memory and
 *    idle CPU (heartbeats), (a) a role change reaching the member's 3 sessions and the 5 dashboards
 *    (p50/p99 of BENCH_ROUNDS_A), and (b) an edit of the role held by half of the members reaching
 *    every connected holder (BENCH_ROUNDS_B rounds).
 * 2. Throughput with every socket of the last step connected: BENCH_WORKERS closed-loop clients for
 *    BENCH_SECONDS each on `GET /users?limit=50`, `PATCH /users/:id {roleId}` (one account, and then
 *    spread over 8 small accounts, to tell the account's write lock from the machine's CPU), and
 *    `PATCH /roles/:id` of small roles (25 holders each). For each: operations per second, latency,
 *    and the CPU each tier spent per operation (the API node, every `postgres` process, `redis-server`,
 *    the load generator), from /proc.
 *
 * The prediction for N nodes divides each tier's CPU per operation into a 2-core machine per tier
 * (N API nodes of 2 cores; one PostgreSQL and one Redis of 2 cores each, Redis using one) and names
 * the tier that runs out first; the README says what that means and the design step past it.
 *
 * Env: DATABASE_URL, REDIS_URL (defaults: the local services), BENCH_STEPS, BENCH_SECONDS (10),
 * BENCH_WORKERS (8), BENCH_ROUNDS_A (20), BENCH_ROUNDS_B (2).
 */

/** Engine.IO's default pingInterval, which the API keeps: one heartbeat of every socket. */
const IDLE_WINDOW_MS = 25_000;
const env = envNumber;
const DATABASE_URL = BENCH_DATABASE_URL;
const REDIS_URL = BENCH_REDIS_URL;
// 18,000 at most by default: this machine allows a process 20,000 open files (`ulimit -Hn`), and the
// API node needs some for PostgreSQL, Redis and its own files; past that, `BENCH_STEPS` with a higher limit.
const STEPS = (process.env['BENCH_STEPS'] ?? '5000,10000,18000')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n >= 200)
  .sort((a, b) => a - b);
const MAX_SOCKETS = STEPS.at(-1) ?? 18_000;
const SECONDS = env('BENCH_SECONDS', 10);
const WORKERS = env('BENCH_WORKERS', 8);
const ROUNDS_A = env('BENCH_ROUNDS_A', 20);
const ROUNDS_B = env('BENCH_ROUNDS_B', 2);
const SMALL_ACCOUNTS = 8;
const SMALL_ROLE_HOLDERS = 25;
const SESSION_ABSOLUTE_MS = 30 * 24 * 60 * 60 * 1000;

const [, EDITOR, READONLY] = SYSTEM_ROLES.map((role) => role.id) as [string, string, string];
const ROLE_BASE: PermissionKey[] = ['people.view', 'campaigns.view', 'dashboards.view', 'reports.view'];
const ROLE_TOGGLED: PermissionKey[] = [...ROLE_BASE, 'reports.export'];
const toggled = (permissions: PermissionKey[]) => (permissions === ROLE_BASE ? ROLE_TOGGLED : ROLE_BASE);

/** CPU (ms) of each tier on this machine: so far (readings), or spent in a phase. */
interface Tiers {
  api: number;
  postgres: number;
  redis: number;
  clients: number;
}

interface TierReading {
  api: number;
  postgres: Map<number, number>;
  redis: Map<number, number>;
  clients: number;
}

interface Load {
  name: string;
  workers: number;
  ops: number;
  errors: number;
  seconds: number;
  latencies: number[];
  /** CPU per operation (ms) of each tier. */
  perOp: Tiers;
}

interface Step {
  sockets: number;
  handshakesPerSecond: number;
  cpuPerHandshake: number;
  rssMiB: number;
  idleCpuPercent: number;
  a: RoundResult[];
  b: RoundResult[];
  holders: number;
}

let node: ApiNode | undefined;
let clients: ClientProcess | undefined;
let pool: pg.Pool | undefined;
let dropDatabase: (() => Promise<void>) | undefined;
afterAll(async () => {
  await clients?.stop();
  await node?.stop();
  await pool?.end();
  await dropDatabase?.();
});

/** `workers` closed loops of `operation` for SECONDS; a 2xx answer counts, anything else is an error. */
async function closedLoop(
  name: string,
  workers: number,
  tiers: () => TierReading,
  operation: (worker: number) => Promise<number>,
): Promise<Load> {
  const latencies: number[] = [];
  let errors = 0;
  const before = tiers();
  const started = now();
  const until = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (now() < until) {
        const t0 = now();
        const status = await operation(worker);
        if (status >= 200 && status < 300) latencies.push(now() - t0);
        else errors += 1;
      }
    }),
  );
  const seconds = (now() - started) / 1000;
  const after = tiers();
  const ops = latencies.length;
  const per = (ms: number) => ms / Math.max(1, ops);
  return {
    name,
    workers,
    ops,
    errors,
    seconds,
    latencies,
    perOp: {
      api: per(after.api - before.api),
      postgres: per(cpuBetween(before.postgres, after.postgres)),
      redis: per(cpuBetween(before.redis, after.redis)),
      clients: per(after.clients - before.clients),
    },
  };
}

/** Worker w flips the roles of `members[w]` in turn, through `admins[w]`. */
function roleFlipper(admins: ReturnType<typeof jsonClient>[], members: Flippable[][]) {
  const turns = members.map(() => 0);
  return (worker: number): Promise<number> => {
    const mine = members[worker]!;
    const turn = turns[worker]!;
    turns[worker] = turn + 1;
    return flipRole(admins[worker]!, mine[turn % mine.length]!);
  };
}

test(`one node on PostgreSQL + Redis: sockets in steps of ${STEPS.join(' / ')}, then list, role-change and role-edit throughput`, async () => {
  out(
    `\n[bench one-node] ${new Date().toISOString()}, node ${process.version}, ${cpus().length} CPUs, load average at start ${load()}`,
  );
  const started = now();
  const db = await sharedDatabase(DATABASE_URL);
  dropDatabase = db.drop;
  node = await startNode({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_PREFIX: `rolecall-bench-one-node-${Date.now()}`,
  });
  const apiPid = node.process.pid;
  const api = client(node.url);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const sessionOf = (signedUp: SignedUp) => sessionIdOf(pool!, signedUp);
  const {
    owner,
    role: created,
    population,
  } = await seedBenchAccount(api, pool, {
    accountName: 'One Node Co',
    permissions: ROLE_BASE,
    sockets: MAX_SOCKETS,
    dashboards: 5,
    revokeRounds: 1,
    sessionAbsoluteMs: SESSION_ABSOLUTE_MS,
  });
  // Planner statistics as a live database has them (autovacuum would otherwise run during the first workload).
  await pool.query('VACUUM ANALYZE');
  out(
    `seeded ${population.members.toLocaleString('en')} members / ${population.sockets.length.toLocaleString('en')} sessions in ${ms(population.ms)} ms; role holders ${population.roleHolders.length.toLocaleString('en')}; API pid ${apiPid}`,
  );

  clients = await ClientProcess.start(fileURLToPath(new URL('../scale-out/clients.mjs', import.meta.url)));
  const clientPid = clients.pid;
  const tiers = (): TierReading => ({
    api: processCpuMs(apiPid),
    postgres: commandCpuMs('postgres'),
    redis: commandCpuMs('redis-server'),
    clients: processCpuMs(clientPid),
  });
  const admin = jsonClient(node.url, '/api/v1', owner.token);
  expect((await admin.request('GET', '/me')).status).toBe(200);
  const rssBefore = residentMiB(apiPid);
  const tokens = population.sockets.map((socket) => socket.token);

  // ── 1. sockets in steps ─────────────────────────────────────────────────────────────────────
  const steps: Step[] = [];
  const target = { ...population.roleTarget };
  let role = { id: created.id, version: created.version, permissions: ROLE_BASE };
  let holderVersion = 1;
  let connected = 0;
  for (const size of STEPS) {
    const cpu0 = processCpuMs(apiPid);
    const reply = await clients.call<{ connected: number; failed: number; errors: Record<string, number>; ms: number }>(
      'connect',
      { urls: [node.url], tokens: tokens.slice(0, size), concurrency: 64, from: connected },
    );
    const handshakes = size - connected;
    if (reply.failed) out(`  ! ${reply.failed} connections failed: ${JSON.stringify(reply.errors)}`);
    expect(reply.connected, 'every socket of the step connects').toBe(handshakes);
    const cpuPerHandshake = (processCpuMs(apiPid) - cpu0) / handshakes;
    connected = size;
    await sleep(3000);
    // Over one whole Engine.IO ping interval (25 s, the server's default): every socket's ping and pong
    // once. A 5 s window caught or missed the wave of the sockets connected 25 s before (1.4 / 10.4 /
    // 8.0 % at 5,000 / 10,000 / 18,000 sockets on 2026-12-07).
    const idle0 = processCpuMs(apiPid);
    await sleep(IDLE_WINDOW_MS);
    const idleCpuPercent = ((processCpuMs(apiPid) - idle0) / IDLE_WINDOW_MS) * 100;
    const step: Step = {
      sockets: size,
      handshakesPerSecond: handshakes / (reply.ms / 1000),
      cpuPerHandshake,
      rssMiB: residentMiB(apiPid),
      idleCpuPercent,
      a: [],
      b: [],
      holders: 0,
    };
    // (a) the member's 3 sessions and the dashboards (all among the first sockets of every step).
    for (let round = 0; round < 3 + ROUNDS_A; round += 1) {
      const roleId = target.roleId === EDITOR ? READONLY : EDITOR;
      const groups = roleChangeGroups(target.sockets, population.dashboards, roleId);
      const result = await timedRound(
        clients,
        () => processCpuMs(apiPid),
        groups,
        10_000,
        () => admin.request('PATCH', `/users/${target.id}`, { roleId }, { 'if-match': `"${target.version}"` }),
        (answer) => {
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
          target.version = (answer.body as MemberDto).version;
        },
      );
      target.roleId = roleId;
      if (round >= 3) step.a.push(result);
      await sleep(50);
    }
    // (b) the role held by half of the members: every connected holder hears its new set.
    const holderSockets = population.roleHolders.flatMap((member) => member.sockets).filter((index) => index < size);
    step.holders = holderSockets.length;
    for (let round = 0; round < 1 + ROUNDS_B; round += 1) {
      const permissions = toggled(role.permissions);
      const description = `step ${size} round ${round + 1}`;
      holderVersion += 1;
      const groups: GroupSpec[] = [
        {
          name: 'holders',
          event: 'me.permissions',
          sockets: holderSockets,
          match: { path: 'version', equals: holderVersion },
        },
        {
          name: 'dashboards',
          event: 'role.upserted',
          sockets: population.dashboards,
          match: { path: 'role.description', equals: description },
        },
      ];
      const result = await timedRound(
        clients,
        () => processCpuMs(apiPid),
        groups,
        120_000,
        () =>
          admin.request(
            'PATCH',
            `/roles/${role.id}`,
            { description, permissions },
            { 'if-match': `"${role.version}"` },
          ),
        (answer) => {
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
          role = { id: role.id, version: (answer.body as RoleDto).version, permissions };
        },
      );
      if (round >= 1) step.b.push(result);
      await sleep(500);
    }
    const missing = [...step.a, ...step.b].reduce((sum, r) => sum + r.missing, 0);
    expect(missing, 'rounds timed out').toBe(0);
    steps.push(step);
    out(
      `  ${size.toLocaleString('en')} sockets: ${Math.round(step.handshakesPerSecond)} handshakes/s at ${ms(cpuPerHandshake)} ms CPU each, RSS ${step.rssMiB.toFixed(0)} MiB, idle CPU ${idleCpuPercent.toFixed(1)}%, ` +
        `(a) p50 ${ms(
          percentile(
            step.a.map((r) => r.total),
            50,
          ),
        )} p99 ${ms(
          percentile(
            step.a.map((r) => r.total),
            99,
          ),
        )} ms, (b) ${step.holders.toLocaleString('en')} holders last ${step.b.map((r) => ms(r.total)).join(', ')} ms; load ${load()}`,
    );
  }

  // ── 2. throughput with every socket connected ───────────────────────────────────────────────
  const admins = Array.from({ length: WORKERS }, () => jsonClient(node!.url, '/api/v1', owner.token));
  const loads: Load[] = [];
  const record = (result: Load) => {
    loads.push(result);
    out(
      `  ${result.name}, ${result.workers} workers: ${(result.ops / result.seconds).toFixed(0)}/s, p50 ${ms(percentile(result.latencies, 50))} ms, p99 ${ms(percentile(result.latencies, 99))} ms, ${result.errors} errors; load ${load()}`,
    );
    expect(result.errors, `${result.name}: answers other than 2xx`).toBe(0);
  };

  record(
    await closedLoop('GET /users?limit=50', WORKERS, tiers, (worker) =>
      admins[worker]!.request('GET', '/users?limit=50').then((reply) => reply.status),
    ),
  );
  await sleep(1000);

  // Members a worker may flip: regulars with one socket, not holders of the custom role, disjoint per worker.
  const holders = new Set(population.roleHolders.map((member) => member.id));
  const rows = (
    await pool.query<{ id: string; role_id: string; version: number }>(
      'SELECT id, role_id, version FROM members WHERE account_id = $1 AND role_id IN ($2, $3) AND id <> $4 ORDER BY id',
      [owner.account.id, EDITOR, READONLY, population.roleTarget.id],
    )
  ).rows.filter((row) => !holders.has(row.id) && !population.revokeTargets.some((m) => m.id === row.id));
  const flippable: Flippable[] = rows.map((row) => ({ id: row.id, roleId: row.role_id, version: row.version }));
  const slices = (count: number) =>
    Array.from({ length: count }, (_, w) => flippable.filter((_, i) => i % count === w).slice(0, 200));
  record(await closedLoop('PATCH /users/:id {roleId}, one account', 1, tiers, roleFlipper([admins[0]!], slices(1))));
  await sleep(1000);
  record(
    await closedLoop('PATCH /users/:id {roleId}, one account', WORKERS, tiers, roleFlipper(admins, slices(WORKERS))),
  );
  await sleep(1000);

  // The same writes spread over small accounts: one account's lock, or the machine?
  const small: { admin: ReturnType<typeof jsonClient>; members: Flippable[] }[] = [];
  for (let k = 0; k < SMALL_ACCOUNTS; k += 1) {
    const signedUp = await createAccount(api, { plan: 'enterprise', accountName: `Small ${k + 1}`, name: 'Sam Small' });
    const custom = await api.post<RoleDto>(
      '/roles',
      { name: 'Custom', description: '', icon: 'bolt', permissions: ROLE_BASE },
      { token: signedUp.token },
    );
    const seeded = await seedPopulation(pgSeeder(pool), {
      accountId: signedUp.account.id,
      owner: { memberId: signedUp.member.id, token: signedUp.token, sessionId: await sessionOf(signedUp) },
      customRoleId: custom.body.id,
      sockets: 60,
      emailTag: `small${k + 1}.`,
      dashboards: 1,
      revokeRounds: 1,
      sessionAbsoluteMs: SESSION_ABSOLUTE_MS,
    });
    const people = (
      await pool.query<{ id: string; role_id: string; version: number }>(
        'SELECT id, role_id, version FROM members WHERE account_id = $1 AND role_id IN ($2, $3) AND id <> $4',
        [signedUp.account.id, EDITOR, READONLY, seeded.roleTarget.id],
      )
    ).rows;
    small.push({
      admin: jsonClient(node.url, '/api/v1', signedUp.token),
      members: people.map((row) => ({ id: row.id, roleId: row.role_id, version: row.version })),
    });
  }
  record(
    await closedLoop(
      `PATCH /users/:id {roleId}, ${SMALL_ACCOUNTS} accounts`,
      SMALL_ACCOUNTS,
      tiers,
      roleFlipper(
        small.map((account) => account.admin),
        small.map((account) => account.members),
      ),
    ),
  );
  await sleep(1000);

  // Small roles (25 holders each, one per worker), edited in a closed loop.
  const smallRoles: { id: string; version: number; permissions: PermissionKey[] }[] = [];
  for (let w = 0; w < WORKERS; w += 1) {
    const made = await admin.request<RoleDto>('POST', '/roles', {
      name: `Small ${w + 1}`,
      description: '',
      icon: 'star',
      permissions: ROLE_BASE,
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    // From the end of the list: members the role-change loops above never touched.
    const from = flippable.length - (w + 1) * SMALL_ROLE_HOLDERS;
    for (const member of flippable.slice(Math.max(0, from), from + SMALL_ROLE_HOLDERS)) {
      const moved = await admin.request<MemberDto>(
        'PATCH',
        `/users/${member.id}`,
        { roleId: made.body.id },
        { 'if-match': `"${member.version}"` },
      );
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    }
    smallRoles.push({ id: made.body.id, version: made.body.version, permissions: ROLE_BASE });
  }
  let edits = 0;
  record(
    await closedLoop(`PATCH /roles/:id, ${SMALL_ROLE_HOLDERS} holders each`, WORKERS, tiers, async (worker) => {
      const mine = smallRoles[worker]!;
      const permissions = toggled(mine.permissions);
      const reply = await admins[worker]!.request<RoleDto>(
        'PATCH',
        `/roles/${mine.id}`,
        { description: `edit ${(edits += 1)}`, permissions },
        { 'if-match': `"${mine.version}"` },
      );
      if (reply.status === 200) Object.assign(mine, { version: reply.body.version, permissions });
      return reply.status;
    }),
  );
  for (const each of [admin, ...admins, ...small.map((account) => account.admin)]) each.close();
  const exited = node.process.exitCode !== null || node.process.signalCode !== null;
  expect(exited, 'the API node is still up').toBe(false);

  // ── report ──────────────────────────────────────────────────────────────────────────────────
  const last = steps.at(-1)!;
  out(
    `\n══ One API node on PostgreSQL + Redis, everything on ${cpus().length} cores (API, PostgreSQL, Redis, the client sockets), one account of ${population.members.toLocaleString('en')} members ══`,
  );
  out(
    table(
      [
        'sockets',
        'handshakes/s',
        'CPU/handshake',
        'RSS',
        'KiB/socket',
        'idle CPU',
        '(a) p50',
        '(a) p99',
        '(b) holders',
        '(b) last',
        "(b) node's CPU",
      ],
      steps.map((step) => [
        step.sockets.toLocaleString('en'),
        step.handshakesPerSecond.toFixed(0),
        `${ms(step.cpuPerHandshake)} ms`,
        `${step.rssMiB.toFixed(0)} MiB`,
        (((step.rssMiB - rssBefore) * 1024) / step.sockets).toFixed(1),
        `${step.idleCpuPercent.toFixed(1)}%`,
        ms(
          percentile(
            step.a.map((r) => r.total),
            50,
          ),
        ),
        ms(
          percentile(
            step.a.map((r) => r.total),
            99,
          ),
        ),
        step.holders.toLocaleString('en'),
        `${ms(Math.max(...step.b.map((r) => r.total)))} ms`,
        `${ms(
          percentile(
            step.b.map((r) => r.serverCpu),
            50,
          ),
        )} ms`,
      ]),
    ),
  );
  out(
    `  RSS before any socket ${rssBefore.toFixed(0)} MiB; (a) targets p99 ≤ 50 ms, (b) last ≤ 500 ms as in bench:scale-out.`,
  );
  out(`\nThroughput with ${last.sockets.toLocaleString('en')} sockets connected, ${SECONDS} s each, closed loop:`);
  out(
    table(
      [
        'workload',
        'workers',
        'ops/s',
        'p50',
        'p99',
        'API CPU/op',
        'PostgreSQL CPU/op',
        'Redis CPU/op',
        'load generator CPU/op',
      ],
      loads.map((result) => [
        result.name,
        String(result.workers),
        (result.ops / result.seconds).toFixed(0),
        `${ms(percentile(result.latencies, 50))} ms`,
        `${ms(percentile(result.latencies, 99))} ms`,
        `${ms(result.perOp.api)} ms`,
        `${ms(result.perOp.postgres)} ms`,
        `${ms(result.perOp.redis)} ms`,
        `${ms(result.perOp.clients)} ms`,
      ]),
    ),
  );
  // N API nodes of 2 cores; one PostgreSQL of 2 cores; one Redis (single-threaded: one core). Every
  // node receives every published event (the classic adapter), so Redis's cost per operation is
  // counted N times: an upper bound.
  const cores = 2;
  // One account's writes hold its row lock (AccountMutations: lock → change → activity entry →
  // commit), so they run one at a time however many nodes send them: the rate measured with WORKERS
  // writers in the one account, when it is no better than one writer's, is a ceiling of its own.
  const rate = (result: Load | undefined) => (result ? result.ops / result.seconds : Number.NaN);
  const oneAccount = loads.filter((result) => result.name.endsWith('one account'));
  const serial = rate(oneAccount.find((result) => result.workers === 1));
  const parallel = rate(oneAccount.find((result) => result.workers > 1));
  const lockBound = parallel < serial * 1.25 ? parallel : Number.POSITIVE_INFINITY;
  out(
    `\nOne account's writes: ${serial.toFixed(0)}/s with 1 writer, ${parallel.toFixed(0)}/s with ${WORKERS} (${(parallel / serial).toFixed(2)}×)` +
      `${Number.isFinite(lockBound) ? ": bound by the account's row lock, not by CPU — no number of nodes raises it" : ''}; spread over ${SMALL_ACCOUNTS} accounts ${rate(loads.find((result) => result.name.includes('accounts'))).toFixed(0)}/s.`,
  );
  const predict = (result: Load, n: number) => {
    const limits: Record<string, number> = {
      'API nodes': (n * cores * 1000) / result.perOp.api,
      PostgreSQL: (cores * 1000) / result.perOp.postgres,
      Redis: 1000 / (result.perOp.redis * n),
      ...(result.name.endsWith('one account') ? { 'account lock': lockBound } : {}),
    };
    const [first, value] = Object.entries(limits).sort((x, y) => x[1] - y[1])[0]!;
    return `${Math.round(value).toLocaleString('en')}/s (${first})`;
  };
  const sizes = [1, 2, 3, 5, 10];
  out(
    `\nPredicted ceiling with N API nodes of ${cores} cores each, PostgreSQL and Redis on ${cores} cores of their own (CPU only; the tier that runs out first):`,
  );
  out(
    table(
      ['workload', ...sizes.map((n) => `N = ${n}`)],
      loads
        .filter((result) => result.workers > 1)
        .map((result) => [result.name, ...sizes.map((n) => predict(result, n))]),
    ),
  );
  out(
    `  sockets: ${last.sockets.toLocaleString('en')} per node measured here (RSS ${last.rssMiB.toFixed(0)} MiB, idle CPU ${last.idleCpuPercent.toFixed(1)}%), so N nodes hold N × that while (b)'s fan-out per node stays that of its own sockets.`,
  );
  out(`load average at end ${load()}; ${((now() - started) / 1000).toFixed(0)} s in all`);
});
