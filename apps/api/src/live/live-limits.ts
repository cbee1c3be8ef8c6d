import type { IncomingMessage } from 'node:http';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { DomainError } from '../common/domain-error.js';
import type { LiveLimitConfig } from '../config.js';
import type { RedisConnections } from './redis-bridge.js';

/** What a socket's bucket says about one incoming event. */
export type BucketVerdict = 'pass' | 'limited' | 'cut';

/**
 * Per-socket token bucket: `eventBurst` tokens, refilled at `eventsPerSecond`; every event takes one.
 * An event that finds the bucket empty is refused and still takes its token, so the bucket goes into
 * debt: a client that keeps sending never gets back under the limit, and one that owes
 * `refusalsBeforeDisconnect` tokens is cut. A client that went over briefly and stopped is served
 * again once the refill has paid the debt.
 *
 * Hand-written rather than rate-limiter-flexible: that library has no token bucket (its limiters
 * are fixed windows; BurstyRateLimiter is two of them), it answers through a promise, and its
 * memory store arms a timer per key and window. This runs synchronously on every incoming packet,
 * one object per socket that goes away with it, nothing shared: a socket lives on one node.
 */
export class EventBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly limits: Pick<LiveLimitConfig, 'eventBurst' | 'eventsPerSecond' | 'refusalsBeforeDisconnect'>,
    now: number = performance.now(),
  ) {
    this.tokens = limits.eventBurst;
    this.at = now;
  }

  take(now: number = performance.now()): BucketVerdict {
    const { eventBurst, eventsPerSecond, refusalsBeforeDisconnect } = this.limits;
    this.tokens = Math.min(eventBurst, this.tokens + ((now - this.at) * eventsPerSecond) / 1000);
    this.at = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return 'pass';
    return -this.tokens >= refusalsBeforeDisconnect ? 'cut' : 'limited';
  }

  /** Seconds until the next event would pass. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.limits.eventsPerSecond));
  }
}

/**
 * Handshakes per client IP (rate-limiter-flexible, a fixed window). With Redis the counter is
 * shared by every node — a client spread over nodes by the load balancer has one budget — and an
 * address that used its budget is then refused from this node's memory for the rest of the window,
 * without a Redis round trip. If Redis fails, each node counts in memory meanwhile.
 */
export class HandshakeLimiter {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    limits: Pick<LiveLimitConfig, 'handshakesPerIp' | 'handshakeWindowSeconds'>,
    redis: RedisConnections | null,
  ) {
    const options = {
      keyPrefix: 'live-handshake-ip',
      points: limits.handshakesPerIp,
      duration: limits.handshakeWindowSeconds,
    };
    this.limiter = redis
      ? new RateLimiterRedis({
          ...options,
          keyPrefix: `${redis.prefix}:${options.keyPrefix}`,
          storeClient: redis.pub,
          useRedisPackage: true,
          inMemoryBlockOnConsumed: limits.handshakesPerIp,
          insuranceLimiter: new RateLimiterMemory(options),
        })
      : new RateLimiterMemory(options);
  }

  /** Uses one handshake of `ip`; throws `RATE_LIMITED` (with `retryAfterSeconds`) when none was left. */
  async consume(ip: string): Promise<void> {
    try {
      await this.limiter.consume(ip);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      const retryAfterSeconds = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
      throw new DomainError(
        'RATE_LIMITED',
        `Too many connections from this address. Try again in ${retryAfterSeconds} seconds.`,
        {
          retryAfterSeconds,
        },
      );
    }
  }
}

/** The parts of an Express application `req.ip` reads (`trust proxy fn`). */
export interface ExpressLike {
  readonly request: object;
}

/**
 * The client address of a handshake, exactly as Express's `req.ip` gives it for REST requests:
 * Express's own getter runs on the handshake's HTTP request with this app's `trust proxy` setting
 * (loopback: X-Forwarded-For is believed from 127.0.0.0/8 and ::1 only, and its rightmost hop that
 * is not loopback is the client). Socket.IO's `handshake.address` is the raw peer, which behind a
 * local proxy would put every client in one bucket.
 */
export function clientAddress(express: ExpressLike, request: IncomingMessage): string {
  const ip: unknown = Reflect.get(express.request, 'ip', Object.create(request, { app: { value: express } }));
  return typeof ip === 'string' && ip ? ip : (request.socket?.remoteAddress ?? 'unknown');
}
