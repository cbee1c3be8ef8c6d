import 'reflect-metadata';
import { cpus, loadavg } from 'node:os';
import { afterAll, expect, test } from 'vitest';
import { DEFAULT_LIVE_LIMITS } from '../../../apps/api/src/config.js';
import { startApp, type TestApp } from '../../api/support/app.js';
import { createAccount, inviteAndAccept, PASSWORD, ROLE } from '../../api/support/factories.js';
import { client } from '../../api/support/http.js';
import { connected, connect, type TestSocket } from '../../api/support/live.js';
import { percentile, table } from '../users-list/stats.js';

/**
 * `npm run bench:deprovision` (issue 16 §2): a deprovisioning in the identity provider ends the
 * member's access live. Timed from just before the SCIM request (`PATCH /scim/v2/Users/:id`
 * `active: false`, as Okta sends it) to the last of the member's sockets closed, for MEMBERS members
 * with SESSIONS signed-in sessions each (one socket per session), on the database the suite uses
 * (SQLite, or PostgreSQL with DATABASE_URL). Target: p99 ≤ 100 ms. BENCH_ENFORCE=1 fails on a miss.
 */
const MEMBERS = Number(process.env['BENCH_MEMBERS'] ?? 60);
const SESSIONS = 3;
const ENFORCE = process.env['BENCH_ENFORCE'] === '1';
const out = (line = '') => process.stdout.write(`${line}\n`);
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

let app: TestApp;
const sockets: TestSocket[] = [];
afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await app?.close();
});

test('deprovisioning over SCIM closes the member’s sockets', async () => {
  app = await startApp({
    rateLimits: { signInPerIp: 1_000_000, signInPerEmail: 1_000_000, acceptancePerIp: 1_000_000, invitationsPerAccount: 1_000_000 },
    // Every socket of the bench comes from one address.
    overrides: { liveLimits: { ...DEFAULT_LIVE_LIMITS, handshakesPerIp: 1_000_000 } },
  });
  const api = client(app.url);
  const owner = await createAccount(api, { plan: 'enterprise' });
  const token = (await api.post<{ token: string }>('/account/scim-token', undefined, { token: owner.token })).body.token;
  out(`deprovisioning bench: ${MEMBERS} members × ${SESSIONS} sockets, ${app.config.databaseUrl ? 'PostgreSQL' : 'SQLite'}, ${cpus().length} cores, load ${load()}`);

  const members: { id: string; sockets: TestSocket[] }[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const joined = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    const tokens = [joined.token];
    for (let s = 1; s < SESSIONS; s++) tokens.push((await api.post<{ token: string }>('/auth/sign-in', { email: joined.email, password: PASSWORD })).body.token);
    const opened = await Promise.all(tokens.map((t) => connected(connect(app.url, t))));
    sockets.push(...opened);
    members.push({ id: joined.member.id, sockets: opened });
  }

  const samples: number[] = [];
  for (const member of members) {
    const closed = member.sockets.map((socket) => new Promise<number>((resolve) => socket.once('disconnect', () => resolve(performance.now()))));
    const started = performance.now();
    const reply = await fetch(`${app.url}/scim/v2/Users/${member.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', 'user-agent': 'Okta SCIM Client' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] }),
    });
    expect(reply.status).toBe(200);
    const last = Math.max(...(await Promise.all(closed)));
    samples.push(last - started);
  }

  const p = (q: number) => `${percentile(samples, q).toFixed(1)} ms`;
  const p99 = percentile(samples, 99);
  out(table(['SCIM PATCH active:false → every socket of the member closed', 'p50', 'p95', 'p99', 'target', 'met'], [[`${MEMBERS} members × ${SESSIONS} sockets`, p(50), p(95), p(99), 'p99 ≤ 100 ms', p99 <= 100 ? 'met' : 'MISSED']]));
  out(`load after: ${load()}`);
  if (ENFORCE) expect(p99).toBeLessThanOrEqual(100);
  expect(samples).toHaveLength(MEMBERS);
}, 600_000);
