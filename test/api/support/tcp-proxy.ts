import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy a fault test puts between the API and PostgreSQL or Redis, and then breaks for real:
 * `reset()` destroys every open connection with a TCP RST, `refuse()` also closes the listening
 * port (new connections get ECONNREFUSED), `blackhole()` accepts connections and never answers
 * (what a network partition looks like), `slowConnect(ms)` holds each new connection that long before
 * opening it upstream (a server slow to accept: a database forking backends under a connection
 * storm), `restore()` goes back to passing traffic through.
 *
 * `url(upstreamUrl)` rewrites a `postgres://` or `redis://` URL to go through the proxy.
 */
export interface TcpProxy {
  readonly port: number;
  url(upstream: string): string;
  /** Ends every open connection with a reset; new ones still pass. */
  reset(): void;
  /** Resets every connection and stops listening: new connections are refused. */
  refuse(): Promise<void>;
  /** Accepts connections and holds them without forwarding a byte (open ones are reset first). */
  blackhole(): void;
  /**
   * Open connections stop forwarding, both ways, and stay open: a request already sent waits for
   * its reply (a stalled peer). `reset()` then cuts them with the request still unanswered;
   * `restore()` lets them flow again. New connections are not affected.
   */
  stall(): void;
  /** New connections wait `ms` before the proxy opens them upstream; open ones are not affected. */
  slowConnect(ms: number): void;
  /** Connections accepted since the proxy started (whatever became of them). */
  readonly accepted: number;
  /** Passes traffic again (listening on the same port). */
  restore(): Promise<void>;
  /** Connections currently open through the proxy. */
  readonly open: number;
  close(): Promise<void>;
}

export async function startTcpProxy(upstream: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket | null]>();
  const stalled = new Set<[Socket, Socket | null]>();
  let mode: 'pass' | 'blackhole' = 'pass';
  let connectDelayMs = 0;
  let accepted = 0;
  let server: Server;
  let port = 0;

  const onConnection = (client: Socket) => {
    accepted += 1;
    client.on('error', () => undefined);
    if (mode === 'blackhole') {
      const pair: [Socket, Socket | null] = [client, null];
      pairs.add(pair);
      client.on('close', () => pairs.delete(pair));
      return;
    }
    if (connectDelayMs > 0) {
      // Held as a pair without a target meanwhile, so that reset() and close() cut it too.
      const waiting: [Socket, Socket | null] = [client, null];
      pairs.add(waiting);
      client.pause();
      const timer = setTimeout(() => {
        pairs.delete(waiting);
        if (!client.destroyed) forward(client);
      }, connectDelayMs);
      client.once('close', () => {
        clearTimeout(timer);
        pairs.delete(waiting);
      });
      return;
    }
    forward(client);
  };

  const forward = (client: Socket) => {
    const target = connect(upstream.port, upstream.host);
    const pair: [Socket, Socket | null] = [client, target];
    pairs.add(pair);
    target.on('error', () => client.resetAndDestroy());
    client.on('error', () => target.resetAndDestroy());
    client.on('close', () => {
      target.destroy();
      pairs.delete(pair);
      stalled.delete(pair);
    });
    target.on('close', () => client.destroy());
    client.pipe(target);
    target.pipe(client);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer(onConnection);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });

  const resetAll = () => {
    for (const [client, target] of pairs) {
      client.resetAndDestroy();
      target?.resetAndDestroy();
    }
    pairs.clear();
    stalled.clear();
  };

  await listen();
  let listening = true;

  return {
    get port() {
      return port;
    },
    get open() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    url(upstreamUrl: string) {
      const url = new URL(upstreamUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    reset: resetAll,
    async refuse() {
      resetAll();
      if (!listening) return;
      listening = false;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    blackhole() {
      resetAll();
      mode = 'blackhole';
    },
    stall() {
      for (const pair of pairs) {
        const [client, target] = pair;
        if (!target || stalled.has(pair)) continue;
        client.unpipe(target);
        target.unpipe(client);
        client.pause();
        target.pause();
        stalled.add(pair);
      }
    },
    slowConnect(ms) {
      connectDelayMs = ms;
    },
    async restore() {
      mode = 'pass';
      connectDelayMs = 0;
      for (const [client, target] of stalled) {
        client.pipe(target!);
        target!.pipe(client);
      }
      stalled.clear();
      if (!listening) {
        await listen();
        listening = true;
      }
    },
    async close() {
      resetAll();
      if (listening) {
        listening = false;
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

/** host and port of a `postgres://` or `redis://` URL, for `startTcpProxy`. */
export function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || defaultPort) };
}
