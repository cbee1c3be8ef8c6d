/**
 * The dashboard's live connection (libs/client over Socket.IO, authenticated by the session
 * cookie): the signed-in member's permissions follow `me.permissions` as it arrives, `me.revoked`
 * ends the session with its reason, and pages subscribe to account events (in seq order, missed
 * ones replayed) to update their lists without a reload.
 */
import { Live } from '@rolecall/client';
import type { AccountEvent, MeDto, RevocationReason } from '@rolecall/contracts';
import { session } from './session.svelte';

type AccountListener = (event: AccountEvent) => void;

class LiveState {
  connected = $state(false);
  /** Set when the server ended this session; the shell shows the signed-out screen. */
  revoked = $state<RevocationReason | null>(null);
  #live: Live | null = null;
  #listeners = new Set<AccountListener>();
  #resyncListeners = new Set<() => void>();

  get client(): Live | null {
    return this.#live;
  }

  /** Connects once per signed-in tab. */
  start(me: MeDto): void {
    if (this.#live) return;
    // A new signed-in session in this tab: whatever ended the previous one is over.
    this.revoked = null;
    const live = new Live({ transports: ['websocket', 'polling'] });
    this.#live = live;
    live.subscribePermissions((state) => {
      if (state.version > 0) session.applyPermissions(state);
    });
    live.on('me.revoked', ({ reason }) => {
      this.revoked = reason;
      this.stop();
    });
    live.onAccountEvent((event) => this.#listeners.forEach((listener) => listener(event)));
    live.onResync(() => this.#resyncListeners.forEach((listener) => listener()));
    live.socket.on('connect', () => (this.connected = true));
    live.socket.on('disconnect', () => (this.connected = false));
    live.connect(me).catch(() => (this.connected = false));
  }

  stop(): void {
    this.#live?.disconnect();
    this.#live = null;
    this.connected = false;
  }

  /** Account events for a page; returns the unsubscribe function (use it in an `$effect`). */
  onAccountEvent(listener: AccountListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Too far behind to replay: the page should reload its data. */
  onResync(listener: () => void): () => void {
    this.#resyncListeners.add(listener);
    return () => this.#resyncListeners.delete(listener);
  }
}

export const live = new LiveState();

/** Human words for why a session ended. */
export const REVOCATION_MESSAGES: Record<RevocationReason, string> = {
  member_revoked: 'An admin removed your access to this account.',
  member_deleted: 'Your membership of this account was deleted.',
  session_ended: 'This session was ended from another device.',
  signed_out: 'You signed out.',
  ended_by_admin: 'An admin signed you out of this account.',
  sso_enforced: 'This account now requires single sign-on. Sign in again with your company login.',
  email_claimed:
    'The owner of this email address confirmed it and took this login over. If that was not you, sign up again with an address you control.',
  password_reset: 'Your password was reset, which signs you out everywhere. Sign in with the new password.',
  two_factor_reset:
    'An admin reset your two-factor authentication. Choose a new password through the link we mailed you, then set up two-factor authentication again.',
};
