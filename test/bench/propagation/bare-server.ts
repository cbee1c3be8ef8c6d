import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type ServerOptions } from 'socket.io';
import { MAX_SOCKET_MESSAGE } from '../../../apps/api/src/live/live-io.adapter.js';

/**
 * The baseline: a plain Socket.IO server (no Nest, no database, no auth beyond a Map lookup) with
 * the API's server options (`LiveIoAdapter`), the same rooms (`session:<id>`, `member:<id>`, and
 * `account:<id>` for dashboards), and tiny HTTP handlers that emit the very payloads the API sent,
 * to the same rooms, one emit per room as the API does:
 *   POST /bare/role-change  `user.upserted` to the account, `me.permissions` to the member
 *   POST /bare/role-edit    `role.upserted` to the account, `me.permissions` to each holder
 *   POST /bare/revoke       `user.upserted` to the account, `me.revoked` + disconnect per session
 */

interface BareSocketInfo {
  sessionId: string;
  memberId: string;
  dashboard: boolean;
}

export interface BareInput {
  accountId: string;
  byToken: Map<string, BareSocketInfo>;
  roleHolders: string[];
  sessionsOf: Map<string, string[]>;
}

export interface BareServer {
  url: string;
  io: Server;
  close(): Promise<void>;
}

/** The options `LiveIoAdapter.createIOServer` gives the API's server (no CORS: no extra origins). */
export const LIVE_SERVER_OPTIONS: Partial<ServerOptions> = {
  serveClient: false,
  maxHttpBufferSize: MAX_SOCKET_MESSAGE,
  perMessageDeflate: false,
  httpCompression: false,
};

function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      } catch (error) {
        reject(error as Error);
      }
    });
    request.on('error', reject);
  });
}

export async function startBareServer(input: BareInput): Promise<BareServer> {
  const account = `account:${input.accountId}`;
  const http = createServer();
  const io = new Server(http, LIVE_SERVER_OPTIONS);
  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token;
    const info = typeof token === 'string' ? input.byToken.get(token) : undefined;
    if (!info) return next(new Error('UNAUTHENTICATED'));
    socket.data = info;
    socket.join([`session:${info.sessionId}`, `member:${info.memberId}`]);
    if (info.dashboard) socket.join(account);
    next();
  });

  const handlers: Record<string, (body: Record<string, unknown>) => void> = {
    '/bare/role-change': (body) => {
      io.to(account).emit('user.upserted', body['upserted']);
      io.to(`member:${body['memberId'] as string}`).emit('me.permissions', body['permissions']);
    },
    '/bare/role-edit': (body) => {
      io.to(account).emit('role.upserted', body['role']);
      const permissions = body['permissions'] as Record<string, unknown>;
      for (const memberId of input.roleHolders) io.to(`member:${memberId}`).emit('me.permissions', { ...permissions });
    },
    '/bare/revoke': (body) => {
      io.to(account).emit('user.upserted', body['upserted']);
      for (const sessionId of input.sessionsOf.get(body['memberId'] as string) ?? []) {
        io.to(`session:${sessionId}`).emit('me.revoked', { reason: 'member_revoked' });
        io.in(`session:${sessionId}`).disconnectSockets(true);
      }
    },
  };

  http.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const handler = request.method === 'POST' ? handlers[request.url ?? ''] : undefined;
    if (!handler) {
      // Socket.IO answers its own path; everything else is ours.
      if (!request.url?.startsWith('/socket.io/')) response.writeHead(404).end();
      return;
    }
    readJson(request).then(
      (body) => {
        handler(body);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      },
      () => response.writeHead(400).end(),
    );
  });

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    io,
    close: () =>
      new Promise<void>((resolve) => {
        io.disconnectSockets(true);
        void io.close(() => resolve());
      }),
  };
}
