import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { connectRedis, subscribingSafely } from '../../apps/api/src/infra/redis-bridge.js';
import { sleep } from './support/live.js';
import { hostPort, startTcpProxy } from './support/tcp-proxy.js';

const redisUrl = process.env['REDIS_URL'];
if (!redisUrl) console.log('[redis-sharded-subscribe] skipped: set REDIS_URL');

describe.skipIf(!redisUrl)('the sharded adapter’s SSUBSCRIBE when Redis is cut before it answers', () => {
  // The sharded adapter (REDIS_ADAPTER=sharded) calls sSubscribe without awaiting, at start-up and
  // for every room a node creates: the same guarantee as SUBSCRIBE (redis-outage.spec).
  it('reports the failure, never rejects, and subscribes again once Redis is back', async () => {
    const proxy = await startTcpProxy(hostPort(redisUrl!, 6379));
    const redis = await connectRedis(proxy.url(redisUrl!), `sharded-${randomUUID()}`);
    const failures: string[] = [];
    redis.channel.onError((connection) => failures.push(connection));
    const publisher = createClient({ url: redisUrl! });
    publisher.on('error', () => undefined);
    await publisher.connect();
    const channel = `${redis.prefix}#/#room#`;
    const heard: string[] = [];
    try {
      proxy.stall();
      void subscribingSafely(redis).sSubscribe(channel, (message: string) => heard.push(message));
      await sleep(100);
      proxy.reset();
      await proxy.restore();
      await expect
        .poll(
          async () => {
            await publisher.sPublish(channel, 'hello');
            return heard.length;
          },
          { timeout: 10_000, interval: 200 },
        )
        .toBeGreaterThan(0);
      expect(failures).toContain('subscribe');
    } finally {
      await publisher.close();
      for (const client of [redis.pub, redis.sub, redis.events]) client.destroy();
      await proxy.close();
    }
  });
});
