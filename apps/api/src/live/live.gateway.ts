import { Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocketGateway, WebSocketServer, type OnGatewayConnection, type OnGatewayInit } from '@nestjs/websockets';
import {
  activitySubscribeSchema,
  presenceEnterSchema,
  presenceLeaveSchema,
  syncSchema,
  type Ack,
  type ErrorCode,
  type PresenceResource,
  type PresenceViewer,
  type ServerToClientEvents,
} from '@rolecall/contracts';
import { Semaphore } from 'async-mutex';
import { parse as parseCookie } from 'cookie';
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { SESSION_COOKIE } from '../database/request-auth.js';
import { Clock } from '../common/clock.js';
import { sha256Hex } from '../common/tokens.js';
import { DomainError } from '../common/domain-error.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { PermissionsService } from '../database/permissions.service.js';
import type { MemberEntity } from '../database/entities/member.entity.js';
import type { ResolvedPermissions } from '../database/permissions.service.js';
import type { SessionEntity } from '../database/entities/session.entity.js';
import { ApiKeys, isKeySessionId, looksLikeApiKey } from '../database/api-keys.js';
import { SessionsService, type LiveSessionAuth } from '../database/sessions.service.js';
import {
  clientAddress,
  CooldownLimiter,
  EventBucket,
  HandshakeLimiter,
  type BucketVerdict,
  type ExpressLike,
} from './live-limits.js';
import { coalesceConnectFrames } from './live-io.adapter.js';
import { LiveSync } from './live-sync.service.js';
import { SessionSockets, type Admission } from './session-sockets.js';
import { isActivityRoom, isPresenceRoom, Rooms, type LiveServer, type LiveSocket } from './live.types.js';
import {
  CROSS_NODE_TIMEOUT_MS,
  REDIS,
  RedisBridge,
  withTimeout,
  type ChannelEvent,
  type RedisConnections,
} from '../infra/redis-bridge.js';
import { countRateLimited } from '../common/observability/metrics.js';

const TOKEN = /^[A-Za-z0-9_-]{20,200}$/;

/** The events a client may send; anything else is answered NOT_FOUND (and counts against the limit). */
const CLIENT_EVENTS: ReadonlySet<string> = new Set([
  'presence.enter',
  'presence.leave',
  'activity.subscribe',
  'activity.unsubscribe',
  'sync',
]);

/**
 * How long a socket's cached standing (its session is usable, its permission keys) may be used to
 * refuse an event without asking the database. Invalidations drop it at once; this only bounds
 * what nothing announces (a session running into its idle or absolute expiry is also checked
 * against its own deadlines) — at most one read per socket per minute for a client that is refused
 * over and over.
 */
const STANDING_TTL_MS = 60_000;

/**
 * API keys' handshakes authenticated at once on a node; the others wait their turn. Sixty sockets
 * arriving together would otherwise take every connection of the PostgreSQL pool (and make it open
 * new ones) while REST requests — the health check, an admin's change — queue behind them. Sessions'
 * handshakes are batched by SessionsService, which holds its own cap.
 */
const HANDSHAKES_AT_ONCE = 4;

/** While the cross-node channel is down, handshakes are refused `UNAVAILABLE` with this retry hint. */
const CHANNEL_DOWN_RETRY_SECONDS = 2;

/** A socket's cached standing: the keys its member held when last read, and until when it may be trusted. */
interface Standing {
  readonly keys: ReadonlySet<string>;
  /** Clock time (ms); 0 when an invalidation raced the read that made it. */
  readonly until: number;
}

/** The `me.permissions` a socket gets right after its handshake: its member's set as it stands. */
type Greeting = Parameters<ServerToClientEvents['me.permissions']>[0];
const greetingOf = (member: Pick<MemberEntity, 'roleId'>, permissions: ResolvedPermissions): Greeting => ({
  version: permissions.version,
  roleId: member.roleId,
  keys: permissions.keys as Greeting['keys'],
  reason: 'connected',
});

function liveError(code: ErrorCode, message: string): Ack<never> {
  return { ok: false, error: { code, message } };
}

type LiveKey = 'users.view' | 'roles.view' | 'activity.view';
const forbiddenLive = (key: LiveKey) => new DomainError('FORBIDDEN', `This needs ${key}`);
/** The answers of refusals from the cache, made once (the flood path allocates nothing for them). */
const FORBIDDEN_ACKS: Record<LiveKey, Ack<never>> = {
  'users.view': liveError('FORBIDDEN', 'This needs users.view'),
  'roles.view': liveError('FORBIDDEN', 'This needs roles.view'),
  'activity.view': liveError('FORBIDDEN', 'This needs activity.view'),
};

/**
 * The Socket.IO gateway (same port, default path). The namespace middleware limits handshakes per
 * client IP, authenticates every handshake (token in `auth.token` or the session cookie; never the
 * query string), checks the Origin, holds each session to `socketsPerSession` simultaneous sockets,
 * and puts the socket in its session, member and — for `users.view` holders — account rooms.
 *
 * Abuse limits (issue 13, numbers in `config.liveLimits`): every incoming event, unknown ones too,
 * takes a token from the socket's bucket first; over it the event is answered `RATE_LIMITED` (or
 * dropped without an ack), and a socket that keeps going is disconnected. An event the member may
 * not send is refused from the socket's cached standing, never by reading the database (on SQLite
 * a read waits for the one connection's mutex, which is what let a flood of refused `sync`s stall
 * every request); a grant is always confirmed against the database.
 */
@WebSocketGateway()
export class LiveGateway implements OnGatewayInit<LiveServer>, OnGatewayConnection<LiveSocket>, OnModuleDestroy {
  private readonly logger = new Logger(LiveGateway.name);
  @WebSocketServer() server!: LiveServer;
  private readonly handshakes: HandshakeLimiter;
  private readonly cooldowns: CooldownLimiter;
  private readonly standing = new WeakMap<LiveSocket, Standing>();
  private readonly refreshing = new WeakMap<LiveSocket, Promise<Standing | null>>();
  /** Sockets being disconnected for flooding. */
  private readonly cut = new WeakSet<LiveSocket>();
  /** What each socket is told first once connected (`me.permissions`, reason `connected`). */
  private readonly greetings = new WeakMap<LiveSocket, Greeting>();
  /** Each socket's session, as the hash of its token (what the cool-down is keyed by). */
  private readonly tokenHashes = new WeakMap<LiveSocket, string>();
  private readonly authentications = new Semaphore(HANDSHAKES_AT_ONCE);
  /** Each session's sockets on all nodes (with Redis), for the per-session cap. */
  private readonly sessionSockets: SessionSockets | null;
  /**
   * Whether a member's set changed while it was being read: every invalidation bumps `generation`
   * and, while reads are under way (`reading`), notes it against the members it names. A standing
   * whose member was invalidated after its read began is used for that one decision, not cached.
   * Per member: a change elsewhere in the cluster does not send every handshake in flight back to
   * the database.
   */
  private generation = 0;
  private reading = 0;
  private readonly invalidatedAt = new Map<string, number>();
  private unsubscribeInvalidations: () => void = () => undefined;
  private unsubscribeChannel: () => void = () => undefined;

  constructor(
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
    @Inject(LiveSync) private readonly sync: LiveSync,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(REDIS) private readonly redis: RedisConnections | null,
    @Inject(HttpAdapterHost) private readonly http: HttpAdapterHost,
    @Inject(RedisBridge) private readonly bridge: RedisBridge,
    @Inject(ApiKeys) private readonly apiKeys: ApiKeys,
  ) {
    this.handshakes = new HandshakeLimiter(config.liveLimits, redis);
    this.cooldowns = new CooldownLimiter(config.liveLimits, redis);
    this.sessionSockets = redis ? new SessionSockets(redis) : null;
  }

  afterInit(server: LiveServer): void {
    // Every invalidation the REST cache gets (at commit here, from other nodes through Redis).
    this.unsubscribeInvalidations = this.permissions.onInvalidate((memberIds) => this.forget(memberIds));
    this.unsubscribeChannel = this.bridge.onChannel((event) => this.onChannel(event));
    // An address this node already refused for the rest of its window is turned away at the HTTP
    // upgrade (engine.io answers 400 and closes): no WebSocket, no Socket.IO session, no middleware.
    const express = this.http.httpAdapter.getInstance<ExpressLike>();
    const engineOptions = server.engine.opts as {
      allowRequest?: (req: IncomingMessage, done: (message: string | null | undefined, ok: boolean) => void) => void;
    };
    const allowRequest = engineOptions.allowRequest;
    engineOptions.allowRequest = (req, done) => {
      if (this.handshakes.blocked(clientAddress(express, req))) {
        countRateLimited('liveHandshakes');
        return done('RATE_LIMITED', false);
      }
      if (allowRequest) return allowRequest(req, done);
      done(null, true);
    };
    server.use((socket, next) => {
      this.admit(socket).then(
        () => {
          // CONNECT and the greeting (handleConnection) leave in one write.
          coalesceConnectFrames(socket.conn);
          next();
        },
        (error: unknown) => {
          // A refusal is a DomainError; anything else went wrong here, and is refused and logged.
          if (!(error instanceof DomainError))
            this.logger.error(
              `Handshake failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
            );
          const code = error instanceof DomainError ? error.code : 'UNAUTHENTICATED';
          if (code === 'RATE_LIMITED') countRateLimited('liveHandshakes');
          const details = error instanceof DomainError ? error.details : undefined;
          const data = {
            code,
            message: error instanceof Error ? error.message : 'Refused',
            ...(details ? { details } : {}),
          };
          next(Object.assign(new Error(code), { data }));
        },
      );
    });
  }

  onModuleDestroy(): void {
    this.unsubscribeInvalidations();
    this.unsubscribeChannel();
    this.sessionSockets?.stop();
    // This node's sockets only (without `local` the adapter would ask every node to drop theirs).
    this.server?.local.disconnectSockets(true);
  }

  /**
   * The cross-node channel went down (this node may miss other nodes' changes, and they its own),
   * or another node's came back (its changes in between never arrived here): this node's sockets
   * cannot be promised every update, so their connections are closed. Clients reconnect by
   * themselves (Socket.IO's reconnection; refused `UNAVAILABLE` with a retry hint while the channel
   * is down), every handshake re-reads the session and permissions, and the client catches up from
   * the activity log (`sync { afterSeq }`).
   */
  private onChannel(event: ChannelEvent): void {
    if (event === 'up') {
      // Whatever of this node's sockets Redis still lists (their removal failed while it was away) dies with the old identity.
      this.sessionSockets?.renew();
      return;
    }
    const sockets = this.server?.sockets.sockets.size ?? 0;
    if (sockets === 0) return;
    this.logger.warn(
      `${event === 'down' ? 'Redis is unreachable' : 'Another node missed live messages'}: asking ${sockets} socket(s) to reconnect and catch up`,
    );
    // The transport is closed without a Socket.IO DISCONNECT packet (after which a client stays
    // away): to the client it is a lost connection, and it reconnects.
    for (const socket of this.server.sockets.sockets.values()) socket.conn.close();
  }

  /** The handshake: the address's budget first (before any database work), then who it is. */
  private async admit(socket: LiveSocket): Promise<void> {
    if (!this.bridge.live) {
      throw new DomainError(
        'UNAVAILABLE',
        'Live updates are paused while Rolecall reconnects to Redis; try again shortly',
        {
          retryAfterSeconds: CHANNEL_DOWN_RETRY_SECONDS,
        },
      );
    }
    const express = this.http.httpAdapter.getInstance<ExpressLike>();
    const address = clientAddress(express, socket.request);
    const foreign = this.foreignOrigin(socket);
    const token = foreign ? null : this.presentedToken(socket);
    // A session cooling down is refused before the database is asked who it is, and every attempt
    // counts against the address's budget, bad tokens included; either refusal refuses, the budget's
    // first. With Redis and a well-formed token, one script does all three checks — the budget, the
    // cool-down and the session's sockets on all nodes (keyed by the token's hash; the cap's verdict
    // is applied once the database has said who it is): one Redis command per handshake (issue 18).
    const tokenHash = token ? sha256Hex(token) : null;
    const counted = tokenHash ? this.countSocket(socket, tokenHash, address) : null;
    try {
      const [spent, cooled] = await Promise.allSettled([
        this.spendBudget(address, counted),
        tokenHash ? this.checkCooldown(tokenHash, counted) : null,
      ]);
      if (spent.status === 'rejected') throw spent.reason;
      if (foreign) throw foreign;
      if (!token || !tokenHash) throw new DomainError('UNAUTHENTICATED', 'Sign in to continue');
      if (cooled.status === 'rejected') throw cooled.reason;
      await this.authenticate(socket, token, tokenHash, counted);
    } catch (error) {
      // Refused: it stops counting at once (its connection may stay open for another attempt).
      if (tokenHash) this.sessionSockets?.leave(tokenHash, socket.id);
      throw error;
    }
  }

  /**
   * Spends one handshake of `address`'s budget: judged from what the admission script counted
   * (`counted`), or, when it did not count it (no Redis, no well-formed token, or Redis did not
   * answer), by HandshakeLimiter itself. Throws `RATE_LIMITED` over the budget.
   */
  private async spendBudget(address: string, counted: Promise<Admission> | null): Promise<void> {
    const spent = counted ? (await counted).spent : null;
    if (spent === null) return this.handshakes.consume(address);
    this.handshakes.settle(address, spent);
  }

  /**
   * Throws `RATE_LIMITED` while the session cools down: from the cool-down the admission script read
   * (`counted`), or, when it did not (no Redis, or Redis did not answer), from CooldownLimiter itself.
   */
  private async checkCooldown(tokenHash: string, counted: Promise<Admission> | null): Promise<void> {
    const cooldownMs = counted ? (await counted).cooldownMs : null;
    if (cooldownMs === null) return this.cooldowns.check(tokenHash);
    if (cooldownMs > 0) throw this.cooldowns.refusal(cooldownMs);
  }

  /**
   * An API key's socket is told `me.revoked` (`key_expired`) and closed when the key expires
   * (issue 16 §3). Keys expiring beyond a timer's range are checked again on the next re-check.
   */
  private endAtExpiry(socket: LiveSocket, expiresAt: string): void {
    const delay = Date.parse(expiresAt) - this.clock.now().getTime();
    if (delay > 2 ** 31 - 1) return;
    const timer = setTimeout(
      () => {
        socket.emit('me.revoked', { reason: 'key_expired' });
        socket.disconnect(true);
      },
      Math.max(0, delay),
    );
    timer.unref();
    socket.once('disconnect', () => clearTimeout(timer));
  }

  /** A browser's handshake from an Origin this deployment does not serve is refused. */
  private foreignOrigin(socket: LiveSocket): DomainError | null {
    const origin = socket.handshake.headers.origin;
    return origin !== undefined && !this.config.allowedOrigins.includes(origin)
      ? new DomainError('FORBIDDEN', `Origin ${origin} is not allowed`)
      : null;
  }

  /**
   * The token the handshake presents, or null when there is none or it is malformed: a bearer
   * token in `auth`, or from a browser (which sends an Origin) the HttpOnly session cookie; a client
   * without an Origin must present a bearer token.
   */
  private presentedToken(socket: LiveSocket): string | null {
    const authToken = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    let token: string | null = null;
    if (typeof authToken === 'string') token = authToken;
    else if (socket.handshake.headers.origin !== undefined) {
      const cookie = socket.handshake.headers.cookie;
      token = cookie ? (parseCookie(cookie)[SESSION_COOKIE] ?? null) : null;
    }
    return token && TOKEN.test(token) ? token : null;
  }

  /** Session and membership of a well-formed token; on success the socket's data and rooms are set. */
  private async authenticate(
    socket: LiveSocket,
    token: string,
    tokenHash: string,
    counted: Promise<Admission> | null,
  ): Promise<void> {
    // From before the read until the standing is cached: an invalidation of this member in between
    // (its socket is not in the member room yet, so `forget` cannot reach it) makes it untrusted.
    const since = this.beginRead();
    try {
      const { auth, permissions } = looksLikeApiKey(token)
        ? // An API key (issue 16 §3) joins as its service account: member room = its id, session room = `key:<keyId>`.
          await this.authentications.runExclusive(async () => {
            const keyAuth = await this.apiKeys.authenticate(token);
            return { auth: keyAuth, permissions: keyAuth.permissions };
          })
        : await this.authenticateSession(tokenHash);
      const sessionRoom = Rooms.session(auth.session.id);
      const cap = this.config.liveLimits.socketsPerSession;
      if (!(counted ? (await counted).admitted : this.roomHasSpace(auth.session.id, cap))) {
        throw new DomainError('RATE_LIMITED', `This session already has ${cap} live connections; close one first`);
      }
      socket.data = {
        sessionId: auth.session.id,
        personId: auth.person.id,
        memberId: auth.member.id,
        accountId: auth.account.id,
        name: auth.person.name,
        presence: {},
      };
      const rooms = [sessionRoom, Rooms.member(auth.member.id)];
      if (permissions.set.has('users.view')) rooms.push(Rooms.account(auth.account.id));
      const joined = socket.join(rooms);
      this.tokenHashes.set(socket, tokenHash);
      this.remember(socket, permissions.set, auth.session, this.unchangedSince(auth.member.id, since));
      if ('serviceAccount' in auth) this.endAtExpiry(socket, auth.session.expiresAt);
      await joined;
      // Every connection starts with the member's set as it stands, so a change made while the
      // client was away (its push went to a room the socket was not in) is never missed — whether
      // or not the client's own `GET /me` gets through. A change after the join arrives as a push
      // of its own with a higher version; one that raced the read above is read again here.
      const greeting = this.unchangedSince(auth.member.id, since)
        ? greetingOf(auth.member, permissions)
        : await this.currentSet(auth.session.id);
      if (!greeting) throw new DomainError('SESSION_REVOKED', 'This session has ended');
      this.greetings.set(socket, greeting);
    } finally {
      this.endRead();
    }
  }

  /**
   * A session's handshake, by the hash already taken for the cool-down: the same checks as a REST
   * request's, fewer columns. Not under `authentications`: the sessions service reads handshakes
   * arriving together in one statement, and caps the statements out at once itself; the role comes
   * with the session, so its permissions need no read of their own.
   */
  private async authenticateSession(
    tokenHash: string,
  ): Promise<{ auth: LiveSessionAuth; permissions: ResolvedPermissions }> {
    const auth = await this.sessions.authenticateLive(tokenHash);
    return { auth, permissions: await this.permissions.resolve(auth.member, auth.account, auth.role) };
  }

  /**
   * Counts the socket against its session's cap on every node (SessionSockets, in Redis, keyed by the
   * hash of the session's token: one token per session, so it is the session, and known before the
   * database is asked) — answers whether it fits and, from the same script, whether the session
   * cools down and how much of the address's handshake budget is spent; null without Redis
   * (`roomHasSpace` then). An
   * admitted socket stops counting when it goes, whether or not its handshake got to the end:
   * Socket.IO tells `disconnect` only to a connected socket, so the connection's close is heard too,
   * and a refused handshake is let go at once (`admit`).
   */
  private countSocket(socket: LiveSocket, tokenHash: string, address: string): Promise<Admission> | null {
    const counts = this.sessionSockets;
    if (!counts) return null;
    const admitted = counts.admit(
      tokenHash,
      socket.id,
      this.config.liveLimits.socketsPerSession,
      this.cooldowns.redisKey(tokenHash),
      this.handshakes.budget(address),
    );
    const leave = () => counts.leave(tokenHash, socket.id);
    socket.once('disconnect', leave);
    socket.conn.once('close', leave);
    if (socket.conn.readyState === 'closed') leave();
    return admitted;
  }

  /** Without Redis this node's session room is the whole count (nothing awaits between it and the join). */
  private roomHasSpace(sessionId: string, cap: number): boolean {
    return (this.server.sockets.adapter.rooms.get(Rooms.session(sessionId))?.size ?? 0) < cap;
  }

  /** The member's set as the database has it now (a key's or a session's); null once it ended. */
  private async currentSet(sessionId: string): Promise<Greeting | null> {
    if (isKeySessionId(sessionId)) {
      const key = await this.apiKeys.byKeyId(sessionId.slice('key:'.length));
      return key && greetingOf(key.member, key.permissions);
    }
    const found = await this.sessions.byId(sessionId);
    return found && greetingOf(found.member, await this.permissions.resolve(found.member, found.account));
  }

  handleConnection(socket: LiveSocket): void {
    const greeting = this.greetings.get(socket);
    if (greeting) socket.emit('me.permissions', greeting);
    const bucket = new EventBucket(this.config.liveLimits);
    // Socket middleware runs for every incoming event, known or not, before any handler.
    socket.use((packet, next) => {
      const [event] = packet;
      const last: unknown = packet.length > 1 ? packet.at(-1) : undefined;
      const ack = typeof last === 'function' ? (last as (reply: Ack) => void) : null;
      const verdict = bucket.take();
      if (verdict !== 'pass') return this.refuse(socket, ack, bucket, verdict);
      if (!CLIENT_EVENTS.has(event))
        return ack?.(liveError('NOT_FOUND', `Unknown event ${String(event).slice(0, 60)}`));
      next();
    });
    socket.on('presence.enter', (data, ack) =>
      this.handle(
        socket,
        ack,
        presenceEnterSchema,
        data,
        (input) => (input.resource.startsWith('member:') ? 'users.view' : 'roles.view'),
        (input) => this.enterPresence(socket, input.resource as PresenceResource, input.editing),
      ),
    );
    socket.on('presence.leave', (data, ack) =>
      this.handle(socket, ack, presenceLeaveSchema, data, null, (input) =>
        this.leavePresence(socket, input.resource as PresenceResource),
      ),
    );
    socket.on('activity.subscribe', (data, ack) =>
      this.handle(
        socket,
        ack,
        activitySubscribeSchema,
        data,
        () => 'activity.view',
        (input) => this.subscribeActivity(socket, input),
      ),
    );
    socket.on('activity.unsubscribe', (data, ack) =>
      this.handle(socket, ack, null, data, null, async () => {
        await Promise.all([...socket.rooms].filter(isActivityRoom).map((room) => socket.leave(room)));
        return {};
      }),
    );
    socket.on('sync', (data, ack) =>
      this.handle(
        socket,
        ack,
        syncSchema,
        data,
        () => 'users.view',
        (input) => this.sync.since(socket.data.accountId, input.afterSeq),
      ),
    );
    socket.on('disconnecting', () => {
      const rooms = [...socket.rooms].filter(isPresenceRoom);
      setImmediate(() =>
        rooms.forEach((room) =>
          this.broadcastPresence(room).catch((error: unknown) =>
            this.logger.warn(`Presence of ${room} not sent: ${error instanceof Error ? error.message : String(error)}`),
          ),
        ),
      );
    });
  }

  /**
   * Over the bucket: answer RATE_LIMITED (or drop an event sent without an ack). A socket deep in
   * debt is cut: what it sends from then on is dropped unanswered, and it is disconnected once the
   * answers already under way (refusals from its cached standing settle within the tick) are out.
   */
  private refuse(
    socket: LiveSocket,
    ack: ((reply: Ack) => void) | null,
    bucket: EventBucket,
    verdict: Exclude<BucketVerdict, 'pass'>,
  ): void {
    if (this.cut.has(socket)) return;
    countRateLimited('liveEvents');
    ack?.(liveError('RATE_LIMITED', `Too many events; slow down and retry in ${bucket.retryAfterSeconds} s`));
    if (verdict !== 'cut') return;
    this.cut.add(socket);
    this.logger.warn(
      `Disconnecting a flooding socket (member ${socket.data.memberId}, session ${socket.data.sessionId})`,
    );
    const tokenHash = this.tokenHashes.get(socket);
    if (tokenHash)
      this.cooldowns
        .start(tokenHash)
        .catch((error: unknown) => this.logger.error(`Cool-down not recorded: ${String(error)}`));
    setImmediate(() => socket.disconnect(true));
  }

  /**
   * Validates the payload, checks the permission the event `needs`, runs the handler, and always
   * acknowledges (when the client asked). A refusal from the socket's cached standing is answered
   * right here, synchronously: no promise, no error object, no database.
   */
  private handle<S extends z.ZodType, R extends object>(
    socket: LiveSocket,
    ack: unknown,
    schema: S | null,
    data: unknown,
    needs: ((input: z.output<S>) => LiveKey) | null,
    work: (input: z.output<S>) => Promise<R>,
  ): void {
    const reply = typeof ack === 'function' ? (ack as (reply: Ack<R>) => void) : () => undefined;
    const parsed = schema ? schema.safeParse(data ?? {}) : { success: true as const, data: {} as z.output<S> };
    if (!parsed.success) {
      reply(
        liveError(
          'VALIDATION_FAILED',
          parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; '),
        ),
      );
      return;
    }
    const key = needs?.(parsed.data) ?? null;
    if (key && this.refusedFromCache(socket, key)) {
      reply(FORBIDDEN_ACKS[key]);
      return;
    }
    (key ? this.confirm(socket, key).then(() => work(parsed.data)) : work(parsed.data)).then(
      (result) => reply({ ok: true, ...result }),
      (error: unknown) => {
        if (error instanceof DomainError) {
          reply(liveError(error.code, error.message));
          // The answer goes out first, then the socket of an ended session is closed.
          if (error.code === 'SESSION_REVOKED') socket.disconnect(true);
        } else {
          this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
          reply(liveError('INTERNAL', 'Something went wrong on our side'));
        }
      },
    );
  }

  /**
   * Whether the socket's cached standing, while fresh, lacks the key: such an event is refused
   * without the database. Promotions and demotions are honoured on the very next event: they drop
   * the standing at commit (on this node synchronously, on others when Redis delivers the
   * invalidation, which is published before the change's `me.permissions` push).
   */
  private refusedFromCache(socket: LiveSocket, key: LiveKey): boolean {
    const cached = this.standing.get(socket);
    return cached !== undefined && !cached.keys.has(key) && this.clock.now().getTime() < cached.until;
  }

  /** A grant, or no fresh standing: reads the session and the member's set now, as the handshake did. */
  private async confirm(socket: LiveSocket, key: LiveKey): Promise<void> {
    if (!(await this.refresh(socket)).keys.has(key)) throw forbiddenLive(key);
  }

  /**
   * Reads the socket's session and permissions (one read at a time per socket); SESSION_REVOKED when
   * it can no longer be used. A session's socket is read as its handshake was (issue 18): by its
   * token's hash through `SessionsService.authenticateLive` — the same statement, batched with the
   * handshakes and confirmations arriving in the same turn (always a read made after this event
   * arrived; nothing kept between batches) and judged by the same checks, so whatever would refuse
   * its handshake now (signed out, revoked, expired, membership ended, SSO or 2FA now required)
   * refuses the event and closes the socket; its reconnection is then told why.
   */
  private async refresh(socket: LiveSocket): Promise<Standing> {
    let pending = this.refreshing.get(socket);
    if (!pending) {
      const since = this.beginRead();
      pending = (async () => {
        if (isKeySessionId(socket.data.sessionId)) {
          const key = await this.apiKeys.byKeyId(socket.data.sessionId.slice('key:'.length));
          if (!key) return null;
          return this.remember(socket, key.permissions.set, key.session, this.unchangedSince(key.member.id, since));
        }
        const tokenHash = this.tokenHashes.get(socket);
        if (!tokenHash) return null;
        let auth: LiveSessionAuth;
        try {
          auth = await this.sessions.authenticateLive(tokenHash);
        } catch (error) {
          // A refusal ends the socket; a read that failed (UNAVAILABLE, retried by clients) does not.
          if (error instanceof DomainError && error.code !== 'UNAVAILABLE') return null;
          throw error;
        }
        if (auth.session.id !== socket.data.sessionId) return null;
        const resolved = await this.permissions.resolve(auth.member, auth.account, auth.role);
        return this.remember(socket, resolved.set, auth.session, this.unchangedSince(auth.member.id, since));
      })().finally(() => {
        this.endRead();
        this.refreshing.delete(socket);
      });
      this.refreshing.set(socket, pending);
    }
    const standing = await pending;
    if (!standing) throw new DomainError('SESSION_REVOKED', 'This session has ended');
    return standing;
  }

  private beginRead(): number {
    this.reading += 1;
    return this.generation;
  }

  private endRead(): void {
    this.reading -= 1;
    if (this.reading === 0) this.invalidatedAt.clear();
  }

  private unchangedSince(memberId: string, since: number): boolean {
    return (this.invalidatedAt.get(memberId) ?? 0) <= since;
  }

  /** Caches a socket's standing until the session's own deadlines or the TTL, whichever is first. */
  private remember(
    socket: LiveSocket,
    keys: ReadonlySet<string>,
    session: Pick<SessionEntity, 'expiresAt' | 'lastSeenAt'>,
    trusted: boolean,
  ): Standing {
    const now = this.clock.now().getTime();
    const until = trusted
      ? Math.min(
          now + STANDING_TTL_MS,
          Date.parse(session.expiresAt),
          Date.parse(session.lastSeenAt) + this.config.sessionIdleMs,
        )
      : 0;
    const standing: Standing = { keys, until };
    this.standing.set(socket, standing);
    return standing;
  }

  /** Drops the cached standing of these members' sockets on this node. */
  private forget(memberIds: readonly string[]): void {
    this.generation += 1;
    if (this.reading > 0) for (const memberId of memberIds) this.invalidatedAt.set(memberId, this.generation);
    const namespace = this.server?.sockets;
    if (!namespace) return;
    for (const memberId of memberIds) {
      for (const socketId of namespace.adapter.rooms.get(Rooms.member(memberId)) ?? []) {
        const socket = namespace.sockets.get(socketId);
        if (socket) this.standing.delete(socket);
      }
    }
  }

  private async subscribeActivity(
    socket: LiveSocket,
    filter: z.output<typeof activitySubscribeSchema>,
  ): Promise<object> {
    await Promise.all([...socket.rooms].filter(isActivityRoom).map((room) => socket.leave(room)));
    const accountId = socket.data.accountId;
    const actions = filter.action?.length ? filter.action : [undefined];
    await socket.join([
      Rooms.activitySubscribers(accountId),
      ...actions.map((action) =>
        Rooms.activity(accountId, {
          ...(action ? { action } : {}),
          ...(filter.member ? { member: filter.member } : {}),
        }),
      ),
    ]);
    return {};
  }

  private async enterPresence(
    socket: LiveSocket,
    resource: PresenceResource,
    editing: boolean,
  ): Promise<{ viewers: PresenceViewer[] }> {
    socket.data.presence = { ...socket.data.presence, [resource]: editing };
    const room = Rooms.presence(socket.data.accountId, resource);
    await socket.join(room);
    const viewers = await this.broadcastPresence(room);
    return { viewers };
  }

  private async leavePresence(socket: LiveSocket, resource: PresenceResource): Promise<object> {
    const { [resource]: _left, ...rest } = socket.data.presence;
    socket.data.presence = rest;
    const room = Rooms.presence(socket.data.accountId, resource);
    // Leaving a page one is not on changes nothing: no broadcast (and no fetchSockets across nodes)
    // for anyone who sends presence.leave over and over, which needs no permission.
    if (!socket.rooms.has(room)) return {};
    await socket.leave(room);
    await this.broadcastPresence(room);
    return {};
  }

  /** Sends the room's current viewers (one entry per member, editing if any of their sockets is) to everyone in it. */
  private async broadcastPresence(room: string): Promise<PresenceViewer[]> {
    const resource = room.split(':').slice(2).join(':') as PresenceResource;
    let sockets: Awaited<ReturnType<ReturnType<LiveServer['in']>['fetchSockets']>>;
    try {
      sockets = await withTimeout(this.server.in(room).fetchSockets(), CROSS_NODE_TIMEOUT_MS, 'The other nodes');
    } catch (error) {
      // Asking the other nodes goes through Redis.
      throw new DomainError(
        'UNAVAILABLE',
        `Presence cannot be gathered right now: ${error instanceof Error ? error.message : String(error)}`,
        {
          retryAfterSeconds: CHANNEL_DOWN_RETRY_SECONDS,
        },
      );
    }
    const viewers = new Map<string, PresenceViewer>();
    for (const s of sockets) {
      const editing = s.data.presence?.[resource] ?? false;
      const known = viewers.get(s.data.memberId);
      viewers.set(s.data.memberId, {
        memberId: s.data.memberId,
        name: s.data.name,
        editing: editing || (known?.editing ?? false),
      });
    }
    const list = [...viewers.values()];
    this.server.to(room).emit('presence', { resource, viewers: list });
    return list;
  }
}
