/**
 * A Redis client whose replies are awaited at most `ms`: every method that answers a promise
 * answers one that rejects after `ms` (the command itself stays queued until Redis answers or the
 * connection drops), and a `multi()` chain is wrapped the same way down to its `exec()`. Once a
 * reply is late, the connection counts as stalled: later calls are still sent, but reject at once,
 * until any reply arrives — a request that asks four limiters in turn waits 2 s, not 8.
 *
 * Why not node-redis's own `commandOptions.timeout`: it did not bound the rate limiters' commands
 * (issue 18: with Redis stalled, a sign-in through the TCP proxy got no answer in 30 s), and it arms
 * an `AbortSignal.timeout` per command whose timer fires even after the reply came and builds a
 * `DOMException` (with its stack) each time — in the scale-out benchmark about 1 ms of CPU per
 * handshake across the cluster, a quarter of it. A plain timer cleared on the reply costs next to
 * nothing. Only callers that await a reply need the bound: the rate limiters (which fall back to
 * memory on a rejection). Publishes never wait, subscriptions are retried when the channel is back,
 * and the cross-node requests (`fetchSockets`) and the health ping have deadlines of their own.
 */
export function timedReplies<T extends object>(client: T, ms: number, what = 'Redis'): T {
  return wrap(client, { ms, what, stalled: false });
}

interface Watch {
  readonly ms: number;
  readonly what: string;
  stalled: boolean;
}

function wrap<T extends object>(target: T, watch: Watch): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(object, args);
        if (result instanceof Promise) return bounded(result, watch);
        // `multi()` and its chained commands answer the chain; its `exec()` answers the promise.
        return result !== null && typeof result === 'object' ? wrap(result, watch) : result;
      };
    },
  });
}

/**
 * One promise and one timer per command. `Promise.race` with a `finally` made seven promises per
 * command, each through AsyncLocalStorage's hooks on Node 20 and 22: a live handshake (two commands)
 * made 71 promises, 57 now, against the bare Socket.IO server's 6. Measured alone on Node 20 with the
 * hooks on, the wrapper cost 1.6 µs per command and costs 0.3 now (reply included: 2.42 → 1.08 µs).
 */
function bounded<T>(reply: Promise<T>, watch: Watch): Promise<T> {
  if (watch.stalled) {
    reply.then(
      () => (watch.stalled = false),
      () => undefined,
    );
    return Promise.reject(new Error(`${watch.what} is not answering`));
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      watch.stalled = true;
      reject(new Error(`${watch.what} did not answer within ${watch.ms} ms`));
    }, watch.ms);
    reply.then(
      (value) => {
        clearTimeout(timer);
        watch.stalled = false;
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error);
      },
    );
  });
}
