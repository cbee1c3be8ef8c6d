import type { IncomingMessage } from 'node:http';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { DomainError } from '../common/domain-error.js';
import type { LiveLimitConfig } from '../config.js';
import type { RedisConnections } from '../infra/redis-bridge.js';
import type { Budget } from './session-sockets.js';

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
 * A rate-limiter-flexible limiter in Redis (shared by every node) or, without Redis, in this process.
 *
 * While Redis is unreachable each node counts in its own memory (the insurance limiter), at once
 * (`rejectIfRedisNotReady`: no command is even tried): the limits keep holding per node — a client
 * spread over N nodes gets at most N budgets for the outage — rather than failing open (no limit
 * at all while Redis is away, which an attacker could wait for) or failing closed (every handshake
 * refused, turning a Redis outage into a live-layer outage for everyone).
 */
function sharedLimiter(
  redis: RedisConnections | null,
  options: { keyPrefix: string; points: number; duration: number },
): RateLimiterAbstract {
  if (!redis) return new RateLimiterMemory(options);
  return new RateLimiterRedis({
    ...options,
    keyPrefix: `${redis.prefix}:${options.keyPrefix}`,
    storeClient: redis.limits,
    useRedisPackage: true,
    // A key that used its points is then refused from this node's memory for the rest of the
    // window, without a round trip; if Redis fails, each node counts in memory meanwhile.
    inMemoryBlockOnConsumed: options.points,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory(options),
  });
}

const rateLimited = (what: string, msBeforeNext: number): DomainError => {
  const retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new DomainError('RATE_LIMITED', `${what} Try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
};

/**
 * Handshakes per client IP (a fixed window), shared by every node through Redis: a client spread
 * over nodes by the load balancer has one budget. The first handshake over the budget is refused
 * in Socket.IO's middleware with `RATE_LIMITED` and a retry hint; from then on this node remembers
 * the address until the window ends (`blocked`) and refuses its handshakes at the HTTP upgrade,
 * before any WebSocket or Socket.IO work — a client that ignores the hint costs next to nothing.
 */
export class HandshakeLimiter {
  private readonly limiter: RateLimiterAbstract;
  /** Addresses this node saw over their budget, and until when (ms, `Date.now()`). */
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    private readonly limits: Pick<LiveLimitConfig, 'handshakesPerIp' | 'handshakeWindowSeconds'>,
    redis: RedisConnections | null,
  ) {
    this.limiter = sharedLimiter(redis, {
      keyPrefix: 'live-handshake-ip',
      points: limits.handshakesPerIp,
      duration: limits.handshakeWindowSeconds,
    });
  }

  /** Uses one handshake of `ip`; throws `RATE_LIMITED` (with `retryAfterSeconds`) when none was left. */
  async consume(ip: string): Promise<void> {
    try {
      await this.limiter.consume(ip);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      throw this.refuse(ip, error.msBeforeNext);
    }
  }

  /**
   * `ip`'s budget in Redis, for a script that spends it with other handshake checks in one command
   * (SessionSockets' admission; issue 18): the key and the steps of this limiter, so the handshakes
   * that script counts and those `consume` counts (handshakes without a well-formed token, or when
   * the script got no answer) are one budget.
   */
  budget(ip: string): Budget {
    return {
      key: this.limiter.getKey(ip),
      points: this.limits.handshakesPerIp,
      windowSeconds: this.limits.handshakeWindowSeconds,
    };
  }

  /** Judges a handshake such a script counted: throws `RATE_LIMITED` as `consume` does when it was over the budget. */
  settle(ip: string, spent: { handshakes: number; msLeft: number }): void {
    if (spent.handshakes > this.limits.handshakesPerIp) throw this.refuse(ip, spent.msLeft);
  }

  private refuse(ip: string, msBeforeNext: number): DomainError {
    if (this.blockedUntil.size > 10_000) this.sweep();
    this.blockedUntil.set(ip, Date.now() + msBeforeNext);
    return rateLimited('Too many connections from this address.', msBeforeNext);
  }

  /** Whether this node already refused `ip` in its current window (synchronous, for the HTTP upgrade). */
  blocked(ip: string): boolean {
    const until = this.blockedUntil.get(ip);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.blockedUntil.delete(ip);
    return false;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [ip, until] of this.blockedUntil) if (until <= now) this.blockedUntil.delete(ip);
  }
}

/**
 * Sessions one of whose sockets was cut for flooding may not connect again for `cooldownSeconds`
 * (in Redis with it, so on no node): a flooding client that reconnects at once would otherwise get
 * a fresh bucket — a fresh burst — every time. Keyed by the hash of the session's token, so a
 * session cooling down is refused before the database is asked who it is.
 */
export class CooldownLimiter {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    private readonly limits: Pick<LiveLimitConfig, 'cooldownSeconds'>,
    redis: RedisConnections | null,
  ) {
    this.limiter = sharedLimiter(redis, { keyPrefix: 'live-cooldown', points: 1, duration: limits.cooldownSeconds });
  }

  async start(tokenHash: string): Promise<void> {
    await this.limiter.block(tokenHash, this.limits.cooldownSeconds);
  }

  /** Throws `RATE_LIMITED` while the session cools down. */
  async check(tokenHash: string): Promise<void> {
    const state = await this.limiter.get(tokenHash);
    if (state && state.consumedPoints > 1 && state.msBeforeNext > 0) throw this.refusal(state.msBeforeNext);
  }

  /**
   * The session's cool-down key in Redis, for a script that reads it with other handshake checks in
   * one command (SessionSockets' admission; issue 18): cooling down = a value over 1 with time left,
   * as `check` judges it.
   */
  redisKey(tokenHash: string): string {
    return this.limiter.getKey(tokenHash);
  }

  /** The refusal of a session cooling down for `msBeforeNext` more ms (what `check` throws). */
  refusal(msBeforeNext: number): DomainError {
    return rateLimited('This session was disconnected for sending too many events.', msBeforeNext);
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
 *
 * The two shapes nearly every handshake has are answered without it (`plainAddress`), to the same
 * result: Express parses the X-Forwarded-For chain with ipaddr.js and compiles the trust check for
 * each request, ~4% of a node's CPU in a reconnect storm (issue 18).
 */
export function clientAddress(express: ExpressLike, request: IncomingMessage): string {
  // Asked twice per handshake (at the upgrade and in the middleware): worked out once.
  let address = addresses.get(request);
  if (address === undefined) {
    const ip: unknown =
      plainAddress(request) ?? Reflect.get(express.request, 'ip', Object.create(request, { app: { value: express } }));
    address = typeof ip === 'string' && ip ? ip : (request.socket?.remoteAddress ?? 'unknown');
    addresses.set(request, address);
  }
  return address;
}

/** Each handshake request's client address, once worked out (the request object is the key). */
const addresses = new WeakMap<IncomingMessage, string>();

/** A loopback peer as the operating system writes it (Node's `remoteAddress`, inet_ntop's forms). */
const LOOPBACK_PEER = /^(?:::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$|^::1$/;
/** A peer that is certainly not loopback: a dotted IPv4 address outside 127/8, or IPv6 other than those forms. */
const OTHER_PEER = /^(?!127\.)\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * `req.ip` under `trust proxy` = loopback for the two common shapes, else undefined (Express decides):
 * no X-Forwarded-For, or a peer that is not loopback — the peer itself; a loopback peer (the load
 * balancer on this host) and a single X-Forwarded-For entry — that entry, spaces around it trimmed
 * (proxy-addr never judges the last address of the chain, only the hops in front of it).
 */
function plainAddress(request: IncomingMessage): string | undefined {
  const peer = request.socket?.remoteAddress;
  if (peer === undefined) return undefined;
  const forwarded = request.headers['x-forwarded-for'];
  if (forwarded === undefined || forwarded === '' || OTHER_PEER.test(peer)) return peer;
  if (typeof forwarded !== 'string' || forwarded.includes(',') || !LOOPBACK_PEER.test(peer)) return undefined;
  const entry = forwarded.replace(/^ +| +$/g, '');
  return entry === '' ? peer : entry;
}
