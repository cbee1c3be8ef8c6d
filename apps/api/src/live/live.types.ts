import type { ClientToServerEvents, PresenceResource, ServerToClientEvents } from '@rolecall/contracts';
import type { Server, Socket } from 'socket.io';

/** What the handshake stores on each socket (readable from every node through the adapter). */
interface SocketData {
  sessionId: string;
  personId: string;
  memberId: string;
  accountId: string;
  name: string | null;
  /** Presence resources this socket is on, with its editing flag. */
  presence: Partial<Record<PresenceResource, boolean>>;
}

export type LiveServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** Room names: one per session, member and account; presence and activity rooms are per account. */
export const Rooms = {
  session: (id: string) => `session:${id}`,
  member: (id: string) => `member:${id}`,
  account: (id: string) => `account:${id}`,
  presence: (accountId: string, resource: PresenceResource) => `presence:${accountId}:${resource}`,
  /** Activity subscribers: everything, one action, one member, or one member × one action. */
  activity: (accountId: string, filter: { action?: string; member?: string } = {}) =>
    `activity:${accountId}${filter.member ? `:member:${filter.member}` : ''}${filter.action ? `:action:${filter.action}` : ''}`,
  /** Every activity subscriber of the account, whatever its filter (an activity room: left on unsubscribe). */
  activitySubscribers: (accountId: string) => `activity:${accountId}:subscribers`,
} as const;

export const isActivityRoom = (room: string): boolean => room.startsWith('activity:');
export const isPresenceRoom = (room: string): boolean => room.startsWith('presence:');
