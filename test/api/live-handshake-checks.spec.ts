/**
 * A live handshake's Redis checks (issue 18): the per-session socket count and the session's
 * cool-down are read by one script (SessionSockets' admission, sent by digest), so a handshake costs
 * two Redis commands instead of three. A cooling-down session must still be refused exactly as
 * before, and a Redis that does not know the script yet (restarted, flushed) must still answer.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../../apps/api/src/common/tokens.js';
import type { AppConfig } from '../../apps/api/src/config.js';
import type { RedisConnections } from '../../apps/api/src/infra/redis-bridge.js';
import { CooldownLimiter } from '../../apps/api/src/live/live-limits.js';
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
      eval: (_script, options) => Promise.resolve(admits(options) ? [2, 41_000] : 1),
    });
    const counts = new SessionSockets(connection);
    try {
      expect(await counts.admit('hash', 'socket-1', 5, 'p:live-cooldown:hash')).toEqual({
        admitted: true,
        cooldownMs: 41_000,
      });
      const admission = calls.eval.find(([, options]) => admits(options))!;
      expect(calls.evalSha).toEqual([[expect.stringMatching(/^[0-9a-f]{40}$/), admission[1]]]);
      expect(admission[0]).toContain("redis.call('PTTL', KEYS[3])");
      expect((admission[1] as { keys: string[] }).keys).toEqual([
        'p:{live}:sockets:hash',
        'p:{live}:nodes',
        'p:live-cooldown:hash',
      ]);
    } finally {
      counts.stop();
    }
  });

  it('answers full, not cooling down, and — when Redis fails — admitted with the cool-down left to the caller', async () => {
    let reply: Promise<unknown> = Promise.resolve([-1, -2]);
    const { connection } = fakeRedis({ evalSha: () => reply, eval: () => Promise.resolve(1) });
    const counts = new SessionSockets(connection);
    try {
      expect(await counts.admit('h', 's1', 5, 'k')).toEqual({ admitted: false, cooldownMs: 0 });
      reply = Promise.resolve([0, -2]);
      expect(await counts.admit('h', 's2', 5)).toEqual({ admitted: true, cooldownMs: null });
      reply = Promise.reject(new Error('Redis did not answer within 2000 ms'));
      expect(await counts.admit('h', 's3', 5, 'k')).toEqual({ admitted: true, cooldownMs: null });
    } finally {
      counts.stop();
    }
  });
});

const redisUrl = usingPostgres ? (process.env['REDIS_URL'] ?? null) : null;
if (!redisUrl) console.log('[live-handshake-checks] Redis part skipped: set DATABASE_URL and REDIS_URL to run it');

describe.skipIf(!redisUrl)('a handshake with Redis', () => {
  const prefix = `rolecall-test-checks-${randomBytes(4).toString('hex')}`;
  let app: TestApp;
  let api: Client;
  let redis: ReturnType<typeof createClient>;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    app = await startApp({ overrides: { redisUrl, redisPrefix: prefix } as Partial<AppConfig> });
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

  const attempt = (token: string) => {
    const socket = connect(app.url, token);
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
});
