import http from 'node:http';
import net from 'node:net';

/**
 * The two keep-alive GET clients of the users-list bench. Both take the same path (`/api/v1/…`) and
 * headers, read the whole body without parsing it (parsing is the client's cost), and answer
 * `{ status, body }`.
 */
interface HttpReply {
  status: number;
  body: Buffer;
}

export interface HttpGetter {
  get(path: string): Promise<HttpReply>;
  /** Requests sent again because the server had closed the idle keep-alive socket. */
  retries(): number;
  close(): void;
}

/** The server closed a reused keep-alive socket (its idle timeout) just as a request went out. */
class StaleSocket extends Error {}

/** `once`, sent again once on a fresh socket when it met a stale one, as Node's documentation advises. */
function retryingOnStale(once: (path: string) => Promise<HttpReply>, close: () => void): HttpGetter {
  let retries = 0;
  return {
    get: async (path) => {
      try {
        return await once(path);
      } catch (error) {
        if (!(error instanceof StaleSocket)) throw error;
        retries += 1;
        return once(path);
      }
    },
    retries: () => retries,
    close,
  };
}

/** Through node:http's client (ClientRequest, IncomingMessage, a one-socket keep-alive agent). */
export function nodeHttpGetter(baseUrl: string, headers: Record<string, string>): HttpGetter {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(baseUrl);
  const once = (path: string) =>
    new Promise<HttpReply>((resolve, reject) => {
      const request = http.request({ host: hostname, port, path, agent, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        reject(
          request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE') ? new StaleSocket() : error,
        );
      });
      request.end();
    });
  return retryingOnStale(once, () => agent.destroy());
}

/**
 * A lean keep-alive HTTP/1.1 GET client for latency figures, the way wrk and autocannon measure: one
 * TCP socket, the request bytes written as they are, the reply read until its `Content-Length` body
 * has arrived (the body is not parsed). The client runs on the server's thread, so its own work
 * lands in every figure: node:http's client (ClientRequest, IncomingMessage, the agent) costs
 * ~0.3 ms per 26 KB reply here — the bench reports it as a level of its own (`node:http`).
 *
 * Hand-written rather than autocannon's client: the bench interleaves its levels request by request,
 * which a load generator's own loop does not let it do.
 *
 * It speaks only what the API answers: a status line, headers, and a body with `Content-Length`
 * (Express sets it for every JSON reply); a chunked reply fails loudly. A socket the server closed
 * while idle (its keep-alive timeout) is replaced before the next request, and a request whose socket
 * closed under it is sent once more on a fresh one.
 */
export function wireGetter(baseUrl: string, headers: Record<string, string>): HttpGetter {
  const { hostname, port } = new URL(baseUrl);
  const headerLines = Object.entries({ host: `${hostname}:${port}`, ...headers })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  let socket: net.Socket | null = null;
  let waiting: {
    chunks: Buffer[];
    received: number;
    expected: number;
    done: (error: Error | null, reply?: HttpReply) => void;
  } | null = null;

  const open = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const fresh = net.connect(Number(port), hostname);
      fresh.setNoDelay(true);
      fresh.once('connect', () => resolve(fresh));
      fresh.once('error', reject);
      fresh.on('data', (chunk: Buffer) => receive(chunk));
      fresh.on('close', () => {
        if (socket === fresh) socket = null;
        waiting?.done(new StaleSocket());
      });
    });

  function receive(chunk: Buffer): void {
    const reply = waiting;
    if (!reply) throw new Error(`unexpected ${chunk.length} bytes from the server`);
    reply.chunks.push(chunk);
    reply.received += chunk.length;
    if (reply.expected < 0) {
      const head = reply.chunks.length === 1 ? chunk : Buffer.concat(reply.chunks);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = head.subarray(0, end).toString('latin1');
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text);
      if (!length) return reply.done(new Error(`a reply without Content-Length: ${text.slice(0, 200)}`));
      reply.chunks = [head];
      reply.expected = end + 4 + Number(length[1]);
    }
    if (reply.received < reply.expected) return;
    const whole = reply.chunks.length === 1 ? reply.chunks[0]! : Buffer.concat(reply.chunks);
    const status = Number(whole.toString('latin1', 9, 12));
    const bodyStart = whole.indexOf('\r\n\r\n') + 4;
    reply.done(null, { status, body: whole.subarray(bodyStart, reply.expected) });
  }

  const once = async (path: string): Promise<HttpReply> => {
    if (waiting) throw new Error('one request at a time');
    if (!socket || socket.destroyed) socket = await open();
    const request = Buffer.from(`GET ${path} HTTP/1.1\r\n${headerLines}\r\n`, 'latin1');
    return new Promise<HttpReply>((resolve, reject) => {
      waiting = {
        chunks: [],
        received: 0,
        expected: -1,
        done: (error, reply) => {
          waiting = null;
          if (error) reject(error);
          else resolve(reply!);
        },
      };
      socket!.write(request);
    });
  };

  return retryingOnStale(once, () => socket?.destroy());
}
