/**
 * A live handshake's Redis checks (issue 18): the client address's handshake budget, the session's
 * cool-down and its socket count on all nodes are one script (SessionSockets' admission, sent by
 * digest), so a handshake with a well-formed token costs one Redis command instead of three. A
 * cooling-down session and an address over its budget must still be refused exactly as before, the
 * handshakes the script counts and those rate-limiter-flexible counts (no well-formed token, Redis
 * did not answer) must be one budget, and a Redis that does not know the script yet (restarted,
 * flushed) must still answer.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../../apps/api/src/common/tokens.js';
import { DEFAULT_LIVE_LIMITS, type AppConfig } from '../../apps/api/src/config.js';
import type { RedisConnections } from '../../apps/api/src/infra/redis-bridge.js';
import { CooldownLimiter } from '../../apps/api/src/live/live-limits.js';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { io } from 'socket.io-client';
import { SessionSockets } from '../../apps/api/src/live/session-sockets.js';
import { startApp, usingPostgres, type TestApp } from './support/app.js';
import { createAccount, PASSWORD } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { connect, connected, type TestSocket } from './support/live.js';

afterEach(() => vi.restoreAllMocks());

/** A stand-in for the limits connection: `evalSha` and `eval` as given, the rest answering nothing. */
function fakeRedis(limits: {
  evalSha: (sha: string, options: unknown) => Promise<unknown>;
  eval: (script: string, options: unknown) => Promise<unknown>;
}) {
  const calls = { evalSha: [] as unknown[][], eval: [] as unknown[][] };
  const connection = {
    prefix: 'p',
    limits: {
      evalSha: (sha: string, options: unknown) => {
        calls.evalSha.push([sha, options]);
        return limits.evalSha(sha, options);
      },
      eval: (script: string, options: unknown) => {
        calls.eval.push([script, options]);
        return limits.eval(script, options);
      },
      hDel: () => Promise.resolve(0),
    },
  } as unknown as RedisConnections;
  return { connection, calls };
}

describe('SessionSockets.admit', () => {
  it('sends the script by digest, and the script itself when Redis does not know it', async () => {
    const admits = (options: unknown) => (options as { keys: string[] }).keys.length > 1;
    const { connection, calls } = fakeRedis({
      evalSha: () => Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.')),
      // The liveness beat (one key) answers 1; the admission, the count before and the cool-down.
      eval: (_script, options) => Promise.resolve(admits(options) ? [2, 41_000, 7, 59_000] : 1),
    });
    const counts = new SessionSockets(connection);
    try {
      const budget = { key: 'p:live-handshake-ip:203.0.113.9', points: 120, windowSeconds: 60 };
      expect(await counts.admit('hash', 'socket-1', 5, 'p:live-cooldown:hash', budget)).toEqual({
        admitted: true,
        cooldownMs: 41_000,
        spent: { handshakes: 7, msLeft: 59_000 },
      });
      const admission = calls.eval.find(([, options]) => admits(options))!;
      expect(calls.evalSha).toEqual([[expect.stringMatching(/^[0-9a-f]{40}$/), admission[1]]]);
      expect(admission[0]).toContain("redis.call('PTTL', KEYS[3])");
      expect(admission[0]).toContain("redis.call('INCRBY', KEYS[4], 1)");
      expect(admission[1]).toMatchObject({
        keys: ['p:{live}:sockets:hash', 'p:{live}:nodes', 'p:live-cooldown:hash', budget.key],
        arguments: ['5', 'socket-1', expect.any(String), expect.any(String), expect.any(String), '120', '60'],
      });
    } finally {
      counts.stop();
    }
  });

  it('answers full, not cooling down, and — when Redis fails — admitted with the cool-down left to the caller', async () => {
    let reply: Promise<unknown> = Promise.resolve([-1, -2, 0, 0]);
    const { connection } = fakeRedis({ evalSha: () => reply, eval: () => Promise.resolve(1) });
    const counts = new SessionSockets(connection);
    const budget = { key: 'b', points: 3, windowSeconds: 60 };
    try {
      expect(await counts.admit('h', 's1', 5, 'k')).toEqual({ admitted: false, cooldownMs: 0, spent: null });
      reply = Promise.resolve([0, -2, 0, 0]);
      expect(await counts.admit('h', 's2', 5)).toEqual({ admitted: true, cooldownMs: null, spent: null });
      // Over the address's budget: not counted, and the count tells the caller why.
      reply = Promise.resolve([-3, -2, 4, 12_000]);
      expect(await counts.admit('h', 's3', 5, 'k', budget)).toEqual({
        admitted: false,
        cooldownMs: 0,
        spent: { handshakes: 4, msLeft: 12_000 },
      });
      reply = Promise.reject(new Error('Redis did not answer within 2000 ms'));
      expect(await counts.admit('h', 's4', 5, 'k', budget)).toEqual({ admitted: true, cooldownMs: null, spent: null });
    } finally {
      counts.stop();
    }
  });
});

const redisUrl = usingPostgres ? (process.env['REDIS_URL'] ?? null) : null;
if (!redisUrl) console.log('[live-handshake-checks] Redis part skipped: set DATABASE_URL and REDIS_URL to run it');

describe.skipIf(!redisUrl)('a handshake with Redis', () => {
  const prefix = `rolecall-test-checks-${randomBytes(4).toString('hex')}`;
  const handshakesPerIp = 12;
  let ipCounter = 0;
  /** A fresh documentation address (RFC 5737) per call, sent as the load balancer would. */
  const freshIp = () => `198.51.100.${++ipCounter}`;
  let app: TestApp;
  let api: Client;
  let redis: ReturnType<typeof createClient>;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    app = await startApp({
      overrides: {
        redisUrl,
        redisPrefix: prefix,
        liveLimits: { ...DEFAULT_LIVE_LIMITS, handshakesPerIp },
      } as Partial<AppConfig>,
    });
    api = client(app.url);
    redis = createClient({ url: redisUrl! });
    await redis.connect();
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });
  afterAll(async () => {
    await redis?.quit();
    await app?.close();
  });

  const attempt = (token: string | undefined, ip?: string) => {
    const socket = ip
      ? (io(app.url, {
          transports: ['websocket'],
          reconnection: false,
          forceNew: true,
          auth: token ? { token } : {},
          extraHeaders: { 'x-forwarded-for': ip },
        }) as TestSocket)
      : connect(app.url, token);
    sockets.push(socket);
    return connected(socket).then(
      () => ({ ok: true as const }),
      (error: Error & { data?: { details?: { retryAfterSeconds?: number } } }) => ({
        ok: false as const,
        code: error.message,
        retryAfterSeconds: error.data?.details?.retryAfterSeconds,
      }),
    );
  };

  it('refuses a session cooling down from the admission script alone, and lets the others in', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const other = (await api.post<{ token: string }>('/auth/sign-in', { email: owner.email, password: PASSWORD })).body
      .token;
    // A cool-down as CooldownLimiter.start writes it (a value over 1, with its time to live).
    await redis.set(`${prefix}:live-cooldown:${sha256Hex(owner.token)}`, '2', { EX: 60 });
    const checks = vi.spyOn(CooldownLimiter.prototype, 'check');
    const refused = await attempt(owner.token);
    expect(refused).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    expect(refused.ok === false && refused.retryAfterSeconds).toBeGreaterThan(55);
    expect(await attempt(other)).toEqual({ ok: true });
    // Neither handshake asked Redis for the cool-down on its own.
    expect(checks).not.toHaveBeenCalled();
    await redis.del(`${prefix}:live-cooldown:${sha256Hex(owner.token)}`);
    expect(await attempt(owner.token)).toEqual({ ok: true });
  });

  it("spends the address's budget in the admission script: one Redis command, one budget with the handshakes counted without it", async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const ip = freshIp();
    const key = `${prefix}:live-handshake-ip:${ip}`;
    const consumed = vi.spyOn(RateLimiterRedis.prototype, 'consume');
    // A well-formed token (whether or not it names a session): the script spends the budget.
    expect(await attempt(owner.token, ip)).toEqual({ ok: true });
    expect(await attempt('A'.repeat(43), ip)).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(consumed).not.toHaveBeenCalled();
    expect(await redis.get(key)).toBe('2');
    // No well-formed token: rate-limiter-flexible spends the same key.
    expect(await attempt(undefined, ip)).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(await attempt('short', ip)).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(consumed).toHaveBeenCalledTimes(2);
    expect(await redis.get(key)).toBe('4');
    expect(await redis.pTTL(key)).toBeGreaterThan(DEFAULT_LIVE_LIMITS.handshakeWindowSeconds * 1000 - 10_000);
    for (let i = 4; i < handshakesPerIp; i += 1) expect(await attempt(owner.token, ip)).toEqual({ ok: true });
    // The budget's next handshake is refused by the script, with a retry hint, and is not counted
    // as one of the session's sockets (the other ones of the loop are still open).
    const held = `${prefix}:{live}:sockets:${sha256Hex(owner.token)}`;
    expect(await redis.hLen(held)).toBe(handshakesPerIp - 3);
    const refused = await attempt(owner.token, ip);
    expect(refused).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    expect(refused.ok === false && refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(consumed).toHaveBeenCalledTimes(2);
    expect(await redis.hLen(held)).toBe(handshakesPerIp - 3);
    // Another address is not affected.
    expect(await attempt(owner.token, freshIp())).toEqual({ ok: true });
  });
});
