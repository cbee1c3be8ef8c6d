import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import type { Server } from 'socket.io';
import { DomainEventBus } from '../events/domain-events.js';
import { membersToInvalidate, PermissionsService } from '../database/permissions.service.js';
import { timedReplies } from './redis-timeouts.js';

type RedisClient = ReturnType<typeof createClient>;
/** What `Server.adapter()` takes: the classic and the sharded adapter's factories both are one. */
type AdapterFactory = NonNullable<Parameters<Server['adapter']>[0]>;

export const REDIS = Symbol('REDIS');

/**
 * How long a rate limiter's command may wait for its reply (`RedisConnections.limits`). With the
 * offline queue off, a command sent while the connection is down fails at once; this bounds one
 * sent into a connection that stalled.
 */
const COMMAND_TIMEOUT_MS = 2_000;
/** The health check's ping: an answer (`down`) well within the 1 s a probe may take. */
const PING_TIMEOUT_MS = 500;
/**
 * Longest wait for an answer from the other nodes (`fetchSockets` through the adapter): a stalled
 * Redis connection never answers, and what waits on it must move on (its caller decides how).
 */
export const CROSS_NODE_TIMEOUT_MS = 5_000;
/** A graceful close waits this long for replies still due, then the connection is dropped. */
const CLOSE_TIMEOUT_MS = 1_000;
/** Reconnect back-off: 100 ms doubling to this cap, with jitter, for as long as Redis is away. */
const RECONNECT_MAX_MS = 2_000;
/** The same failure of a connection is logged at most once in this interval. */
const LOG_INTERVAL_MS = 30_000;

/** Delay before reconnect attempt `retries` (0-based): bounded exponential back-off, jittered ±25 %. */
function reconnectDelay(retries: number): number {
  const base = Math.min(RECONNECT_MAX_MS, 100 * 2 ** Math.min(retries, 10));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** What the cross-node channel did: `down`/`up` on this node; `gap` when another node's came back. */
export type ChannelEvent = 'down' | 'up' | 'gap';

/**
 * Whether this node's cross-node channel works: all three Redis connections ready. Each state change
 * is logged once and told to the listeners (the live layer, the permission cache, metrics).
 */
class RedisChannel {
  private readonly logger = new Logger('Redis');
  private readonly listeners = new Set<(up: boolean) => void>();
  private readonly errorListeners = new Set<(connection: string, error: Error) => void>();
  private readonly lastLogged = new Map<string, number>();
  private state = false;
  private downSince = 0;

  constructor(private readonly clients: Record<string, RedisClient>) {
    for (const [name, client] of Object.entries(clients)) {
      client.on('error', (error: Error) => this.failed(name, error));
      for (const event of ['ready', 'end', 'reconnecting']) client.on(event, () => this.update());
    }
  }

  get up(): boolean {
    return this.state;
  }

  /** Called with `true`/`false` whenever the channel comes up or goes down. Returns the unsubscribe function. */
  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every error of a connection (a hook for counting them). Returns the unsubscribe function. */
  onError(listener: (connection: string, error: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Logs a failure once per connection, kind and interval (a reconnect loop does not flood the log). */
  failed(connection: string, error: Error): void {
    for (const listener of this.errorListeners) listener(connection, error);
    const key = `${connection}:${error.name}:${error.message}`;
    const now = Date.now();
    if (now - (this.lastLogged.get(key) ?? 0) >= LOG_INTERVAL_MS) {
      this.lastLogged.set(key, now);
      this.logger.warn(`Redis ${connection}: ${error.message || error.name}`);
    }
    this.update();
  }

  update(): void {
    const up = Object.values(this.clients).every((client) => client.isReady);
    if (up === this.state) return;
    this.state = up;
    if (up) {
      if (this.downSince)
        this.logger.log(`Redis reachable again after ${((Date.now() - this.downSince) / 1000).toFixed(1)} s`);
      this.lastLogged.clear();
    } else {
      this.downSince = Date.now();
      this.logger.warn(
        'Redis unreachable: live updates across nodes are paused; this node asks its sockets to reconnect and catch up once it is back',
      );
    }
    for (const listener of this.listeners) listener(up);
  }
}

/** The Redis connections of a node, made before the app starts (the Socket.IO adapter needs them). */
export interface RedisConnections {
  pub: RedisClient;
  sub: RedisClient;
  /** Our own subscriber for cache invalidation and gap notices (the adapter's `sub` is in subscriber mode). */
  events: RedisClient;
  /** `pub` with every reply awaited at most COMMAND_TIMEOUT_MS: the rate limiters' store (redis-timeouts.ts). */
  limits: RedisClient;
  /** `REDIS_PREFIX`: every key and channel starts with it. */
  prefix: string;
  channel: RedisChannel;
}

/**
 * Three connections that never take the node down: every client has an error listener; the offline
 * queue is off, so while Redis is away a command fails at once (the rate limiters fall back to
 * memory, the health check says `down`) instead of piling up unanswered; a rate limiter awaits a
 * reply at most COMMAND_TIMEOUT_MS (`limits`); reconnects back off from 100 ms to RECONNECT_MAX_MS
 * and never give up.
 */
export async function connectRedis(url: string, prefix: string): Promise<RedisConnections> {
  const pub = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: COMMAND_TIMEOUT_MS, reconnectStrategy: reconnectDelay },
  });
  const sub = pub.duplicate();
  const events = pub.duplicate();
  const channel = new RedisChannel({ pub, sub, events });
  await Promise.all([pub.connect(), sub.connect(), events.connect()]);
  channel.update();
  return { pub, sub, events, limits: timedReplies(pub, COMMAND_TIMEOUT_MS), prefix, channel };
}

/**
 * The Socket.IO Redis adapter publishes without awaiting (every broadcast, room change and request
 * to other nodes): its publisher is handed a `publish` that never rejects — a failure is reported
 * to the channel (logged, counted) and the message is lost, which the gap notice makes up for.
 * Likewise it unsubscribes without awaiting when Socket.IO closes (shutdown): while Redis is
 * reconnecting those replies reject, and unhandled they would take the stopping process down.
 */
export function redisAdapter(redis: RedisConnections, kind: 'classic' | 'sharded' = 'classic'): AdapterFactory {
  const pub = publishingSafely(redis.pub, (error) => redis.channel.failed('publish', error));
  // Sharded (SPUBLISH/SSUBSCRIBE, Redis ≥ 7, what Redis Cluster needs): the same guarantees, as its
  // SSUBSCRIBE/SUNSUBSCRIBE/SPUBLISH go through the same proxies. 'dynamic': a public room (member,
  // session, account) gets a channel of its own, subscribed by the nodes that hold it, so a room emit
  // reaches only those nodes; socket-id rooms stay on the namespace channel.
  if (kind === 'sharded') {
    return createShardedAdapter(pub, subscribingSafely(redis), {
      channelPrefix: redis.prefix,
      subscriptionMode: 'dynamic',
    });
  }
  return createAdapter(pub, subscribingSafely(redis), { key: redis.prefix });
}

const SUBSCRIBE_METHODS: ReadonlySet<PropertyKey> = new Set([
  'subscribe',
  'SUBSCRIBE',
  'pSubscribe',
  'PSUBSCRIBE',
  'sSubscribe',
  'SSUBSCRIBE',
]);

/**
 * The adapter's subscriber. It subscribes when it is made, without awaiting: a connection cut before
 * Redis answered rejected those promises unhandled (a process without a handler exits on that), and
 * node-redis keeps a channel's listener only once its SUBSCRIBE was answered, so the node would never
 * again hear the other nodes' broadcasts. Here a failed subscription is reported and tried again
 * when the channel is next up (as `RedisBridge.subscribe` does for ours); unsubscribing never rejects.
 */
export function subscribingSafely(redis: RedisConnections): RedisClient {
  const unsubscribing = publishingSafely(
    redis.sub,
    (error) => redis.channel.failed('unsubscribe', error),
    UNSUBSCRIBE_METHODS,
  );
  return new Proxy(unsubscribing, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || !SUBSCRIBE_METHODS.has(property)) return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const attempt = (): Promise<void> =>
          Promise.resolve()
            .then(() => method.apply(redis.sub, args))
            .then(
              () => undefined,
              (error: unknown) => {
                redis.channel.failed('subscribe', asError(error));
                const off = redis.channel.onChange((up) => {
                  if (!up) return;
                  off();
                  void attempt();
                });
              },
            );
        return attempt();
      };
    },
  });
}

const PUBLISH_METHODS: ReadonlySet<PropertyKey> = new Set(['publish', 'PUBLISH', 'sPublish', 'SPUBLISH']);
const UNSUBSCRIBE_METHODS: ReadonlySet<PropertyKey> = new Set([
  'unsubscribe',
  'UNSUBSCRIBE',
  'pUnsubscribe',
  'PUNSUBSCRIBE',
  'sUnsubscribe',
  'SUNSUBSCRIBE',
]);

/** `client` whose `methods` never reject: a failure goes to `onError`. */
function publishingSafely(
  client: RedisClient,
  onError: (error: Error) => void,
  methods = PUBLISH_METHODS,
): RedisClient {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (!methods.has(property)) return method.bind(target);
      return (...args: unknown[]) =>
        Promise.resolve()
          .then(() => method.apply(target, args))
          .catch((error: unknown) => {
            onError(error instanceof Error ? error : new Error(String(error)));
            return 0;
          });
    },
  });
}

/** Settles with `promise`, or rejects after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * With `REDIS_URL` set: carries permission-cache invalidation to every node (a change made through
 * node A is enforced on node B's next request), watches the cross-node channel, and answers the
 * health check.
 *
 * A Redis outage loses messages: publishes fail while this node's connection is down, and what
 * other nodes publish while its subscribers are away never arrives. So while the channel is down
 * the live layer promises nothing (`onChannel('down')`: it closes its sockets and refuses new ones),
 * and when it comes back this node announces a gap on `<prefix>:live:gap`: every other node then
 * has its sockets reconnect too (`onChannel('gap')`), and every client catches up from the
 * activity log. The permission cache is flushed at each of these (REST never depended on it being
 * told: entries are keyed by the member's permission version, read with every request).
 */
@Injectable()
export class RedisBridge implements OnModuleDestroy {
  private readonly logger = new Logger(RedisBridge.name);
  private readonly node = randomUUID();
  private readonly listeners = new Set<(event: ChannelEvent) => void>();
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(REDIS) private readonly redis: RedisConnections | null,
    @Inject(DomainEventBus) bus: DomainEventBus,
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
  ) {
    if (!redis) {
      this.unsubscribe = () => undefined;
      return;
    }
    const invalidations = `${redis.prefix}:permissions:invalidate`;
    const gaps = `${redis.prefix}:live:gap`;
    this.subscribe(invalidations, (message) => {
      const { node, memberIds } = JSON.parse(message) as { node: string; memberIds: string[] };
      if (node !== this.node) permissions.invalidate(memberIds);
    });
    this.subscribe(gaps, (message) => {
      const { node } = JSON.parse(message) as { node: string };
      if (node !== this.node) this.emit('gap');
    });
    const offBus = bus.onAny((event) => {
      const memberIds = membersToInvalidate(event);
      if (memberIds.length) this.publish(invalidations, { node: this.node, memberIds });
    });
    const offChannel = redis.channel.onChange((up) => {
      this.emit(up ? 'up' : 'down');
      if (up) this.publish(gaps, { node: this.node });
    });
    this.unsubscribe = () => {
      offBus();
      offChannel();
    };
  }

  /** Whether live updates can be promised: no Redis (one node), or this node's channel is up. */
  get live(): boolean {
    return !this.redis || this.redis.channel.up;
  }

  /** Called with every change of the channel (see the class comment). Returns the unsubscribe function. */
  onChannel(listener: (event: ChannelEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `down` when any connection is down or the ping takes longer than PING_TIMEOUT_MS. */
  async ping(): Promise<'ok' | 'down' | 'disabled'> {
    if (!this.redis) return 'disabled';
    if (!this.redis.channel.up) return 'down';
    try {
      return (await withTimeout(this.redis.pub.ping(), PING_TIMEOUT_MS, 'Redis')) === 'PONG' ? 'ok' : 'down';
    } catch {
      return 'down';
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe();
    if (!this.redis) return;
    await Promise.allSettled([this.redis.pub, this.redis.sub, this.redis.events].map(closeClient));
  }

  private emit(event: ChannelEvent): void {
    // Whatever this node or another may have missed, no cached permission set outlives it.
    this.permissions.clear();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error(
          `A listener of the Redis channel failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      }
    }
  }

  private publish(channel: string, message: object): void {
    const redis = this.redis!;
    redis.pub
      .publish(channel, JSON.stringify(message))
      .catch((error: unknown) => redis.channel.failed('publish', asError(error)));
  }

  private subscribe(channel: string, handle: (message: string) => void): void {
    const redis = this.redis!;
    const listener = (message: string) => {
      try {
        handle(message);
      } catch (error) {
        this.logger.warn(`Ignored a malformed message on ${channel}: ${asError(error).message}`);
      }
    };
    // Once subscribed, the client subscribes again by itself after every reconnect; a first attempt
    // that failed is tried again when the channel is next up.
    const attempt = () => {
      redis.events.subscribe(channel, listener).catch((error: unknown) => {
        redis.channel.failed('subscribe', asError(error));
        const off = redis.channel.onChange((up) => {
          if (!up) return;
          off();
          attempt();
        });
      });
    };
    attempt();
  }
}

/** Closes gracefully when connected (replies still due are awaited, briefly); otherwise drops it. */
async function closeClient(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  if (client.isReady) {
    try {
      await withTimeout(client.close(), CLOSE_TIMEOUT_MS, 'Redis close');
      return;
    } catch {
      /* stalled: dropped below */
    }
  }
  if (client.isOpen) client.destroy();
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));
