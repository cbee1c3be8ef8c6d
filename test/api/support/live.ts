import type { ClientToServerEvents, ServerToClientEvents } from '@rolecall/contracts';
import { io, type Socket } from 'socket.io-client';

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A real socket.io-client, connected with a bearer token (no Origin, as a server-side client). */
export function connect(url: string, token: string | undefined, options: { origin?: string; cookie?: string } = {}): TestSocket {
  const headers: Record<string, string> = {};
  if (options.origin) headers['origin'] = options.origin;
  if (options.cookie) headers['cookie'] = options.cookie;
  return io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: token ? { token } : {},
    extraHeaders: headers,
  }) as TestSocket;
}

/**
 * Resolves once connected and greeted (every connection starts with `me.permissions`, reason
 * `connected`: a test waiting for the next push must not take the greeting for it); rejects with
 * the `connect_error` message (an error code).
 */
export function connected(socket: TestSocket): Promise<TestSocket> {
  const greeted = next(socket, 'me.permissions', (data) => data.reason === 'connected', 10_000);
  greeted.catch(() => undefined);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => greeted.then(() => resolve(socket), reject));
    socket.once('connect_error', (error) => reject(error));
  });
}

export async function open(url: string, token: string): Promise<TestSocket> {
  return connected(connect(url, token));
}

/** Everything a socket receives, in order, for assertions. */
export function recorder(socket: TestSocket): { events: { event: string; data: unknown }[] } {
  const log = { events: [] as { event: string; data: unknown }[] };
  socket.onAny((event: string, data: unknown) => log.events.push({ event, data }));
  return log;
}

/** The next `event` on `socket` (optionally matching), or a rejection after `ms`. */
export function next<E extends keyof ServerToClientEvents>(
  socket: TestSocket,
  event: E,
  match: (data: Parameters<ServerToClientEvents[E]>[0]) => boolean = () => true,
  ms = 3000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler as never);
      reject(new Error(`no ${String(event)} within ${ms} ms`));
    }, ms);
    const handler = (data: Parameters<ServerToClientEvents[E]>[0]) => {
      if (!match(data)) return;
      clearTimeout(timer);
      socket.off(event, handler as never);
      resolve(data);
    };
    socket.on(event, handler as never);
  });
}

export function disconnected(socket: TestSocket, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    if (socket.disconnected) return resolve('already');
    const timer = setTimeout(() => reject(new Error(`not disconnected within ${ms} ms`)), ms);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
