import type {
  AccountEvent,
  AccountEventName,
  ClientToServerEvents,
  MeDto,
  PermissionKey,
  ServerToClientEvents,
} from '@rolecall/contracts';
import { io, type Socket } from 'socket.io-client';

export interface PermissionState {
  version: number;
  roleId: string | null;
  keys: ReadonlySet<PermissionKey>;
}

type Listener<T> = (value: T) => void;

/**
 * What the live layer needs from "who am I": `GET /me` for people, `GET /service-accounts/self` for
 * an API key (both have this shape).
 */
export type WhoAmI = Pick<MeDto, 'permissions'> & { member: { role: { id: string } }; account: { activitySeq: number } };

/** API keys start with `rck_` and read `/service-accounts/self`; sessions read `/me`. */
export const whoAmIPath = (token: string | undefined): string => (token?.startsWith('rck_') ? '/service-accounts/self' : '/me');

/**
 * A handshake refused with `RATE_LIMITED` (too many connections from this address, or this session
 * has too many sockets open) is tried again after a backoff: 1 s, doubling to 60 s, jittered so that
 * clients refused together do not come back together, and never before the server's
 * `retryAfterSeconds`. Socket.IO itself never retries a refusal by the server.
 *
 * `UNAVAILABLE` (the server lost its cross-node channel, Redis, and cannot promise live updates)
 * is retried the same way but capped at 10 s: it ends when Redis returns, and the client should be
 * back soon after.
 */
const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 60_000;
const RETRY_UNAVAILABLE_MAX_MS = 10_000;
const RETRIED: Readonly<Record<string, number>> = { RATE_LIMITED: RETRY_MAX_MS, UNAVAILABLE: RETRY_UNAVAILABLE_MAX_MS };

const ACCOUNT_EVENTS: readonly AccountEventName[] = [
  'user.upserted',
  'user.removed',
  'role.upserted',
  'role.removed',
  'roles.reordered',
  'account.updated',
  'team.upserted',
  'team.removed',
  'users.bulk',
];

export interface LiveOptions {
  baseUrl?: string;
  token?: string;
  /** Socket.IO transports; `['websocket']` avoids sticky sessions behind a load balancer. */
  transports?: ('websocket' | 'polling')[];
}

/**
 * The live subscription: typed events, the signed-in member's permission set as it changes
 * (`can()`, `subscribePermissions()`), and gap-free account events — each carries the `seq` of its
 * activity entry; a jump in `seq` (or a reconnect) asks the server for what was missed (`sync`),
 * and a client too far behind is told to reload (`onResync`). Every connection, first or not,
 * starts with the server's `me.permissions` (reason `connected`): a change pushed while the
 * connection was down is applied on reconnect with no request of the client's own that could fail
 * (issue 18: a reconnect storm after a node loss left sessions whose `GET /me` had failed stale).
 *
 * A server that loses Redis closes its sockets' connections (Socket.IO reconnects by itself) and
 * refuses handshakes `UNAVAILABLE` until it is back: this client keeps trying, then catches up.
 */
export class Live {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private permissions: PermissionState = { version: 0, roleId: null, keys: new Set() };
  private readonly permissionListeners = new Set<Listener<PermissionState>>();
  private readonly accountListeners = new Set<Listener<AccountEvent>>();
  private readonly resyncListeners = new Set<Listener<void>>();
  private lastSeq: number | null = null;
  /** Events already delivered with `lastSeq`: one change can send several (a transfer: the account and two members). */
  private deliveredAtLastSeq = new Set<string>();
  private syncing: Promise<void> | null = null;
  /** Set by `connect()`, cleared by `disconnect()`: whether a refused handshake should be tried again. */
  private wanted = false;
  private connectedOnce = false;
  private refusals = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(options: LiveOptions = {}) {
    this.socket = io(options.baseUrl ?? '', {
      autoConnect: false,
      withCredentials: true,
      transports: options.transports ?? ['websocket', 'polling'],
      ...(options.token ? { auth: { token: options.token } } : {}),
    });
    this.socket.on('me.permissions', (data) => {
      if (data.version >= this.permissions.version)
        this.setPermissions({ version: data.version, roleId: data.roleId, keys: new Set(data.keys) });
    });
    for (const name of ACCOUNT_EVENTS) {
      this.socket.on(name as 'user.removed', (data: { seq: number }) =>
        this.onAccountEvent({ event: name, data } as AccountEvent),
      );
    }
    // Every connection after the first (Socket.IO's own reconnects and ours after a refusal) catches up.
    this.socket.on('connect', () => {
      this.refusals = 0;
      if (this.connectedOnce) void this.catchUp();
      this.connectedOnce = true;
    });
    this.socket.on('connect_error', (error) => this.retryLater(error));
  }

  private retryLater(error: Error & { data?: { details?: { retryAfterSeconds?: unknown } } }): void {
    const maxMs = RETRIED[error.message];
    if (maxMs === undefined || !this.wanted || this.retryTimer) return;
    const hint = error.data?.details?.retryAfterSeconds;
    const hintMs = typeof hint === 'number' && hint > 0 ? hint * 1000 : 0;
    const backoffMs = Math.min(maxMs, RETRY_BASE_MS * 2 ** this.refusals);
    const delay = Math.max(hintMs + Math.random() * RETRY_BASE_MS, backoffMs * (0.5 + Math.random()));
    this.refusals += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.wanted && !this.socket.connected) this.socket.connect();
    }, delay);
  }

  /**
   * Connects; resolves once the handshake is accepted, rejects with the error code otherwise. After a
   * `RATE_LIMITED` refusal it keeps trying in the background (see RETRY_BASE_MS) until `disconnect()`;
   * the socket's `connect` event tells when it got in.
   */
  connect(initial?: WhoAmI): Promise<void> {
    this.wanted = true;
    if (initial) {
      this.setPermissions({
        version: initial.permissions.version,
        roleId: initial.member.role.id,
        keys: new Set(initial.permissions.keys),
      });
      this.lastSeq = initial.account.activitySeq;
    }
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        this.socket.off('connect_error', onError);
        resolve();
      };
      const onError = (error: Error) => {
        this.socket.off('connect', onConnect);
        reject(error);
      };
      this.socket.once('connect', onConnect);
      this.socket.once('connect_error', onError);
      this.socket.connect();
    });
  }

  disconnect(): void {
    this.wanted = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.socket.disconnect();
  }

  /** Typed subscription to any server event; returns the unsubscribe function. */
  on<E extends keyof ServerToClientEvents>(event: E, handler: ServerToClientEvents[E]): () => void {
    this.socket.on(event, handler as never);
    return () => this.socket.off(event, handler as never);
  }

  can(key: PermissionKey): boolean {
    return this.permissions.keys.has(key);
  }

  get currentPermissions(): PermissionState {
    return this.permissions;
  }

  /** Calls `listener` now and whenever the permission set changes. */
  subscribePermissions(listener: Listener<PermissionState>): () => void {
    this.permissionListeners.add(listener);
    listener(this.permissions);
    return () => this.permissionListeners.delete(listener);
  }

  /** Account events in seq order, missed ones replayed first. */
  onAccountEvent(listener: Listener<AccountEvent>): () => void;
  onAccountEvent(event: AccountEvent): void;
  onAccountEvent(arg: Listener<AccountEvent> | AccountEvent): (() => void) | void {
    if (typeof arg === 'function') {
      this.accountListeners.add(arg);
      return () => this.accountListeners.delete(arg);
    }
    void this.receive(arg);
  }

  /** Called when the client is too far behind to replay: reload the lists. */
  onResync(listener: Listener<void>): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  private setPermissions(state: PermissionState): void {
    this.permissions = state;
    for (const listener of this.permissionListeners) listener(state);
  }

  private async receive(event: AccountEvent): Promise<void> {
    if (this.syncing) await this.syncing;
    const seq = event.data.seq;
    if (this.seen(event)) return; // already delivered (e.g. replayed by a sync)
    // A bulk action's part covers the entries `fromSeq`..`seq`: a gap only if it starts past the next one.
    const first = event.event === 'users.bulk' ? event.data.fromSeq : seq;
    if (this.lastSeq !== null && first > this.lastSeq + 1) {
      await this.catchUp();
      if (this.seen(event)) return;
    }
    this.deliver(event);
  }

  private seen(event: AccountEvent): boolean {
    if (this.lastSeq === null) return false;
    if (event.data.seq < this.lastSeq) return true;
    return event.data.seq === this.lastSeq && this.deliveredAtLastSeq.has(eventKey(event));
  }

  private deliver(event: AccountEvent): void {
    if (this.lastSeq === null || event.data.seq > this.lastSeq) {
      this.lastSeq = event.data.seq;
      this.deliveredAtLastSeq = new Set();
    }
    this.deliveredAtLastSeq.add(eventKey(event));
    for (const listener of this.accountListeners) listener(event);
  }

  /** Asks for the events after the last one seen and delivers them in order. */
  private catchUp(): Promise<void> {
    if (this.lastSeq === null || !this.socket.connected) return Promise.resolve();
    this.syncing ??= (async () => {
      try {
        // The connection can drop while the ack is awaited: the next connect catches up again.
        const reply = await this.socket.emitWithAck('sync', { afterSeq: this.lastSeq! }).catch(() => null);
        if (!reply?.ok) return;
        if ('resync' in reply) {
          this.lastSeq = null;
          for (const listener of this.resyncListeners) listener();
          return;
        }
        for (const event of reply.events) if (!this.seen(event)) this.deliver(event);
        if (reply.seq > (this.lastSeq ?? 0)) {
          this.lastSeq = reply.seq;
          this.deliveredAtLastSeq = new Set();
        }
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }
}

/** Which resource an account event is about, to tell apart several events of one seq. */
function eventKey(event: AccountEvent): string {
  const data = event.data as {
    id?: string;
    member?: { id: string };
    role?: { id: string };
    team?: { id: string };
    account?: { id: string };
  };
  if (event.event === 'users.bulk') return `users.bulk:${event.data.bulkId}:${event.data.fromSeq}`;
  return `${event.event}:${data.id ?? data.member?.id ?? data.role?.id ?? data.team?.id ?? data.account?.id ?? ''}`;
}
