import { Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import type { RedisConnections } from '../infra/redis-bridge.js';

/** A node that has not renewed its liveness for this long is dead: its sockets no longer count. */
const NODE_LIVENESS_MS = 15_000;
/** A session's entry in Redis outlives no session (30 days, the absolute lifetime). */
const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Atomically: first the client address's handshake budget when given (a fixed window, the same key
 * and the same steps as rate-limiter-flexible's RateLimiterRedis, so handshakes counted by that
 * limiter and by this script share one budget): over it, the script stops there and admits nothing;
 * then drop the session's sockets on dead nodes (and this node's that it no longer holds), then admit
 * one more unless the session already has `cap`. KEYS: the session's hash (socket id → node), the
 * nodes' hash (node → alive until, ms), the session's cool-down key (CooldownLimiter's, read in the
 * same script so the handshake's cool-down check costs no command of its own) or '' for none, the
 * address's budget key or '' for none. ARGV: cap, socket id, this node, liveness ms, session TTL ms,
 * the budget's points and window (s), then this node's sockets of the session. Answers { the count
 * before, -1 (full) or -3 (over the address's budget: not counted); the cool-down's ms left, or -2
 * when the session is not cooling down; the address's handshakes in its window (0: not counted);
 * their window's ms left }.
 */
const ADMIT = `
local cooled = -2
if KEYS[3] and KEYS[3] ~= '' and tonumber(redis.call('GET', KEYS[3]) or '0') > 1 then cooled = redis.call('PTTL', KEYS[3]) end
local spent, window = 0, 0
if KEYS[4] then
  redis.call('SET', KEYS[4], 0, 'EX', ARGV[7], 'NX')
  spent = redis.call('INCRBY', KEYS[4], 1)
  window = redis.call('PTTL', KEYS[4])
  if window == -1 then
    redis.call('EXPIRE', KEYS[4], ARGV[7])
    window = 1000 * tonumber(ARGV[7])
  end
  if spent > tonumber(ARGV[6]) then return { -3, cooled, spent, window } end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[2], ARGV[3], now + tonumber(ARGV[4]))
local mine = {}
for i = 8, #ARGV do mine[ARGV[i]] = true end
local entries = redis.call('HGETALL', KEYS[1])
local alive = {}
local count = 0
for i = 1, #entries, 2 do
  local socket, node = entries[i], entries[i + 1]
  local live
  if node == ARGV[3] then
    live = mine[socket] == true
  else
    live = alive[node]
    if live == nil then
      live = tonumber(redis.call('HGET', KEYS[2], node) or '0') > now
      alive[node] = live
    end
  end
  if live then count = count + 1 else redis.call('HDEL', KEYS[1], socket) end
end
if count >= tonumber(ARGV[1]) then return { -1, cooled, spent, window } end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return { count, cooled, spent, window }
`;
/** The script's SHA1: sent by digest (EVALSHA), its ~1 KB body only when Redis does not know it yet. */
const ADMIT_SHA = createHash('sha1').update(ADMIT).digest('hex');

/** A client address's handshake budget, spent by the admission script (see ADMIT). */
export interface Budget {
  /** The budget's key in Redis (HandshakeLimiter's, i.e. rate-limiter-flexible's). */
  readonly key: string;
  readonly points: number;
  readonly windowSeconds: number;
}

/** What `admit` answers: whether the socket fits, and the cool-down and the address's budget read with it. */
export interface Admission {
  readonly admitted: boolean;
  /**
   * Ms the session still cools down (0: it does not), read in the same script; null when it was not
   * read (no cool-down key given, or Redis did not answer) — the caller checks it its own way.
   */
  readonly cooldownMs: number | null;
  /**
   * The address's handshakes in its current window, this one included, and the window's ms left;
   * null when the script did not spend the budget (none given, or Redis did not answer) — the
   * caller spends it its own way. Over the budget, the socket is not counted (`admitted` false).
   */
  readonly spent: { readonly handshakes: number; readonly msLeft: number } | null;
}

/**
 * How many sockets each session has open on all nodes together, for the per-session cap (issue 13),
 * kept in Redis: one script per handshake on the node that takes it, atomic across nodes. A session is
 * named by the hash of its token (one token per session, or per API key), so the script goes out in
 * the same round trip as the handshake's other Redis checks, before the database is asked who it is
 * (issue 18); the gateway lets a refused handshake go at once (`leave`). It replaced
 * asking every node through the Socket.IO adapter (`fetchSockets`), which cost about 0.6 ms of the
 * cluster's CPU per handshake (issue 18's scale-out benchmark: one request and one answer per other
 * node through Redis) and let simultaneous handshakes on two nodes both slip under the cap.
 *
 * A node that dies takes its sockets out of the count within NODE_LIVENESS_MS: each node renews its
 * liveness every third of it, and the script counts only live nodes' entries (and drops the others).
 * This node's own entries count only while it holds the socket (`here`), so one whose removal was lost
 * (Redis cut at the disconnect) is dropped on the session's next handshake here. After a Redis outage
 * the node takes a new identity (`renew`): its sockets were all closed meanwhile, and whatever of
 * theirs is left in Redis belongs to a node that stops renewing.
 */
export class SessionSockets {
  private readonly logger = new Logger(SessionSockets.name);
  private node = randomUUID();
  /** This node's admitted sockets per session (from admission until disconnect). */
  private readonly here = new Map<string, Set<string>>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisConnections,
    private readonly livenessMs = NODE_LIVENESS_MS,
  ) {
    this.timer = setInterval(() => this.beat(), Math.max(1000, Math.floor(livenessMs / 3)));
    this.timer.unref();
    this.beat();
  }

  private get nodesKey(): string {
    return `${this.redis.prefix}:{live}:nodes`;
  }

  /** `session`: the hash of the session's token. */
  private sessionKey(session: string): string {
    return `${this.redis.prefix}:{live}:sockets:${session}`;
  }

  /**
   * Admits `socketId` as one more socket of `session` (its token's hash) unless it has `cap` already
   * (not admitted), and in the same script reads the session's cool-down (`cooldownKey`) and spends
   * one handshake of the client address's `budget` (over it, nothing is counted). When Redis does not
   * answer, only this node's sockets are counted (sign-ins are not blocked by it), and the cool-down
   * and the budget are left to the caller.
   */
  async admit(
    session: string,
    socketId: string,
    cap: number,
    cooldownKey?: string,
    budget?: Budget,
  ): Promise<Admission> {
    const unread = { admitted: false, cooldownMs: null, spent: null };
    const mine = this.here.get(session) ?? new Set<string>();
    if (mine.size >= cap) return unread;
    // Held from here on (before the await): two handshakes of one session on this node count each other.
    mine.add(socketId);
    this.here.set(session, mine);
    const keys = [this.sessionKey(session), this.nodesKey];
    if (cooldownKey !== undefined || budget) keys.push(cooldownKey ?? '');
    if (budget) keys.push(budget.key);
    const options = {
      keys,
      arguments: [
        String(cap),
        socketId,
        this.node,
        String(this.livenessMs),
        String(SESSION_TTL_MS),
        String(budget?.points ?? 0),
        String(budget?.windowSeconds ?? 0),
        ...[...mine].filter((id) => id !== socketId),
      ],
    };
    let reply: [number, number, number, number];
    try {
      reply = (await this.redis.limits
        .evalSha(ADMIT_SHA, options)
        .catch((error: unknown) =>
          error instanceof Error && error.message.startsWith('NOSCRIPT')
            ? this.redis.limits.eval(ADMIT, options)
            : Promise.reject(error),
        )) as unknown as [number, number, number, number];
    } catch (error) {
      this.logger.warn(
        `Counting a session's sockets on other nodes failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return { ...unread, admitted: true };
    }
    const [count, cooled, handshakes, msLeft] = reply.map(Number) as [number, number, number, number];
    if (count < 0) this.release(session, socketId);
    return {
      admitted: count >= 0,
      cooldownMs: cooldownKey ? Math.max(0, cooled) : null,
      spent: budget ? { handshakes, msLeft } : null,
    };
  }

  /** The socket is gone (or was refused after admission): it stops counting here and in Redis. */
  leave(session: string, socketId: string): void {
    if (!this.release(session, socketId)) return;
    this.redis.limits.hDel(this.sessionKey(session), socketId).catch(() => undefined);
  }

  /** A new identity after a Redis outage (see the class comment). */
  renew(): void {
    this.node = randomUUID();
    this.beat();
  }

  /** Shutting down: this node stops counting at once (its sockets are being closed). */
  stop(): void {
    clearInterval(this.timer);
    this.redis.limits.hDel(this.nodesKey, this.node).catch(() => undefined);
  }

  private release(session: string, socketId: string): boolean {
    const mine = this.here.get(session);
    if (!mine?.delete(socketId)) return false;
    if (mine.size === 0) this.here.delete(session);
    return true;
  }

  private beat(): void {
    // Redis's clock, as the script reads it: nodes' clocks need not agree.
    this.redis.limits
      .eval(
        "local t = redis.call('TIME') redis.call('HSET', KEYS[1], ARGV[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2])) return 1",
        {
          keys: [this.nodesKey],
          arguments: [this.node, String(this.livenessMs)],
        },
      )
      .catch(() => undefined);
  }
}
