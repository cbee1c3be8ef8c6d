import 'reflect-metadata';
import { READONLY_ROLE_ID } from '@rolecall/contracts';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { afterAll, expect, test } from 'vitest';
import { DEFAULT_LIVE_LIMITS } from '../../../apps/api/src/config.js';
import { sha256Hex } from '../../../apps/api/src/common/tokens.js';
import { Database } from '../../../apps/api/src/database/database.service.js';
import { LiveEvents } from '../../../apps/api/src/live/live-events.service.js';
import { LiveGateway } from '../../../apps/api/src/live/live.gateway.js';
import { startApp, type TestApp } from '../../api/support/app.js';
import { createAccount } from '../../api/support/factories.js';
import { client } from '../../api/support/http.js';
import { ms, percentile, table } from '../users-list/stats.js';
import { ClientProcess, now, type GroupResult } from './client-process.js';
import { seedPopulation, type SeededMember } from './seed.js';

/**
 * Live deprovisioning over SCIM (issue 16 §2), in the propagation benchmark's style; runs under
 * `npm run bench:propagation` after propagation.bench-run.ts (alone: `npm run bench:deprovision`).
 *
 * The same population as the propagation bench (seed.ts: one enterprise account, N sockets, the
 * owner and admins in the account room) is connected from the forked client process. Each round
 * deprovisions a fresh member with 3 signed-in sessions the way Okta does it —
 * `PATCH /scim/v2/Users/:id` `{ op: replace, value: { active: false } }` with the account's SCIM
 * token and Okta's User-Agent, over one keep-alive connection — and is timed from just before the
 * request to the last of the member's 3 sockets disconnected (each must first get `me.revoked`
 * with reason `deprovisioned`); the dashboards' `user.upserted` is reported beside it.
 * Target: p99 ≤ 100 ms at every size. On the database the suite uses (SQLite, or PostgreSQL
 * with DATABASE_URL). The same rounds through the dashboard's `POST /users/:id/revoke`, interleaved
 * with them, are printed beside as the baseline (what SCIM adds to a revocation).
 *
 * Env: BENCH_SIZES (default 1000; the propagation bench's variable), BENCH_ROUNDS_D (40),
 * BENCH_DASHBOARDS (5), BENCH_ENFORCE=1 to fail on a missed target.
 */

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const SIZES = (process.env['BENCH_SIZES'] ?? '1000')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const ROUNDS = env('BENCH_ROUNDS_D', 40);
const DASHBOARDS = env('BENCH_DASHBOARDS', 5);
const ENFORCE = process.env['BENCH_ENFORCE'] === '1';
const TARGET_MS = 100;
const OKTA = 'Okta SCIM Client 1.0.0';

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
const out = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** A keep-alive client (one connection), so rounds do not pay a TCP connect. */
function keepAlive(baseUrl: string, headers: Record<string, string>) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(baseUrl);
  const request = (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          host: hostname,
          port,
          method,
          path,
          agent,
          headers: {
            ...headers,
            ...extra,
            ...(payload ? { 'content-length': String(Buffer.byteLength(payload)) } : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          response.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  return { request, close: () => agent.destroy() };
}

interface Round {
  total: number;
  http: number;
  byGroup: Record<string, number>;
  missing: number;
}

let app: TestApp | undefined;
let clients: ClientProcess | undefined;
afterAll(async () => {
  await clients?.stop();
  await app?.close();
});

interface SizeResult {
  sockets: number;
  members: number;
  scim: Round[];
  dashboard: Round[];
}

async function runSize(sockets: number): Promise<SizeResult> {
  out(`\n── deprovisioning, N = ${sockets.toLocaleString('en')} sockets ── load average ${load()} ──────────────`);
  // Every socket of the bench comes from one address.
  app = await startApp({ overrides: { liveLimits: { ...DEFAULT_LIVE_LIMITS, handshakesPerIp: 1_000_000 } } });
  const db = app.app.get(Database);
  const live = app.app.get(LiveEvents);
  const gateway = app.app.get(LiveGateway);
  const api = client(app.url);
  const owner = await createAccount(api, { plan: 'enterprise', accountName: 'Deprovisioning Co', name: 'Olive Owner' });
  const issued = await api.post<{ token: string; baseUrl: string }>('/account/scim-token', undefined, {
    token: owner.token,
  });
  expect(issued.status, JSON.stringify(issued.body)).toBe(201);
  const [ownerSession] = await db.read(
    (m) =>
      m.query(`SELECT id FROM sessions WHERE token_hash = ${db.kind === 'postgres' ? '$1' : '?'}`, [
        sha256Hex(owner.token),
      ]) as Promise<{ id: string }[]>,
  );
  const population = await seedPopulation(db, {
    accountId: owner.account.id,
    owner: { memberId: owner.member.id, token: owner.token, sessionId: ownerSession!.id },
    // No custom role in this bench: the "holders" of seed.ts hold Read only.
    customRoleId: READONLY_ROLE_ID,
    sockets,
    dashboards: DASHBOARDS,
    // Two targets per round: one deprovisioned over SCIM, one revoked from the dashboard.
    revokeRounds: 2 * ROUNDS,
    sessionAbsoluteMs: app.config.sessionAbsoluteMs,
  });
  out(
    `seeded ${population.members.toLocaleString('en')} members / ${population.sockets.length.toLocaleString('en')} sessions in ${ms(population.ms)} ms, ` +
      `${population.dashboards.length} dashboards, ${2 * ROUNDS} targets × 3 sessions, ${app.config.databaseUrl ? 'PostgreSQL' : 'SQLite'}`,
  );

  clients = await ClientProcess.start();
  const connected = await clients.call<{
    connected: number;
    failed: number;
    errors: Record<string, number>;
    ms: number;
  }>('connect', { url: app.url, tokens: population.sockets.map((socket) => socket.token), concurrency: 64 });
  await sleep(500);
  out(
    `client process pid ${clients.pid}, clock offset ${clients.clockOffset.toFixed(3)} ms (corrected); ` +
      `${gateway.server.engine.clientsCount.toLocaleString('en')} sockets connected in ${(connected.ms / 1000).toFixed(1)} s`,
  );
  expect(connected.failed, JSON.stringify(connected.errors)).toBe(0);

  const scim = keepAlive(app.url, {
    authorization: `Bearer ${issued.body.token}`,
    'user-agent': OKTA,
    'content-type': 'application/scim+json',
  });
  const admin = keepAlive(app.url, { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' });
  const round = async (member: SeededMember, reason: string, send: () => Promise<{ status: number; body: string }>) => {
    const { results } = await clients!.arm(
      [
        { name: 'revoked', event: 'me.revoked', sockets: member.sockets, match: { path: 'reason', equals: reason } },
        { name: 'sessions', event: 'disconnect', sockets: member.sockets },
        {
          name: 'dashboards',
          event: 'user.upserted',
          sockets: population.dashboards,
          match: { path: 'member.id', equals: member.id },
        },
      ],
      10_000,
    );
    const t0 = now();
    const reply = await send();
    const responded = now();
    expect(reply.status, reply.body).toBe(200);
    const groups: GroupResult[] = await results;
    const at = (name: string) => (groups.find((group) => group.name === name)?.last ?? Number.NaN) - t0;
    await live.idle();
    await sleep(20);
    return {
      total: at('sessions'),
      http: responded - t0,
      byGroup: { revoked: at('revoked'), sessions: at('sessions'), dashboards: at('dashboards') },
      missing: groups.reduce((sum, group) => sum + group.expected - group.received, 0),
    };
  };

  // Interleaved, so both paths see the same machine load.
  const result: SizeResult = { sockets, members: population.members, scim: [], dashboard: [] };
  for (let i = 0; i < ROUNDS; i += 1) {
    const viaScim = population.revokeTargets[2 * i]!;
    const viaDashboard = population.revokeTargets[2 * i + 1]!;
    result.scim.push(
      await round(viaScim, 'deprovisioned', () =>
        scim.request('PATCH', `/scim/v2/Users/${viaScim.id}`, {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', value: { active: false } }],
        }),
      ),
    );
    result.dashboard.push(
      await round(viaDashboard, 'member_revoked', () =>
        admin.request('POST', `/api/v1/users/${viaDashboard.id}/revoke`, undefined, {
          'if-match': `"${viaDashboard.version}"`,
        }),
      ),
    );
  }
  out(`load average after N = ${sockets.toLocaleString('en')}: ${load()}`);

  scim.close();
  admin.close();
  await clients.stop();
  clients = undefined;
  await app.close();
  app = undefined;
  return result;
}

test(`live deprovisioning over SCIM at ${SIZES.join(', ')} sockets`, async () => {
  out(`\n[bench deprovisioning] node ${process.version}, ${cpus().length} CPUs`);
  const results: SizeResult[] = [];
  for (const size of SIZES) results.push(await runSize(size));

  const missed: string[] = [];
  let missing = 0;
  const rows: string[][] = [];
  for (const result of results) {
    const row = (label: string, rounds: Round[], judged: boolean) => {
      const totals = rounds.map((r) => r.total);
      const p99 = percentile(totals, 99);
      const met = p99 <= TARGET_MS;
      if (judged && !met) missed.push(`deprovisioning at ${result.sockets}: p99 ${ms(p99)} > ${TARGET_MS}`);
      missing += rounds.reduce((sum, r) => sum + r.missing, 0);
      const median = (field: (r: Round) => number) => ms(percentile(rounds.map(field), 50));
      rows.push([
        `${label}, N = ${result.sockets.toLocaleString('en')}`,
        String(rounds.length),
        median((r) => r.http),
        median((r) => r.byGroup['revoked']!),
        ms(percentile(totals, 50)),
        ms(p99),
        ms(Math.max(...totals)),
        median((r) => r.byGroup['dashboards']!),
        judged ? `p99 ≤ ${TARGET_MS}` : '(baseline)',
        judged ? (met ? 'yes' : 'NO') : '–',
      ]);
    };
    row('SCIM PATCH active:false → 3 sockets closed', result.scim, true);
    row('dashboard POST /users/:id/revoke → 3 sockets closed', result.dashboard, false);
  }
  out('\n══ Deprovisioning, times in ms from the request to the last receipt ══');
  out(
    table(
      [
        'measure',
        'rounds',
        'http p50',
        'me.revoked p50',
        'closed p50',
        'closed p99',
        'max',
        'dashboards p50',
        'target',
        'met',
      ],
      rows,
    ),
  );
  out(`  rounds interleaved (SCIM, dashboard, SCIM, …); p99 of ${ROUNDS} rounds is their maximum (nearest rank).`);
  if (missed.length) out(`\nMissed targets:\n  ${missed.join('\n  ')}`);
  if (missing) out(`  ! ${missing} expected receipts never arrived (timed-out rounds)`);
  expect(missing, 'rounds timed out').toBe(0);
  if (ENFORCE) expect(missed).toEqual([]);
});
