import { Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
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
} from '@rolecall/contracts';
import { parse as parseCookie } from 'cookie';
import type { z } from 'zod';
import { SESSION_COOKIE } from '../auth/request-auth.js';
import { DomainError } from '../common/domain-error.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { PermissionsService } from '../permissions/permissions.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { LiveSync } from './live-sync.service.js';
import { isActivityRoom, isPresenceRoom, Rooms, type LiveServer, type LiveSocket } from './live.types.js';

const TOKEN = /^[A-Za-z0-9_-]{20,200}$/;

function liveError(code: ErrorCode, message: string): Ack<never> {
  return { ok: false, error: { code, message } };
}

/**
 * The Socket.IO gateway (same port, default path). The namespace middleware authenticates every
 * handshake (token in `auth.token` or the session cookie; never the query string), checks the
 * Origin, and puts the socket in its session, member and — for `users.view` holders — account rooms.
 */
@WebSocketGateway()
export class LiveGateway implements OnGatewayInit<LiveServer>, OnGatewayConnection<LiveSocket>, OnModuleDestroy {
  private readonly logger = new Logger(LiveGateway.name);
  @WebSocketServer() server!: LiveServer;

  constructor(
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
    @Inject(LiveSync) private readonly sync: LiveSync,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  afterInit(server: LiveServer): void {
    server.use((socket, next) => {
      this.authenticate(socket).then(
        () => next(),
        (error: unknown) => {
          const code = error instanceof DomainError ? error.code : 'UNAUTHENTICATED';
          next(Object.assign(new Error(code), { data: { code, message: error instanceof Error ? error.message : 'Refused' } }));
        },
      );
    });
  }

  onModuleDestroy(): void {
    this.server?.disconnectSockets(true);
  }

  /** Origin, token, session and membership; on success the socket's data and rooms are set. */
  private async authenticate(socket: LiveSocket): Promise<void> {
    const origin = socket.handshake.headers.origin;
    const authToken = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (origin !== undefined && !this.config.allowedOrigins.includes(origin)) {
      throw new DomainError('FORBIDDEN', `Origin ${origin} is not allowed`);
    }
    let token: string | null = null;
    if (typeof authToken === 'string') token = authToken;
    else if (origin !== undefined) {
      // Browsers send the HttpOnly cookie; a client without an Origin must present a bearer token.
      const cookie = socket.handshake.headers.cookie;
      token = cookie ? (parseCookie(cookie)[SESSION_COOKIE] ?? null) : null;
    }
    if (!token || !TOKEN.test(token)) throw new DomainError('UNAUTHENTICATED', 'Sign in to continue');
    const auth = await this.sessions.authenticate(token);
    const permissions = await this.permissions.resolve(auth.member, auth.account);
    socket.data = {
      sessionId: auth.session.id,
      personId: auth.person.id,
      memberId: auth.member.id,
      accountId: auth.account.id,
      name: auth.person.name,
      presence: {},
    };
    await socket.join([Rooms.session(auth.session.id), Rooms.member(auth.member.id)]);
    if (permissions.set.has('users.view')) await socket.join(Rooms.account(auth.account.id));
  }

  handleConnection(socket: LiveSocket): void {
    socket.on('presence.enter', (data, ack) => this.handle(ack, presenceEnterSchema, data, (input) => this.enterPresence(socket, input.resource as PresenceResource, input.editing)));
    socket.on('presence.leave', (data, ack) => this.handle(ack, presenceLeaveSchema, data, (input) => this.leavePresence(socket, input.resource as PresenceResource)));
    socket.on('activity.subscribe', (data, ack) => this.handle(ack, activitySubscribeSchema, data, (input) => this.subscribeActivity(socket, input)));
    socket.on('activity.unsubscribe', (data, ack) => this.handle(ack, null, data, async () => {
      await Promise.all([...socket.rooms].filter(isActivityRoom).map((room) => socket.leave(room)));
      return {};
    }));
    socket.on('sync', (data, ack) => this.handle(ack, syncSchema, data, async (input) => {
      await this.requirePermission(socket, 'users.view');
      return this.sync.since(socket.data.accountId, input.afterSeq);
    }));
    socket.onAny((event: string, ...args: unknown[]) => {
      const known = ['presence.enter', 'presence.leave', 'activity.subscribe', 'activity.unsubscribe', 'sync'];
      const ack = args.at(-1);
      if (!known.includes(event) && typeof ack === 'function') (ack as (reply: Ack) => void)(liveError('NOT_FOUND', `Unknown event ${String(event).slice(0, 60)}`));
    });
    socket.on('disconnecting', () => {
      const rooms = [...socket.rooms].filter(isPresenceRoom);
      setImmediate(() => rooms.forEach((room) => void this.broadcastPresence(room)));
    });
  }

  /** Validates the payload, runs the handler, and always acknowledges (when the client asked). */
  private handle<S extends z.ZodType, R extends object>(ack: unknown, schema: S | null, data: unknown, work: (input: z.output<S>) => Promise<R>): void {
    const reply = typeof ack === 'function' ? (ack as (reply: Ack<R>) => void) : () => undefined;
    const parsed = schema ? schema.safeParse(data ?? {}) : { success: true as const, data: {} as z.output<S> };
    if (!parsed.success) {
      reply(liveError('VALIDATION_FAILED', parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ')));
      return;
    }
    work(parsed.data).then(
      (result) => reply({ ok: true, ...result }),
      (error: unknown) => {
        if (error instanceof DomainError) reply(liveError(error.code, error.message));
        else {
          this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
          reply(liveError('INTERNAL', 'Something went wrong on our side'));
        }
      },
    );
  }

  /** Re-checks the session and a permission now (not from the handshake). */
  private async requirePermission(socket: LiveSocket, key: 'users.view' | 'roles.view' | 'activity.view'): Promise<void> {
    const keys = await this.currentKeys(socket);
    if (!keys.has(key)) throw new DomainError('FORBIDDEN', `This needs ${key}`);
  }

  private async currentKeys(socket: LiveSocket): Promise<ReadonlySet<string>> {
    const session = await this.sessions.byId(socket.data.sessionId);
    if (!session) {
      socket.disconnect(true);
      throw new DomainError('SESSION_REVOKED', 'This session has ended');
    }
    return (await this.permissions.resolve(session.member, session.account)).set;
  }

  private async subscribeActivity(socket: LiveSocket, filter: z.output<typeof activitySubscribeSchema>): Promise<object> {
    await this.requirePermission(socket, 'activity.view');
    await Promise.all([...socket.rooms].filter(isActivityRoom).map((room) => socket.leave(room)));
    const accountId = socket.data.accountId;
    const actions = filter.action?.length ? filter.action : [undefined];
    await socket.join([
      Rooms.activitySubscribers(accountId),
      ...actions.map((action) => Rooms.activity(accountId, { ...(action ? { action } : {}), ...(filter.member ? { member: filter.member } : {}) })),
    ]);
    return {};
  }

  private async enterPresence(socket: LiveSocket, resource: PresenceResource, editing: boolean): Promise<{ viewers: PresenceViewer[] }> {
    await this.requirePermission(socket, resource.startsWith('member:') ? 'users.view' : 'roles.view');
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
    await socket.leave(room);
    await this.broadcastPresence(room);
    return {};
  }

  /** Sends the room's current viewers (one entry per member, editing if any of their sockets is) to everyone in it. */
  private async broadcastPresence(room: string): Promise<PresenceViewer[]> {
    const resource = room.split(':').slice(2).join(':') as PresenceResource;
    const sockets = await this.server.in(room).fetchSockets();
    const viewers = new Map<string, PresenceViewer>();
    for (const s of sockets) {
      const editing = s.data.presence?.[resource] ?? false;
      const known = viewers.get(s.data.memberId);
      viewers.set(s.data.memberId, { memberId: s.data.memberId, name: s.data.name, editing: editing || (known?.editing ?? false) });
    }
    const list = [...viewers.values()];
    this.server.to(room).emit('presence', { resource, viewers: list });
    return list;
  }
}
