import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * The node-loss phase's load balancer: a TCP round-robin over the nodes still alive (a node is
 * dropped from the rotation when a connection to it fails). Like a real balancer in front of
 * Rolecall it adds `X-Forwarded-For` to the first request of each connection (a distinct 10.x
 * address per connection, which the nodes trust from loopback), so each handshake counts against
 * its own per-IP budget, as clients behind a real balancer do. A connection to a node that dies is
 * cut, and the client reconnects through the balancer to another node.
 */
export interface Balancer {
  url: string;
  /** Connections opened to each upstream so far. */
  opened: number[];
  drop(index: number): void;
  close(): Promise<void>;
}

export async function startBalancer(upstreams: string[]): Promise<Balancer> {
  const targets = upstreams.map((url) => {
    const { hostname, port } = new URL(url);
    return { host: hostname, port: Number(port), alive: true };
  });
  const opened = targets.map(() => 0);
  const open = new Set<Socket>();
  let next = 0;
  let counter = 0;
  const pick = (): number => {
    for (let i = 0; i < targets.length; i += 1) {
      const index = (next + i) % targets.length;
      if (targets[index]!.alive) {
        next = index + 1;
        return index;
      }
    }
    return -1;
  };
  const server: Server = createServer((client) => {
    const index = pick();
    if (index < 0) return client.destroy();
    const target = targets[index]!;
    opened[index]! += 1;
    counter += 1;
    const forwarded = `10.${(counter >> 16) & 255}.${(counter >> 8) & 255}.${counter & 255}`;
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    let head = true;
    client.on('data', (chunk: Buffer) => {
      if (head) {
        head = false;
        const end = chunk.indexOf('\r\n');
        if (end > 0)
          chunk = Buffer.concat([
            chunk.subarray(0, end + 2),
            Buffer.from(`x-forwarded-for: ${forwarded}\r\n`),
            chunk.subarray(end + 2),
          ]);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('close', end);
    client.on('error', end);
    upstream.on('close', end);
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') target.alive = false;
      end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    opened,
    drop: (index) => {
      targets[index]!.alive = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
