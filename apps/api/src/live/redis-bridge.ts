import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { createAdapter } from '@socket.io/redis-adapter';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { DomainEventBus } from '../events/domain-events.js';
import { membersToInvalidate, PermissionsService } from '../permissions/permissions.service.js';

type RedisClient = ReturnType<typeof createClient>;

export const REDIS = Symbol('REDIS');

/** The Redis connections of a node, made before the app starts (the Socket.IO adapter needs them). */
export interface RedisConnections {
  pub: RedisClient;
  sub: RedisClient;
  /** Our own subscriber for cache invalidation (the adapter's `sub` is in subscriber mode). */
  events: RedisClient;
  /** `REDIS_PREFIX`: every key and channel starts with it. */
  prefix: string;
}

export async function connectRedis(url: string, prefix: string): Promise<RedisConnections> {
  const pub = createClient({ url });
  const sub = pub.duplicate();
  const events = pub.duplicate();
  for (const client of [pub, sub, events]) client.on('error', (error: Error) => new Logger('Redis').error(error.message));
  await Promise.all([pub.connect(), sub.connect(), events.connect()]);
  return { pub, sub, events, prefix };
}

export function redisAdapter(redis: RedisConnections) {
  return createAdapter(redis.pub, redis.sub, { key: redis.prefix });
}

/**
 * With `REDIS_URL` set: carries permission-cache invalidation to every node (a change made through
 * node A is enforced on node B's next request), and answers the health check.
 */
@Injectable()
export class RedisBridge implements OnModuleDestroy {
  private readonly node = randomUUID();
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(REDIS) private readonly redis: RedisConnections | null,
    @Inject(DomainEventBus) bus: DomainEventBus,
    @Inject(PermissionsService) permissions: PermissionsService,
  ) {
    if (!redis) {
      this.unsubscribe = () => undefined;
      return;
    }
    const channel = `${redis.prefix}:permissions:invalidate`;
    void redis.events.subscribe(channel, (message) => {
      const { node, memberIds } = JSON.parse(message) as { node: string; memberIds: string[] };
      if (node !== this.node) permissions.invalidate(memberIds);
    });
    this.unsubscribe = bus.onAny((event) => {
      const memberIds = membersToInvalidate(event);
      if (memberIds.length) void redis.pub.publish(channel, JSON.stringify({ node: this.node, memberIds }));
    });
  }

  async ping(): Promise<'ok' | 'down' | 'disabled'> {
    if (!this.redis) return 'disabled';
    try {
      return (await this.redis.pub.ping()) === 'PONG' ? 'ok' : 'down';
    } catch {
      return 'down';
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe();
    if (!this.redis) return;
    await Promise.allSettled([this.redis.pub.quit(), this.redis.sub.quit(), this.redis.events.quit()]);
  }
}
