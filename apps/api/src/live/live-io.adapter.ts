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
