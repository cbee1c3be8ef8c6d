import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as IoServer } from 'socket.io';
import { DataSource } from 'typeorm';
import { LiveGateway } from './live/live.gateway.js';
import { REDIS, type RedisConnections } from './infra/redis-bridge.js';
import { Lifecycle } from './health/lifecycle.js';

export interface ShutdownTimings {
  /** How long in-flight requests may take to finish before their connections are cut. */
  readonly drainMs: number;
  /** How long closing (Nest's hooks: sockets, Redis, database pool) may take before Redis and database connections are dropped. */
  readonly closeMs: number;
  /** Last resort: past this the process exits with code 1, whatever is still running. */
  readonly deadlineMs: number;
}

const SHUTDOWN_TIMINGS: ShutdownTimings = { drainMs: 5000, closeMs: 2000, deadlineMs: 10_000 };

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Graceful shutdown on SIGTERM (and SIGINT), replacing Nest's `enableShutdownHooks`, which runs the
 * destroy hooks (closing the database and Redis) before it stops the HTTP server, re-raises the
 * signal instead of exiting 0, and waits forever on a Redis or database that does not answer.
 *
 * 1. Readiness and liveness answer 503 (the load balancer stops routing here); the listening socket
 *    closes (no new connections), idle keep-alive connections close, and every answer from now on
 *    says `Connection: close`.
 * 2. Live sockets are closed at the transport, so Socket.IO clients reconnect on their own (to
 *    another node behind the load balancer) and catch up with `sync`; a server-side `disconnect`
 *    would tell them not to reconnect. Only this node's sockets: nothing is broadcast to others.
 * 3. In-flight requests get `drainMs` to finish; connections still busy after that are cut.
 * 4. `app.close()` runs every module's shutdown hooks (Redis QUIT, database pool, …). If it is not
 *    done within `closeMs`, Redis or the database is not answering: their connections are dropped,
 *    which lets the hooks waiting on them finish.
 * 5. Exit 0. If all that is still not done at `deadlineMs`, one line says so and the exit code is 1.
 */
export function installGracefulShutdown(
  app: NestExpressApplication,
  timings: ShutdownTimings = SHUTDOWN_TIMINGS,
): void {
  const logger = new Logger('Shutdown');
  const server = app.getHttpServer() as Server;
  const lifecycle = app.get(Lifecycle);
  const inFlight = new Set<ServerResponse>();
  let drained: (() => void) | null = null;

  // First listener, so the header is set before any route answers. Socket.IO's long-polls are not
  // requests to wait for: step 2 ends them.
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    if (request.url?.startsWith('/socket.io/')) return;
    inFlight.add(response);
    response.once('close', () => {
      inFlight.delete(response);
      if (inFlight.size === 0) drained?.();
    });
    if (lifecycle.shuttingDown) response.setHeader('Connection', 'close');
  });

  const shutdown = async (signal: string): Promise<void> => {
    const started = performance.now();
    const elapsed = () => `${Math.round(performance.now() - started)} ms`;
    const deadline = setTimeout(() => {
      logger.error(`Shutdown did not finish within ${timings.deadlineMs} ms: exiting with code 1`);
      process.exit(1);
    }, timings.deadlineMs);

    lifecycle.beginShutdown();
    logger.log(
      `${signal}: shutting down (${inFlight.size} request(s) in flight, up to ${timings.drainMs} ms to finish)`,
    );
    server.close();
    server.closeIdleConnections();
    for (const response of inFlight) if (!response.headersSent) response.setHeader('Connection', 'close');
    const sockets = closeLiveSockets(app);
    if (sockets) logger.log(`Closed ${sockets} live socket(s); their clients reconnect elsewhere`);

    if (inFlight.size > 0) {
      const finished = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timings.drainMs);
        drained = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      if (!finished)
        logger.warn(`${inFlight.size} request(s) still running after ${timings.drainMs} ms: cutting their connections`);
    }
    server.closeAllConnections();

    const closing = app.close().then(
      () => null,
      (error: unknown) => error,
    );
    const early = await Promise.race([closing, delay(timings.closeMs).then(() => 'late' as const)]);
    let failure: unknown = null;
    if (early === 'late') {
      logger.warn(
        `Closing is not done after ${timings.closeMs} ms (Redis or the database not answering?): dropping their connections`,
      );
      dropDependencyConnections(app, logger);
      failure = await closing;
    } else {
      failure = early;
    }
    clearTimeout(deadline);
    if (failure) {
      logger.error(
        `Shutdown failed after ${elapsed()}: ${failure instanceof Error ? failure.message : String(failure)}`,
      );
      process.exit(1);
    }
    logger.log(`Stopped after ${elapsed()}`);
    process.exit(0);
  };

  let shuttingDown = false;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      if (shuttingDown) {
        logger.warn(`${signal} again: already shutting down`);
        return;
      }
      shuttingDown = true;
      void shutdown(signal);
    });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Closes this node's Socket.IO connections at the transport (the client sees "transport close" and reconnects). */
function closeLiveSockets(app: NestExpressApplication): number {
  const io = app.get(LiveGateway).server as IoServer | undefined;
  if (!io) return 0;
  let closed = 0;
  for (const socket of io.of('/').sockets.values()) {
    socket.conn.close();
    closed += 1;
  }
  return closed;
}

/**
 * Drops the connections to Redis and PostgreSQL without waiting for an answer, so shutdown hooks
 * waiting on them (a QUIT, a pool's end, a query) settle: node-redis rejects what it has queued,
 * and each pg connection's socket is destroyed. SQLite is a local file and never waits.
 */
function dropDependencyConnections(app: NestExpressApplication, logger: Logger): void {
  const redis = app.get<RedisConnections | null>(REDIS);
  if (redis) {
    for (const client of [redis.pub, redis.sub, redis.events]) {
      try {
        client.destroy();
      } catch {
        // Already closed.
      }
    }
  }
  const dataSource = app.get(DataSource);
  // TypeORM's PostgreSQL driver keeps its pg Pool in `master`; pg-pool lists its clients in `_clients`.
  const pool = (dataSource.driver as { master?: { _clients?: unknown[] } }).master;
  let dropped = 0;
  for (const client of pool?._clients ?? []) {
    const stream = (client as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    if (stream) {
      stream.destroy();
      dropped += 1;
    }
  }
  if (dropped) logger.warn(`Dropped ${dropped} database connection(s)`);
}
