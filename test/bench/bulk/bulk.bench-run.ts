import 'reflect-metadata';
import { EDITOR_ROLE_ID, READONLY_ROLE_ID } from '@rolecall/contracts';
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
import { ClientProcess, now, type GroupResult } from '../propagation/client-process.js';
import { seedPopulation } from '../propagation/seed.js';
import { ms, percentile, table } from '../users-list/stats.js';

/**
 * Bulk role change (issue 17 §2): `POST /users/bulk { action: 'role', ids: [5,000 ids] }` in an
 * account of 10,000+ members, timed end to end — from just before the request to the last of the
 * 5,000 changed members' sockets told (`me.permissions` with the new role). Each of the 5,000 has
 * one signed-in socket (from the propagation bench's forked client process, seeded by its
 * seed.ts); the owner and a few admins watch the account room, whose first `users.bulk` part is
 * timed beside it. Rounds flip the same 5,000 between Read only and Editor; the median is judged.
 * Target: median ≤ 2 s. On the database the suite uses (SQLite, or PostgreSQL with DATABASE_URL).
 *
 * Env: BENCH_BULK_MEMBERS (10,010 sessions seeded), BENCH_BULK_CHANGED (5,000), BENCH_BULK_ROUNDS (5),
 * BENCH_DASHBOARDS (5), BENCH_ENFORCE=1 to fail on a missed target.
 */

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const MEMBERS = env('BENCH_BULK_MEMBERS', 10_010);
const CHANGED = env('BENCH_BULK_CHANGED', 5_000);
const ROUNDS = env('BENCH_BULK_ROUNDS', 5);
const DASHBOARDS = env('BENCH_DASHBOARDS', 5);
const ENFORCE = process.env['BENCH_ENFORCE'] === '1';
const TARGET_MS = 2000;

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
const out = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** One keep-alive connection for the requests (no TCP connect in the timing). */
function keepAlive(baseUrl: string, token: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(baseUrl);
  const post = (path: string, body: unknown) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = http.request(
        {
          host: hostname,
          port,
          method: 'POST',
          path,
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(payload)),
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
  return { post, close: () => agent.destroy() };
}

let app: TestApp | undefined;
let clients: ClientProcess | undefined;
afterAll(async () => {
  await clients?.stop();
  await app?.close();
});

interface Round {
  to: string;
  http: number;
  total: number;
  dashboards: number;
  missing: number;
}

test(
  `bulk role change of ${CHANGED.toLocaleString('en')} members, each with a socket`,
  async () => {
    const database = process.env['DATABASE_URL'] ? 'PostgreSQL' : 'SQLite';
    out(`\n[bench bulk] node ${process.version}, ${cpus().length} CPUs, ${database}, load average ${load()}`);
    // Every socket of the bench comes from one address.
    app = await startApp({ overrides: { liveLimits: { ...DEFAULT_LIVE_LIMITS, handshakesPerIp: 1_000_000 } } });
    const db = app.app.get(Database);
    const live = app.app.get(LiveEvents);
    const gateway = app.app.get(LiveGateway);
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'enterprise', accountName: 'Bulk Co', name: 'Olive Owner' });
    const [ownerSession] = await db.read(
      (m) =>
        m.query(`SELECT id FROM sessions WHERE token_hash = ${db.kind === 'postgres' ? '$1' : '?'}`, [
          sha256Hex(owner.token),
        ]) as Promise<{ id: string }[]>,
    );
    // seed.ts: the owner and DASHBOARDS−1 admins, one editor with 3 sessions, everyone else with one (half of all Read only).
    const population = await seedPopulation(db, {
      accountId: owner.account.id,
      owner: { memberId: owner.member.id, token: owner.token, sessionId: ownerSession!.id },
      customRoleId: READONLY_ROLE_ID,
      sockets: MEMBERS,
      dashboards: DASHBOARDS,
      revokeRounds: 0,
      sessionAbsoluteMs: app.config.sessionAbsoluteMs,
    });
    const targets = population.roleHolders.slice(0, CHANGED);
    expect(targets).toHaveLength(CHANGED);
    out(
      `seeded ${population.members.toLocaleString('en')} members / ${population.sockets.length.toLocaleString('en')} sessions in ${ms(population.ms)} ms`,
    );

    // Only the changed members' sockets and the dashboards connect (indices into the client process's list).
    const connecting = [...population.dashboards, ...targets.map((member) => member.sockets[0]!)];
    clients = await ClientProcess.start();
    const connected = await clients.call<{
      connected: number;
      failed: number;
      errors: Record<string, number>;
      ms: number;
    }>('connect', {
      url: app.url,
      tokens: connecting.map((index) => population.sockets[index]!.token),
      concurrency: 64,
    });
    expect(connected.failed, JSON.stringify(connected.errors)).toBe(0);
    await sleep(500);
    out(
      `${gateway.server.engine.clientsCount.toLocaleString('en')} sockets connected in ${(connected.ms / 1000).toFixed(1)} s; load average ${load()}`,
    );
    const dashboards = population.dashboards.map((_, i) => i);
    const targetSockets = targets.map((_, i) => population.dashboards.length + i);
    const ids = targets.map((member) => member.id);

    const admin = keepAlive(app.url, owner.token);
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      const to = i % 2 === 0 ? EDITOR_ROLE_ID : READONLY_ROLE_ID;
      const { results } = await clients.arm(
        [
          { name: 'members', event: 'me.permissions', sockets: targetSockets, match: { path: 'roleId', equals: to } },
          { name: 'dashboards', event: 'users.bulk', sockets: dashboards },
        ],
        60_000,
      );
      const t0 = now();
      const reply = await admin.post('/api/v1/users/bulk', { action: 'role', roleId: to, ids });
      const responded = now();
      expect(reply.status, reply.body.slice(0, 300)).toBe(200);
      expect((JSON.parse(reply.body) as { changed: string[] }).changed).toHaveLength(CHANGED);
      const groups: GroupResult[] = await results;
      const at = (name: string) => (groups.find((group) => group.name === name)?.last ?? Number.NaN) - t0;
      rounds.push({
        to: to === EDITOR_ROLE_ID ? 'Editor' : 'Read only',
        http: responded - t0,
        total: at('members'),
        dashboards: at('dashboards'),
        missing: groups.reduce((sum, group) => sum + group.expected - group.received, 0),
      });
      out(
        `  round ${i + 1}: → ${rounds.at(-1)!.to}: response ${ms(responded - t0)} ms, all ${CHANGED} sockets told ${ms(at('members'))} ms (load ${load()})`,
      );
      await live.idle();
      await sleep(200);
    }
    admin.close();

    const median = (field: (r: Round) => number) => percentile(rounds.map(field), 50);
    const met = median((r) => r.total) <= TARGET_MS;
    out(
      `\n══ Bulk role change, ${CHANGED.toLocaleString('en')} of ${population.members.toLocaleString('en')} members, ${database}; ms from the request ══`,
    );
    out(
      table(
        ['rounds', 'response p50', 'all sockets told p50', 'max', 'dashboards users.bulk p50', 'target', 'met'],
        [
          [
            String(rounds.length),
            ms(median((r) => r.http)),
            ms(median((r) => r.total)),
            ms(Math.max(...rounds.map((r) => r.total))),
            ms(median((r) => r.dashboards)),
            `median ≤ ${TARGET_MS}`,
            met ? 'met' : 'MISSED',
          ],
        ],
      ),
    );
    out(`load average after: ${load()}`);
    const missing = rounds.reduce((sum, r) => sum + r.missing, 0);
    if (missing) out(`  ! ${missing} expected receipts never arrived (timed-out rounds)`);
    expect(missing, 'rounds timed out').toBe(0);
    if (ENFORCE) expect(met).toBe(true);
  },
  15 * 60_000,
);
