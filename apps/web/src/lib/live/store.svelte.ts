/**
 * The dashboard's live connection (libs/client over Socket.IO, authenticated by the session
 * cookie), and the one place that decides what a page must refetch or patch when something
 * changes. Pages never talk to the socket themselves: they `follow()` the store.
 *
 * What a follower is told, however its page was opened (navigation, a typed URL, a reload) and
 * whenever the viewer's own access changes:
 * - `event`: every account event, in seq order, missed ones replayed (libs/client) — to patch
 *   the rows the page shows;
 * - `reload`: everything the page shows may be stale — after a resync (too far behind to replay),
 *   after a reconnect (activity entries and presence are not replayed), and whenever the viewer's
 *   permissions changed, in either direction (a page loaded before a promotion got 403s;
 *   one loaded before a demotion must not keep showing what is no longer allowed).
 *
 * The signed-in member (`session.me`, what `GET /me` shows: role name, agent access, owner and
 * billing flags, the account's settings) is kept current here too: a `me.permissions` push applies
 * its keys at once (the nav follows within the frame) and `GET /me` is read again for the rest; so
 * are the account events about the viewer (their member, their role, the account).
 *
 * The activity stream (`activity.subscribe`) and presence (`presence.enter`/`leave`) are owned here
 * as well, and sent again on every (re)connection: the server forgets them with the socket. This is
 * the only module that touches the socket; pages read resources built on it (`./activity.svelte.ts`).
 *
 * libs/client and socket.io-client (~47 KB, a third of a page's script) are not part of any page's
 * first load (issue 21): `start()` imports them once the signed-in page has painted its content
 * (`afterFirstContent`), then connects.
 * Nothing is lost meanwhile: the account events after the seq of the `GET /me` the page loaded with
 * are replayed on the first gap (libs/client), and `GET /me` is read again once connected.
 */
import type { Live } from '@rolecall/client';
import { untrack } from 'svelte';
import type {
  AccountEvent,
  ActivityEntryDto,
  MeDto,
  PresenceResource,
  PresenceViewer,
  RevocationReason,
} from '@rolecall/contracts';
import { api } from '../api';
import { afterFirstContent } from '../after-paint';
import { loadMe, session } from '../session.svelte';
import { revocationReasonOf } from './revocation';

interface Follower {
  /** An account event (in seq order). */
  event?: (event: AccountEvent) => void;
  /** Read everything again (see the module comment for when). */
  reload?: () => void;
}

/** What the activity stream sends: only entries matching it (the page filters the rest). */
export interface ActivityFilter {
  action?: string[];
  member?: string;
}

/** This tab on a member or role page (`followPresence`): who else is there, and whether we are editing. */
export interface Presence {
  /** Announces whether this tab is editing (sent now if connected, and on every reconnection). */
  setEditing(editing: boolean): void;
  /** Leaves the resource. */
  leave(): void;
}

interface PresenceEntry {
  resource: PresenceResource;
  editing: boolean;
  onViewers: (viewers: PresenceViewer[]) => void;
}

class LiveState {
  connected = $state(false);
  /** Set when the server ended this session; the shell shows the signed-out screen. */
  revoked = $state<RevocationReason | null>(null);
  /** Reactive, so that effects reading it run again once the tab connects. */
  #live = $state.raw<Live | null>(null);
  #followers = new Set<Follower>();
  #activity: { filter: ActivityFilter; onEntry: (entry: ActivityEntryDto) => void } | null = null;
  #presence = new Set<PresenceEntry>();
  /** The permission set (and its version) the followers last loaded with. */
  #access = '';
  #meRefresh: Promise<void> | null = null;
  #meAgain = false;
  #connectedOnce = false;
  /** The import of libs/client in flight for `start()`; cleared by `stop()`, which cancels the connection. */
  #loading: Promise<void> | null = null;

  get client(): Live | null {
    return this.#live;
  }

  /** Connects once per signed-in tab. */
  start(me: MeDto): void {
    // Called from an effect, so nothing read here may become its dependency: reading the reactive
    // client would make `stop()` (after `me.revoked`) run that effect again and reconnect the
    // session that was just ended.
    untrack(() => this.#start(me));
  }

  #start(me: MeDto): void {
    if (this.#live || this.#loading) return;
    // A new signed-in session in this tab: whatever ended the previous one is over.
    this.revoked = null;
    this.#connectedOnce = false;
    this.#access = accessOf(me);
    const loading = afterFirstContent()
      .then(() => import('@rolecall/client'))
      .then(({ Live }) => {
        if (this.#loading !== loading) return; // stopped meanwhile
        this.#loading = null;
        this.#connect(new Live({ transports: ['websocket', 'polling'] }), me);
      })
      .catch(() => {
        // The script could not be loaded (offline): the next `start()` tries again.
        if (this.#loading === loading) this.#loading = null;
      });
    this.#loading = loading;
  }

  #connect(live: Live, me: MeDto): void {
    this.#live = live;
    live.socket.on('me.permissions', (push) => {
      // Every connection starts with the set as it stands (reason `connected`): nothing to do when
      // the tab already holds that version (no re-render of everything that reads `session.me`).
      if (push.reason === 'connected' && push.version === session.me?.permissions.version) return;
      const roleMoved = push.roleId !== session.me?.member.role.id;
      session.applyPermissions({ version: push.version, roleId: push.roleId, keys: new Set(push.keys) });
      this.#accessMayHaveChanged();
      // The new role's name comes with `me.updated` (sent first); read `GET /me` only if it did not.
      if (roleMoved && push.roleId !== session.me?.member.role.id) this.refreshMe();
    });
    live.on('me.updated', (update) => session.applyUpdate(update));
    live.on('me.revoked', ({ reason }) => this.end(reason));
    live.onAccountEvent((event) => {
      this.#applyToViewer(event);
      for (const follower of this.#followers) follower.event?.(event);
    });
    live.onResync(() => this.#reloadAll());
    live.on('activity.appended', ({ entry }) => this.#activity?.onEntry(entry));
    live.on('presence', ({ resource, viewers }) => {
      for (const entry of this.#presence) if (entry.resource === resource) entry.onViewers(viewers);
    });
    live.socket.on('connect', () => {
      this.connected = true;
      this.#sendActivitySubscription();
      for (const entry of this.#presence) this.#enter(entry);
      // What was missed while not connected is replayed for account events (libs/client), not for
      // the member's own (`me.updated`: a new role's name, a profile change). So `GET /me` is read
      // again on every connection, the first included: the page's snapshot was read before the
      // socket connected, which is after the first paint (issue 21) — a role changed in between
      // showed its new permissions under the old role's name (scim.spec).
      this.refreshMe();
      if (this.#connectedOnce) this.#reloadAll();
      this.#connectedOnce = true;
    });
    live.socket.on('disconnect', () => (this.connected = false));
    // A (re)connection refused because the session ended while this tab was not connected
    // (`me.revoked` went to nobody): the refusal says why. One refused without a reason (the session
    // expired meanwhile) is not tried again by Socket.IO, so the tab would sit on what it last showed:
    // a request asks the API, whose 401 takes the way of any other (the layout's sign-in).
    live.socket.on('connect_error', (error: Error & { data?: { details?: Record<string, unknown> } }) => {
      if (this.#live !== live || (error.message !== 'SESSION_REVOKED' && error.message !== 'UNAUTHENTICATED')) return;
      const reason = revocationReasonOf(error.data?.details);
      if (reason) this.end(reason);
      else api.get('/me').catch(() => undefined);
    });
    live.connect(me).catch(() => (this.connected = false));
  }

  /** The server ended this session, for `reason`: the shell shows why, and nothing reconnects. */
  end(reason: RevocationReason): void {
    this.revoked = reason;
    this.stop();
  }

  stop(): void {
    this.#loading = null;
    this.#live?.disconnect();
    this.#live = null;
    this.connected = false;
  }

  /** Follows the account as long as the returned function is not called (use it in an `$effect`). */
  follow(follower: Follower): () => void {
    this.#followers.add(follower);
    return () => this.#followers.delete(follower);
  }

  /**
   * The activity stream with `filter` (one per tab: a newer call replaces it); entries arrive in
   * `onEntry`. Sent now if connected and again on every reconnection. Returns the unsubscribe.
   */
  followActivity(filter: ActivityFilter, onEntry: (entry: ActivityEntryDto) => void): () => void {
    const subscription = { filter, onEntry };
    this.#activity = subscription;
    // Untracked: called from a page's effect, whose reading of the reactive client would make the
    // client's arrival (after the first paint) run that effect again — `/activity` read its first
    // page twice and rendered every row again (issue 21). The store sends it on connecting itself.
    untrack(() => this.#sendActivitySubscription());
    return () => {
      if (this.#activity !== subscription) return;
      this.#activity = null;
      const socket = this.#live?.socket;
      if (socket?.connected) socket.emitWithAck('activity.unsubscribe', {}).catch(() => undefined);
    };
  }

  /**
   * Presence on a member or role page: entered now (if connected) and again on every
   * reconnection; `onViewers` gets the room's viewer list whenever it changes (everyone, this tab
   * included: the caller leaves itself out).
   */
  followPresence(
    resource: PresenceResource,
    editing: boolean,
    onViewers: (viewers: PresenceViewer[]) => void,
  ): Presence {
    const entry: PresenceEntry = { resource, editing, onViewers };
    this.#presence.add(entry);
    // Untracked, as `followActivity` (the caller's effect must not follow the client's arrival).
    untrack(() => this.#enter(entry));
    return {
      setEditing: (next) => {
        if (next === entry.editing || !this.#presence.has(entry)) return;
        entry.editing = next;
        untrack(() => this.#enter(entry));
      },
      leave: () => {
        if (!this.#presence.delete(entry)) return;
        const socket = this.#live?.socket;
        if (socket?.connected) socket.emitWithAck('presence.leave', { resource }).catch(() => undefined);
      },
    };
  }

  #enter(entry: PresenceEntry): void {
    const socket = this.#live?.socket;
    if (!socket?.connected) return;
    socket
      .emitWithAck('presence.enter', { resource: entry.resource, editing: entry.editing })
      .then((reply) => {
        if (reply.ok && this.#presence.has(entry)) entry.onViewers(reply.viewers);
      })
      // Presence is a courtesy: a failed enter only means others don't see us this time.
      .catch(() => undefined);
  }

  /** Reads `GET /me` again (one request at a time; a request asked for meanwhile runs once after it). */
  refreshMe(): void {
    if (this.#meRefresh) {
      this.#meAgain = true;
      return;
    }
    this.#meRefresh = (async () => {
      try {
        do {
          this.#meAgain = false;
          await loadMe().catch(() => undefined);
          this.#accessMayHaveChanged();
        } while (this.#meAgain && this.#live);
      } finally {
        this.#meRefresh = null;
      }
    })();
  }

  /** An account event about the viewer (seen by holders of `users.view`; others get `me.updated`). */
  #applyToViewer(event: AccountEvent): void {
    const me = session.me;
    if (!me) return;
    if (event.event === 'user.upserted' && event.data.member.id === me.member.id)
      session.applyUpdate({ member: event.data.member });
    if (event.event === 'role.upserted' && event.data.role.id === me.member.role.id)
      session.applyUpdate({ role: event.data.role });
    if (event.event === 'account.updated') {
      session.applyAccount(event.data.account);
      // Whether this session may go on without 2FA is the server's to say.
      if (event.data.account.require2fa && !me.person.twoFactorEnabled) this.refreshMe();
    }
  }

  #sendActivitySubscription(): void {
    const socket = this.#live?.socket;
    if (!this.#activity || !socket?.connected) return;
    socket.emitWithAck('activity.subscribe', this.#activity.filter).catch(() => undefined);
  }

  /** Tells the followers to reload once the viewer's permissions (or role) differ from what they loaded with. */
  #accessMayHaveChanged(): void {
    const me = session.me;
    if (!me) return;
    const access = accessOf(me);
    if (access === this.#access) return;
    this.#access = access;
    this.#reloadAll();
  }

  #reloadAll(): void {
    for (const follower of this.#followers) follower.reload?.();
  }
}

/** What a page's data depends on about the viewer: their permission set. */
function accessOf(me: MeDto): string {
  return `${me.permissions.version}:${[...me.permissions.keys].sort().join(',')}`;
}

export const live = new LiveState();
