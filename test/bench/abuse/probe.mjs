// The measuring side of the abuse benchmark, in a process of its own (forked by
// abuse.bench-run.ts), so that neither the server's event loop nor the flooding clients' can delay
// its clock. It polls GET /api/v1/health on a fixed schedule (open loop: a stalled server does not
// slow the schedule down, so a stall shows as slow answers rather than as missing requests), and
// changes one member's role every second as an admin, timing each change from just before the
// request to the `me.permissions` push carrying the new role on that member's socket.
// Plain JS so plain `node` runs it without a TypeScript loader.
import http from 'node:http';
import { io } from 'socket.io-client';

const now = () => performance.now();
const reply = (id, body = {}) => process.send?.({ type: 'reply', id, ...body });

/** @type {import('socket.io-client').Socket | null} */
let target = null;
// One keep-alive pool for all phases, as a monitor or a load balancer keeps its connections: the
// flood phase does not start by opening new ones while the attacker opens its own.
const healthAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const adminAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
/** Pushes seen on the target's socket: roleId → arrival time. */
const pushes = new Map();
const pushWaiters = new Map();

function request(agent, url, method, path, { token, body, headers = {} } = {}) {
  const { hostname, port } = new URL(url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: hostname,
        port,
        method,
        path,
        agent,
        headers: {
          ...headers,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
        },
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = null;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            parsed = text;
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', (error) => resolve({ status: 0, body: String(error) }));
    if (payload) req.write(payload);
    req.end();
  });
}

function connectTarget(url, token) {
  return new Promise((resolve, reject) => {
    target = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token } });
    target.on('me.permissions', (data) => {
      const at = now();
      const waiter = pushWaiters.get(data.roleId);
      if (waiter) {
        pushWaiters.delete(data.roleId);
        waiter(at);
      } else pushes.set(data.roleId, at);
    });
    target.once('connect', () => resolve());
    target.once('connect_error', (error) => reject(error));
  });
}

/** Resolves with the arrival time of the next `me.permissions` for `roleId`, or null after `ms`. */
function nextPush(roleId, ms) {
  pushes.delete(roleId);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      pushWaiters.delete(roleId);
      resolve(null);
    }, ms);
    pushWaiters.set(roleId, (at) => {
      clearTimeout(timer);
      resolve(at);
    });
  });
}

/**
 * One phase: health polled every `healthEveryMs`, a role change every `changeEveryMs`, for
 * `durationMs`. Returns the samples (ms) and the member's version and role after the last change.
 */
async function runPhase(message) {
  const { url, adminToken, targetId, roles, durationMs, healthEveryMs, changeEveryMs, pushTimeoutMs } = message;
  let { version, roleId: current } = message;

  const health = [];
  /** When each health request left, ms into the phase. */
  const healthAt = [];
  let healthFailures = 0;
  const changes = [];
  const started = now();
  const end = started + durationMs;
  const inFlight = new Set();

  // Open loop: each request leaves on its own schedule, whatever the previous one is doing.
  const healthTimer = setInterval(() => {
    if (now() >= end) return;
    const sent = now();
    const done = request(healthAgent, url, 'GET', '/api/v1/health').then((response) => {
      if (response.status === 200) {
        health.push(now() - sent);
        healthAt.push(sent - started);
      } else healthFailures += 1;
    });
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  }, healthEveryMs);

  let round = 0;
  while (now() < end) {
    const due = started + round * changeEveryMs;
    if (now() < due) await new Promise((resolve) => setTimeout(resolve, due - now()));
    if (now() >= end) break;
    // Always to the other role, so that every change changes the member's permissions.
    const roleId = roles.find((role) => role !== current);
    round += 1;
    const pushed = nextPush(roleId, pushTimeoutMs);
    const sent = now();
    const response = await request(adminAgent, url, 'PATCH', `/api/v1/users/${targetId}`, {
      token: adminToken,
      body: { roleId },
      headers: { 'if-match': `"${version}"` },
    });
    const answered = now();
    if (response.status !== 200) {
      changes.push({ http: answered - sent, push: null, status: response.status });
      continue;
    }
    version = response.body.version;
    current = roleId;
    const at = await pushed;
    changes.push({ http: answered - sent, push: at === null ? null : at - sent, status: 200 });
  }
  clearInterval(healthTimer);
  await Promise.all([...inFlight]);
  return { health, healthAt, healthFailures, changes, version, roleId: current, targetConnected: target?.connected ?? false };
}

process.on('message', async (message) => {
  switch (message.type) {
    case 'connect-target':
      try {
        await connectTarget(message.url, message.token);
        reply(message.id, { ok: true });
      } catch (error) {
        reply(message.id, { ok: false, error: String(error?.message ?? error) });
      }
      return;
    case 'phase':
      reply(message.id, await runPhase(message));
      return;
    case 'exit':
      target?.disconnect();
      healthAgent.destroy();
      adminAgent.destroy();
      reply(message.id);
      setTimeout(() => process.exit(0), 50);
      return;
  }
});

process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', pid: process.pid });
