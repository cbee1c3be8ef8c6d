import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from './support/http.js';
import { createAccount, ifMatch, inviteAndAccept, ROLE, uniqueEmail } from './support/factories.js';
import { disconnected, next, open, sleep } from './support/live.js';
import { parseMetrics, scrape, valueOf, type Sample } from './support/metrics.js';
import { startApp, usingPostgres, type TestApp } from './support/app.js';
import { hostPort, startTcpProxy } from './support/tcp-proxy.js';

const HTTP_COUNT = 'rolecall_http_request_duration_seconds_count';

let app: TestApp;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});

afterAll(async () => {
  await app.close();
});

/** Scrapes until `check` holds (metrics recorded on a response's `close` may land just after the answer). */
async function eventually(check: (samples: Sample[]) => boolean, ms = 3000): Promise<Sample[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const samples = await scrape(app.url);
    if (check(samples) || Date.now() > deadline) return samples;
    await sleep(50);
  }
}

describe('GET /metrics', () => {
  it('answers the Prometheus text format with the process metrics', async () => {
    const reply = await fetch(`${app.url}/metrics`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseMetrics(await reply.text());
    const names = new Set(samples.map((sample) => sample.name));
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'rolecall_live_sockets']) {
      expect(names, name).toContain(name);
    }
  });

  it('times requests by method, route pattern and status, never by raw URL', async () => {
    const owner = await createAccount(api);
    const route = { method: 'GET', route: '/api/v1/users/:id', status: '404' };
    const before = valueOf(await scrape(app.url), HTTP_COUNT, route);
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) expect((await api.get(`/users/${id}`, { token: owner.token })).status).toBe(404);
    const after = await eventually((samples) => valueOf(samples, HTTP_COUNT, route) >= before + 2);
    expect(valueOf(after, HTTP_COUNT, route)).toBe(before + 2);
    // Buckets are cumulative and end at +Inf = count.
    expect(valueOf(after, 'rolecall_http_request_duration_seconds_bucket', { ...route, le: '+Inf' })).toBe(before + 2);
    const text = after.map((sample) => JSON.stringify(sample.labels)).join('\n');
    for (const id of ids) expect(text).not.toContain(id);
    // Unknown routes share one label value.
    await api.get(`/no-such-route/${randomUUID()}`);
    const unknown = await eventually((samples) => valueOf(samples, HTTP_COUNT, { route: 'none', status: '404' }) > 0);
    expect(valueOf(unknown, HTTP_COUNT, { route: 'none', status: '404' })).toBeGreaterThan(0);
  });

  it('counts a live socket, the me.permissions push of a role change, and its commit → emit latency', async () => {
    const owner = await createAccount(api);
    const member = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    const before = await scrape(app.url);
    const socket = await open(app.url, member.token);
    try {
      const connected = await eventually((samples) => valueOf(samples, 'rolecall_live_sockets') === valueOf(before, 'rolecall_live_sockets') + 1);
      expect(valueOf(connected, 'rolecall_live_sockets')).toBe(valueOf(before, 'rolecall_live_sockets') + 1);

      const pushed = next(socket, 'me.permissions');
      const reply = await api.patch(`/users/${member.member.id}`, { roleId: ROLE.readonly }, { token: owner.token, headers: ifMatch(member.member.version) });
      expect(reply.status).toBe(200);
      await pushed;
      const after = await eventually(
        (samples) =>
          valueOf(samples, 'rolecall_live_push_latency_seconds_count', { event: 'member.changed' }) >
          valueOf(before, 'rolecall_live_push_latency_seconds_count', { event: 'member.changed' }),
      );
      expect(valueOf(after, 'rolecall_live_events_pushed_total', { event: 'me.permissions' })).toBeGreaterThanOrEqual(
        valueOf(before, 'rolecall_live_events_pushed_total', { event: 'me.permissions' }) + 1,
      );
      expect(valueOf(after, 'rolecall_live_push_latency_seconds_count', { event: 'member.changed' })).toBeGreaterThan(
        valueOf(before, 'rolecall_live_push_latency_seconds_count', { event: 'member.changed' }),
      );
      // The latency is a duration, not a timestamp: far below a minute.
      const sum = valueOf(after, 'rolecall_live_push_latency_seconds_sum', { event: 'member.changed' }) - valueOf(before, 'rolecall_live_push_latency_seconds_sum', { event: 'member.changed' });
      expect(sum).toBeGreaterThan(0);
      expect(sum).toBeLessThan(60);
    } finally {
      socket.disconnect();
      await disconnected(socket).catch(() => undefined);
    }
    const closed = await eventually((samples) => valueOf(samples, 'rolecall_live_sockets') === valueOf(before, 'rolecall_live_sockets'));
    expect(valueOf(closed, 'rolecall_live_sockets')).toBe(valueOf(before, 'rolecall_live_sockets'));
  });

  it('counts rate-limit refusals by limit', async () => {
    const limited = await startApp({ rateLimits: { signInPerIp: 3 } });
    try {
      const limitedApi = client(limited.url);
      const before = valueOf(await scrape(limited.url), 'rolecall_rate_limit_refusals_total', { limit: 'signInIp' });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await limitedApi.post('/auth/sign-in', { email: uniqueEmail(), password: 'whatever123' })).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      expect(valueOf(await scrape(limited.url), 'rolecall_rate_limit_refusals_total', { limit: 'signInIp' })).toBe(before + 2);

      // The live layer's event bucket (40 at once by default): a burst past it is refused and counted.
      const owner = await createAccount(api);
      const liveBefore = valueOf(await scrape(app.url), 'rolecall_rate_limit_refusals_total', { limit: 'liveEvents' });
      const socket = await open(app.url, owner.token);
      try {
        const acks = await Promise.all(Array.from({ length: 45 }, () => socket.timeout(5000).emitWithAck('presence.leave', { resource: `member:${randomUUID()}` })));
        const refused = acks.filter((ack) => (ack as { ok: boolean; error?: { code: string } }).error?.code === 'RATE_LIMITED').length;
        expect(refused).toBeGreaterThan(0);
        expect(valueOf(await scrape(app.url), 'rolecall_rate_limit_refusals_total', { limit: 'liveEvents' })).toBe(liveBefore + refused);
      } finally {
        socket.disconnect();
      }
    } finally {
      await limited.close();
    }
  });

  // Provoked for real: SQLite's max_page_count on the app's own connection. (PostgreSQL failures are
  // provoked in durability-pg.spec.ts; this counter's classification is the one that answers 503/507.)
  if (usingPostgres) console.log('metrics.spec: the database error counter test runs on SQLite only (it needs PRAGMA max_page_count): skipped');
  describe.skipIf(usingPostgres)('database errors (SQLite)', () => {
    it('counts a write refused for lack of space as storage_full', async () => {
      const owner = await createAccount(api, { plan: 'enterprise' });
      const before = valueOf(await scrape(app.url), 'rolecall_database_errors_total', { kind: 'storage_full' });
      const dataSource = app.app.get(DataSource);
      const [{ page_count: pages }] = (await dataSource.query('PRAGMA page_count')) as [{ page_count: number }];
      await dataSource.query(`PRAGMA max_page_count = ${pages}`);
      try {
        let status = 0;
        for (let i = 0; i < 400 && status !== 507; i += 1) {
          status = (await api.post('/roles', { name: `Role ${i}`, description: 'x'.repeat(200), icon: 'star', permissions: ['people.view'] }, { token: owner.token })).status;
          if (status !== 201 && status !== 507) throw new Error(`creating a role answered ${status}`);
        }
        expect(status).toBe(507);
      } finally {
        await dataSource.query('PRAGMA max_page_count = 1073741823');
      }
      expect(valueOf(await scrape(app.url), 'rolecall_database_errors_total', { kind: 'storage_full' })).toBeGreaterThanOrEqual(before + 1);
    });
  });
});

const redisUrl = process.env['REDIS_URL'];
if (!redisUrl) console.log('metrics.spec: the Redis error counter test is skipped: set REDIS_URL (it cuts the app off Redis through a TCP proxy)');

describe.skipIf(!redisUrl)('Redis errors (behind a TCP proxy)', () => {
  it('counts the connection errors of a cut as kind connection', async () => {
    const proxy = await startTcpProxy(hostPort(redisUrl!, 6379));
    const cut = await startApp({ overrides: { redisUrl: proxy.url(redisUrl!), redisPrefix: `metrics-${randomUUID()}` } });
    try {
      const before = valueOf(await scrape(cut.url), 'rolecall_redis_errors_total', { kind: 'connection' });
      await proxy.refuse();
      const deadline = Date.now() + 5000;
      let after = before;
      while (after === before && Date.now() < deadline) {
        await sleep(100);
        after = valueOf(await scrape(cut.url), 'rolecall_redis_errors_total', { kind: 'connection' });
      }
      expect(after).toBeGreaterThan(before);
    } finally {
      await proxy.restore();
      await cut.close();
      await proxy.close();
    }
  });
});

describe('who may scrape /metrics', () => {
  it('without METRICS_TOKEN: loopback only (a public address forwarded by a local proxy is refused)', async () => {
    expect((await fetch(`${app.url}/metrics`)).status).toBe(200);
    const relayed = await fetch(`${app.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(relayed.status).toBe(403);
    expect(await relayed.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it('with METRICS_TOKEN: the bearer token, from anywhere', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const guarded = await startApp({ overrides: { observability: { ...app.config.observability, metricsToken: token } } });
    try {
      const none = await fetch(`${guarded.url}/metrics`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await none.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } })).status).toBe(401);
      const right = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.9' } });
      expect(right.status).toBe(200);
      expect(parseMetrics(await right.text()).length).toBeGreaterThan(0);
    } finally {
      await guarded.close();
    }
  });
});
