import 'reflect-metadata';
import { ADMIN_ROLE_ID } from '@rolecall/contracts';
import { cpus, loadavg } from 'node:os';
import { afterAll, expect, test } from 'vitest';
import { DEFAULT_LIVE_LIMITS } from '../../../apps/api/src/config.js';
import { startApp, type TestApp } from '../../api/support/app.js';
import { createAccount } from '../../api/support/factories.js';
import { client } from '../../api/support/http.js';
import { connected, connect, type TestSocket } from '../../api/support/live.js';
import { percentile, table } from '../users-list/stats.js';

/**
 * `npx vitest run --config test/bench/vitest.bench.config.ts api-keys` (issue 16 §3): what an API key
 * costs and how fast revoking one ends it.
 * - REST: GET /account REQUESTS times with a session and with a key (a key's permissions are computed
 *   from its role on every request: no cache to go stale).
 * - Revocation: from just before `DELETE /service-accounts/:id/keys/:keyId` to the last of the key's
 *   SOCKETS sockets closed, for KEYS keys. On the database the suite uses (SQLite, or PostgreSQL with
 *   DATABASE_URL).
 */
const KEYS = Number(process.env['BENCH_KEYS'] ?? 40);
const SOCKETS = 3;
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 400);
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

test('API keys: REST cost and revocation to sockets closed', async () => {
  app = await startApp({ overrides: { liveLimits: { ...DEFAULT_LIVE_LIMITS, handshakesPerIp: 1_000_000 } } });
  const api = client(app.url);
  const owner = await createAccount(api, { plan: 'business' });
  out(
    `API keys bench: ${KEYS} keys × ${SOCKETS} sockets, ${REQUESTS} requests, ${app.config.databaseUrl ? 'PostgreSQL' : 'SQLite'}, ${cpus().length} cores, load ${load()}`,
  );

  // At most 10 live keys per service account: a new service account every 10 keys.
  const keys: { serviceAccountId: string; id: string; key: string }[] = [];
  let serviceAccountId = '';
  for (let i = 0; i < KEYS; i++) {
    if (i % 10 === 0)
      serviceAccountId = (
        await api.post<{ id: string }>(
          '/service-accounts',
          { name: `Bench ${i / 10}`, roleId: ADMIN_ROLE_ID },
          { token: owner.token },
        )
      ).body.id;
    const issued = await api.post<{ id: string; key: string }>(
      `/service-accounts/${serviceAccountId}/keys`,
      {},
      { token: owner.token },
    );
    expect(issued.status).toBe(201);
    keys.push({ serviceAccountId, ...issued.body });
  }

  const timed = async (token: string): Promise<number[]> => {
    const samples: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const started = performance.now();
      const reply = await api.get('/account', { token });
      samples.push(performance.now() - started);
      expect(reply.status).toBe(200);
    }
    return samples;
  };
  await timed(owner.token);
  const session = await timed(owner.token);
  const key = await timed(keys[0]!.key);
  const p = (samples: number[], q: number) => `${percentile(samples, q).toFixed(2)} ms`;
  out(
    table(
      ['GET /account', 'p50', 'p95', 'p99'],
      [
        ['session', p(session, 50), p(session, 95), p(session, 99)],
        ['API key', p(key, 50), p(key, 95), p(key, 99)],
      ],
    ),
  );

  const samples: number[] = [];
  for (const { serviceAccountId: owned, id, key: secret } of keys) {
    const opened = await Promise.all(Array.from({ length: SOCKETS }, () => connected(connect(app.url, secret))));
    sockets.push(...opened);
    const closed = opened.map(
      (socket) => new Promise<number>((resolve) => socket.once('disconnect', () => resolve(performance.now()))),
    );
    const started = performance.now();
    const reply = await api.delete(`/service-accounts/${owned}/keys/${id}`, undefined, { token: owner.token });
    expect(reply.status).toBe(204);
    samples.push(Math.max(...(await Promise.all(closed))) - started);
  }
  out(
    table(
      ['DELETE key → every socket of the key closed', 'p50', 'p95', 'p99'],
      [[`${KEYS} keys × ${SOCKETS} sockets`, p(samples, 50), p(samples, 95), p(samples, 99)]],
    ),
  );
  out(`load after: ${load()}`);
  expect(samples).toHaveLength(KEYS);
}, 600_000);
