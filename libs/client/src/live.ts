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

const ACCOUNT_EVENTS: readonly AccountEventName[] = [
  'user.upserted',
  'user.removed',
  'role.upserted',
  'role.removed',
  'roles.reordered',
  'account.updated',
  'team.upserted',
  'team.removed',
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
 * and a client too far behind is told to reload (`onResync`).
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

  constructor(options: LiveOptions = {}) {
    this.socket = io(options.baseUrl ?? '', {
      autoConnect: false,
      withCredentials: true,
      transports: options.transports ?? ['websocket', 'polling'],
      ...(options.token ? { auth: { token: options.token } } : {}),
    });
    this.socket.on('me.permissions', (data) => {
      if (data.version >= this.permissions.version) this.setPermissions({ version: data.version, roleId: data.roleId, keys: new Set(data.keys) });
    });
    for (const name of ACCOUNT_EVENTS) {
      this.socket.on(name as 'user.removed', (data: { seq: number }) => this.onAccountEvent({ event: name, data } as AccountEvent));
    }
    this.socket.io.on('reconnect', () => void this.catchUp());
  }

  /** Connects; resolves once the handshake is accepted, rejects with the error code otherwise. */
  connect(initial?: Pick<MeDto, 'permissions' | 'member' | 'account'>): Promise<void> {
    if (initial) {
      this.setPermissions({ version: initial.permissions.version, roleId: initial.member.role.id, keys: new Set(initial.permissions.keys) });
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
    if (this.lastSeq !== null && seq > this.lastSeq + 1) {
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
        const reply = await this.socket.emitWithAck('sync', { afterSeq: this.lastSeq! });
        if (!reply.ok) return;
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
  const data = event.data as { id?: string; member?: { id: string }; role?: { id: string }; team?: { id: string }; account?: { id: string } };
  return `${event.event}:${data.id ?? data.member?.id ?? data.role?.id ?? data.team?.id ?? data.account?.id ?? ''}`;
}
