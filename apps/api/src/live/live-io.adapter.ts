import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions } from 'socket.io';
import type { AppConfig } from '../config.js';
import { redisAdapter, type RedisConnections } from '../infra/redis-bridge.js';

/** Largest Socket.IO message accepted; bigger ones close the connection. */
export const MAX_SOCKET_MESSAGE = 64 * 1024;

/**
 * Socket.IO server options for the gateway: no served client, small messages, no per-message
 * deflate (CPU on fan-out), CORS only for ALLOWED_ORIGINS, and the Redis adapter across nodes.
 * Connection-state recovery stays off, so every reconnect runs the auth middleware again.
 */
export class LiveIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
    private readonly redis: RedisConnections | null,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const extraOrigins = this.config.allowedOrigins.slice(1);
    const server = super.createIOServer(port, {
      ...options,
      serveClient: false,
      maxHttpBufferSize: MAX_SOCKET_MESSAGE,
      perMessageDeflate: false,
      httpCompression: false,
      ...(extraOrigins.length ? { cors: { origin: this.config.allowedOrigins as string[], credentials: true } } : {}),
    } as ServerOptions) as Server;
    if (this.redis) server.adapter(redisAdapter(this.redis, this.config.redisAdapter));
    return server;
  }
}

/** What `coalesceConnectFrames` touches of engine.io's connection (its `flush` is private in the typings). */
interface EngineConnection {
  readonly transport: { readonly name: string; writable: boolean };
  readonly request: { readonly socket: { cork(): void; uncork(): void } };
  readonly readyState: string;
}

/**
 * Holds a WebSocket connection's frames from now to the end of this turn of the event loop, then
 * writes them in one system call (issue 18). Called as a handshake is admitted: Socket.IO's CONNECT
 * and the `me.permissions` greeting that `handleConnection` sends right after it (within the same
 * turn) otherwise go out as two writes, each a `writev` that on a loopback or LAN socket runs the
 * peer's TCP receive path too — per handshake the most expensive thing the server does
 * (bench:handshake: ~40 µs of a ~0.6 ms handshake; strace: 3.7 writev per handshake against the
 * bare server's 2).
 *
 * engine.io sends a transport's packets one flush at a time (`transport.writable` is false until the
 * last write is done), so the greeting would wait for CONNECT's write to finish: the transport is
 * marked busy, the packets queue in engine.io's write buffer in order, and at `setImmediate` (after
 * socket.io's `process.nextTick` that connects the socket and runs `handleConnection`) one flush
 * sends them all with the TCP socket corked, so ws's frames leave in one `writev`. Only for the
 * websocket transport: long-polling writes when a request is waiting, which this must not force.
 * Relies on engine.io 6's `transport.writable` and `flush()`; live-frames.spec checks the result.
 */
export function coalesceConnectFrames(connection: unknown): void {
  const engine = connection as EngineConnection & { flush(): void };
  if (engine.transport.name !== 'websocket' || !engine.transport.writable) return;
  const transport = engine.transport;
  transport.writable = false;
  setImmediate(() => {
    // A write that finished meanwhile set it back and flushed already; a closed connection sends nothing.
    if (transport.writable || engine.readyState !== 'open' || engine.transport !== transport) return;
    const tcp = engine.request.socket;
    tcp.cork();
    transport.writable = true;
    engine.flush();
    tcp.uncork();
  });
}
