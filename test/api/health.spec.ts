import type { HealthDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { sharedDatabase } from './support/nodes.js';
import { hostPort, startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

/**
 * Liveness and readiness (issue 14 §3). The outage cases put a real TCP proxy between the API and
 * PostgreSQL / Redis and cut it; they need DATABASE_URL / REDIS_URL and are skipped, saying so,
 * without them.
 */
const databaseUrl = process.env['DATABASE_URL'];
const redisUrl = process.env['REDIS_URL'];
if (!databaseUrl)
  console.log('[health] database outage cases skipped: set DATABASE_URL to cut PostgreSQL through a TCP proxy');
if (!redisUrl) console.log('[health] Redis outage cases skipped: set REDIS_URL to cut Redis through a TCP proxy');

/** Health must answer within 1 s whatever the dependencies do; a hanging probe is cut at 5 s. */
const PROMISED_MS = 1000;

interface Probe {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

async function probe(app: TestApp, path: string): Promise<Probe> {
  const started = performance.now();
  try {
    const reply = await fetch(`${app.url}/api/v1${path}`, { signal: AbortSignal.timeout(5000) });
    const body = (await reply.json()) as Record<string, unknown>;
    return { status: reply.status, body, ms: performance.now() - started };
  } catch (error) {
    // A probe that hangs is the failure this suite is about: report it as such.
    return { status: 0, body: { hung: String(error) }, ms: performance.now() - started };
  }
}

/** Polls `path` until it answers `status` (a dependency coming back takes a reconnect or two). */
async function until(app: TestApp, path: string, status: number, ms = 20_000): Promise<Probe> {
  const deadline = Date.now() + ms;
  let last = await probe(app, path);
  while (last.status !== status && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    last = await probe(app, path);
  }
  return last;
}

describe('health endpoints', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(() => app.close());

  it('answers liveness 200 while the process is sound', async () => {
    const live = await probe(app, '/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok', details: { process: { status: 'up' } } });
  });

  it('answers readiness 200 with the database up', async () => {
    const ready = await probe(app, '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', details: { database: { status: 'up' } } });
    expect(ready.body['details']).not.toHaveProperty('redis');
  });

  it('keeps GET /health as the readiness answer in its old shape', async () => {
    const health = await probe(app, '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', db: 'ok', storage: 'ok', redis: 'disabled' } satisfies HealthDto);
  });
});

describe.skipIf(!databaseUrl)('readiness while PostgreSQL is cut (TCP proxy)', () => {
  let app: TestApp;
  let proxy: TcpProxy;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await sharedDatabase(databaseUrl!);
    drop = db.drop;
    proxy = await startTcpProxy(hostPort(db.url, 5432));
    app = await startApp({ overrides: { databaseUrl: proxy.url(db.url) } });
  }, 60_000);
  afterAll(async () => {
    await proxy?.restore();
    await app?.close();
    await proxy?.close();
    await drop?.();
  });

  it('answers 503 within 1 s while the database holds every packet, liveness stays 200, and 200 again once it is back', async () => {
    expect((await probe(app, '/health/ready')).status).toBe(200);
    proxy.blackhole();
    const ready = await probe(app, '/health/ready');
    const health = await probe(app, '/health');
    const live = await probe(app, '/health/live');
    console.log(
      `[health] database blackholed: ready ${ready.status} in ${ready.ms.toFixed(0)} ms, /health ${health.status} in ${health.ms.toFixed(0)} ms, live ${live.status} in ${live.ms.toFixed(0)} ms`,
    );
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(PROMISED_MS);
    expect(ready.body).toMatchObject({ status: 'error', details: { database: { status: 'down' } } });
    expect(health.status).toBe(503);
    expect(health.ms).toBeLessThan(PROMISED_MS);
    expect(health.body).toEqual({ status: 'degraded', db: 'down', redis: 'disabled', storage: 'ok' });
    expect(live.status).toBe(200);
    expect(live.ms).toBeLessThan(PROMISED_MS);

    await proxy.restore();
    const back = await until(app, '/health/ready', 200);
    expect(back.status).toBe(200);
    expect((await probe(app, '/health')).body).toEqual({ status: 'ok', db: 'ok', redis: 'disabled', storage: 'ok' });
  }, 60_000);

  it('answers 503 within 1 s while the database refuses connections, and 200 again once it is back', async () => {
    await proxy.refuse();
    const ready = await probe(app, '/health/ready');
    const live = await probe(app, '/health/live');
    console.log(
      `[health] database refused: ready ${ready.status} in ${ready.ms.toFixed(0)} ms, live ${live.status} in ${live.ms.toFixed(0)} ms`,
    );
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(PROMISED_MS);
    expect(live.status).toBe(200);

    await proxy.restore();
    expect((await until(app, '/health/ready', 200)).status).toBe(200);
  }, 60_000);

  it('a database slower to accept a connection than a probe may wait: 503 within 1 s meanwhile, then ready on the connection that opened', async () => {
    expect((await until(app, '/health/ready', 200)).status).toBe(200);
    // Every new connection now takes 1.2 s to open (a database forking backends under a
    // connection storm, a loaded host); the probe's open one is cut, so the next probe must open one.
    proxy.slowConnect(1200);
    proxy.reset();
    const before = proxy.accepted;
    const first = await probe(app, '/health/ready');
    console.log(`[health] database slow to connect: ready ${first.status} in ${first.ms.toFixed(0)} ms`);
    expect(first.ms).toBeLessThan(PROMISED_MS);
    expect(first.status).toBe(503);
    // A probe that gave up on its answer did not give up on the connection: it opens (once, not
    // once per probe) and the probes after it are ready.
    const back = await until(app, '/health/ready', 200, 10_000);
    expect(back.status).toBe(200);
    expect(back.ms).toBeLessThan(PROMISED_MS);
    expect((await probe(app, '/health/ready')).status).toBe(200);
    expect(proxy.accepted - before).toBeLessThanOrEqual(2);
    await proxy.restore();
  }, 60_000);
});

describe.skipIf(!redisUrl)('readiness while Redis is cut (TCP proxy)', () => {
  let app: TestApp;
  let proxy: TcpProxy;

  beforeAll(async () => {
    proxy = await startTcpProxy(hostPort(redisUrl!, 6379));
    app = await startApp({
      overrides: { redisUrl: proxy.url(redisUrl!), redisPrefix: `rolecall-health-${process.pid}-${Date.now()}` },
    });
  }, 60_000);
  afterAll(async () => {
    await proxy?.restore();
    await app?.close();
    await proxy?.close();
  });

  it('reports Redis when it is up', async () => {
    // Polled, as a load balancer does: on a loaded host the app's first probe right after boot may
    // miss its 500 ms (a CI run saw it once); what this checks is the answer once it is ready.
    const ready = await until(app, '/health/ready', 200);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ok',
      details: { database: { status: 'up' }, redis: { status: 'up' } },
    });
    expect((await probe(app, '/health')).body).toEqual({ status: 'ok', db: 'ok', redis: 'ok', storage: 'ok' });
  });

  for (const cut of ['refuse', 'blackhole'] as const) {
    it(`answers 503 within 1 s while Redis ${cut === 'refuse' ? 'refuses connections' : 'holds every packet'}, liveness stays 200, and 200 again once it is back`, async () => {
      expect((await until(app, '/health/ready', 200)).status).toBe(200);
      if (cut === 'refuse') await proxy.refuse();
      else proxy.blackhole();
      // Twice: the second probe meets whatever the first one left behind (a ping still queued).
      for (const round of [1, 2]) {
        const ready = await probe(app, '/health/ready');
        const health = await probe(app, '/health');
        const live = await probe(app, '/health/live');
        console.log(
          `[health] Redis ${cut} (probe ${round}): ready ${ready.status} in ${ready.ms.toFixed(0)} ms, /health ${health.status} in ${health.ms.toFixed(0)} ms, live ${live.status} in ${live.ms.toFixed(0)} ms`,
        );
        expect(ready.status).toBe(503);
        expect(ready.ms).toBeLessThan(PROMISED_MS);
        expect(ready.body).toMatchObject({
          status: 'error',
          details: { database: { status: 'up' }, redis: { status: 'down' } },
        });
        expect(health.status).toBe(503);
        expect(health.ms).toBeLessThan(PROMISED_MS);
        expect(health.body).toEqual({ status: 'degraded', db: 'ok', redis: 'down', storage: 'ok' });
        expect(live.status).toBe(200);
        expect(live.ms).toBeLessThan(PROMISED_MS);
      }

      await proxy.restore();
      // The clients' reconnects during the blackhole sit on connections the proxy swallowed, and
      // node-redis waits on their handshake forever (connectRedis sets no socket timeout); in a real
      // partition TCP would time them out. Drop them, as that would.
      if (cut === 'blackhole') proxy.reset();
      const back = await until(app, '/health/ready', 200);
      expect(back.status).toBe(200);
      expect((await probe(app, '/health')).body).toEqual({ status: 'ok', db: 'ok', redis: 'ok', storage: 'ok' });
    }, 60_000);
  }
});
