// One node of the bare baseline cluster of the scale-out benchmark, in a process of its own (forked
// by scale-out.bench-run.ts, three of them): a plain Socket.IO server with the API's server options
// (sent by the parent: ../propagation/bare-server.ts LIVE_SERVER_OPTIONS), the API nodes' Redis adapter
// (classic or sharded: BENCH_ADAPTER; same `key` scheme) on one Redis, the same rooms
// (`session:<id>`, `member:<id>`, `account:<id>` for dashboards), a Map lookup instead of
// authentication, and the tiny HTTP handlers of ../propagation/bare-server.ts that emit the very
// payloads the API sent, one emit per room. The admin's requests go to node 1 only; the adapter
// carries the emits (and `disconnectSockets`) to the sockets on the other nodes, as it does for the
// API. Plain JS so plain `node` runs it.
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { createServer } from 'node:http';
import { createClient } from 'redis';
import { Server } from 'socket.io';

/** @type {Server | null} */
let io = null;
let httpServer = null;
let pub = null;
let sub = null;

const reply = (id, body = {}) => process.send?.({ type: 'reply', id, ...body });

function readJson(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch (error) {
        reject(error);
      }
    });
    request.on('error', reject);
  });
}

async function start(input) {
  const account = `account:${input.accountId}`;
  const byToken = new Map(input.byToken);
  const sessionsOf = new Map(input.sessionsOf);
  pub = createClient({ url: input.redisUrl });
  sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  httpServer = createServer();
  io = new Server(httpServer, input.options);
  // input.adapter (BENCH_ADAPTER): the API nodes' adapter, with the same options (redis-bridge.ts).
  io.adapter(
    input.adapter === 'sharded'
      ? createShardedAdapter(pub, sub, { channelPrefix: input.key, subscriptionMode: 'dynamic' })
      : createAdapter(pub, sub, { key: input.key }),
  );
  io.use((socket, next) => {
    const token = socket.handshake.auth?.token;
    const info = typeof token === 'string' ? byToken.get(token) : undefined;
    if (!info) return next(new Error('UNAUTHENTICATED'));
    socket.data = info;
    socket.join([`session:${info.sessionId}`, `member:${info.memberId}`]);
    if (info.dashboard) socket.join(account);
    next();
  });
  // libs/client asks for what it missed after every reconnect (node loss): nothing is missed here.
  io.on('connection', (socket) => socket.on('sync', (_input, ack) => ack?.({ ok: true, events: [], seq: 0 })));
  const handlers = {
    '/bare/role-change': (body) => {
      io.to(account).emit('user.upserted', body.upserted);
      io.to(`member:${body.memberId}`).emit('me.permissions', body.permissions);
    },
    '/bare/role-edit': (body) => {
      io.to(account).emit('role.upserted', body.role);
      for (const memberId of input.roleHolders)
        io.to(`member:${memberId}`).emit('me.permissions', { ...body.permissions });
    },
    '/bare/revoke': (body) => {
      io.to(account).emit('user.upserted', body.upserted);
      for (const sessionId of sessionsOf.get(body.memberId) ?? []) {
        io.to(`session:${sessionId}`).emit('me.revoked', { reason: 'member_revoked' });
        io.in(`session:${sessionId}`).disconnectSockets(true);
      }
    },
  };
  httpServer.on('request', (request, response) => {
    const handler = request.method === 'POST' ? handlers[request.url ?? ''] : undefined;
    if (!handler) {
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
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  return httpServer.address().port;
}

process.on('message', async (message) => {
  switch (message.type) {
    case 'start':
      reply(message.id, { port: await start(message.input) });
      return;
    case 'count':
      reply(message.id, { count: io?.engine.clientsCount ?? 0 });
      return;
    case 'exit':
      io?.disconnectSockets(true);
      await new Promise((resolve) => (io ? io.close(() => resolve()) : resolve()));
      await Promise.allSettled([pub?.quit(), sub?.quit()]);
      reply(message.id);
      setTimeout(() => process.exit(0), 50);
      return;
  }
});

process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', pid: process.pid });
