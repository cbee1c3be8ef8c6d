import { Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import type { RedisConnections } from '../infra/redis-bridge.js';

/** A node that has not renewed its liveness for this long is dead: its sockets no longer count. */
const NODE_LIVENESS_MS = 15_000;
/** A session's entry in Redis outlives no session (30 days, the absolute lifetime). */
const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Atomically: drop the session's sockets on dead nodes (and this node's that it no longer holds),
 * then admit one more unless the session already has `cap`. KEYS: the session's hash (socket id →
 * node), the nodes' hash (node → alive until, ms), then optionally the session's cool-down key
 * (CooldownLimiter's, read in the same script so the handshake's cool-down check costs no command
 * of its own). ARGV: cap, socket id, this node, liveness ms, session TTL ms, then this node's sockets
 * of the session. Answers { the count before, or -1 (full); the cool-down's ms left, or -2 when the
 * session is not cooling down }.
 */
const ADMIT = `
local cooled = -2
if KEYS[3] and tonumber(redis.call('GET', KEYS[3]) or '0') > 1 then cooled = redis.call('PTTL', KEYS[3]) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[2], ARGV[3], now + tonumber(ARGV[4]))
local mine = {}
for i = 6, #ARGV do mine[ARGV[i]] = true end
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
if count >= tonumber(ARGV[1]) then return { -1, cooled } end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return { count, cooled }
`;
/** The script's SHA1: sent by digest (EVALSHA), its ~1 KB body only when Redis does not know it yet. */
const ADMIT_SHA = createHash('sha1').update(ADMIT).digest('hex');

/** What `admit` answers: whether the socket fits, and the cool-down read with it. */
export interface Admission {
  readonly admitted: boolean;
  /**
   * Ms the session still cools down (0: it does not), read in the same script; null when it was not
   * read (no cool-down key given, or Redis did not answer) — the caller checks it its own way.
   */
  readonly cooldownMs: number | null;
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
   * (not admitted), and reads the session's cool-down (`cooldownKey`) in the same script. When Redis
   * does not answer, only this node's sockets are counted (sign-ins are not blocked by it) and the
   * cool-down is left to the caller.
   */
  async admit(session: string, socketId: string, cap: number, cooldownKey?: string): Promise<Admission> {
    const mine = this.here.get(session) ?? new Set<string>();
    if (mine.size >= cap) return { admitted: false, cooldownMs: null };
    // Held from here on (before the await): two handshakes of one session on this node count each other.
    mine.add(socketId);
    this.here.set(session, mine);
    const options = {
      keys: cooldownKey
        ? [this.sessionKey(session), this.nodesKey, cooldownKey]
        : [this.sessionKey(session), this.nodesKey],
      arguments: [
        String(cap),
        socketId,
        this.node,
        String(this.livenessMs),
        String(SESSION_TTL_MS),
        ...[...mine].filter((id) => id !== socketId),
      ],
    };
    let count: number;
    let cooled: number;
    try {
      const reply = (await this.redis.limits
        .evalSha(ADMIT_SHA, options)
        .catch((error: unknown) =>
          error instanceof Error && error.message.startsWith('NOSCRIPT')
            ? this.redis.limits.eval(ADMIT, options)
            : Promise.reject(error),
        )) as unknown as [number, number];
      count = Number(reply[0]);
      cooled = Number(reply[1]);
    } catch (error) {
      this.logger.warn(
        `Counting a session's sockets on other nodes failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return { admitted: true, cooldownMs: null };
    }
    if (count < 0) this.release(session, socketId);
    return { admitted: count >= 0, cooldownMs: cooldownKey ? Math.max(0, cooled) : null };
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
