// The client side of the scale-out benchmark (a copy of ../propagation/clients.mjs, forked by
// scale-out.bench-run.ts through the same ClientProcess): N websocket-only socket.io-client
// connections, each with `auth: { token }` (no Origin, like a server-side client), socket i on node
// `urls[i % urls.length]`, each with its own `X-Forwarded-For` address (as behind a load balancer:
// the nodes trust a loopback proxy, so each socket counts against its own per-IP handshake budget). It records, for an armed round, when
// each expected socket got the expected event (or was disconnected), on the machine clock
// `performance.timeOrigin + performance.now()`, and reports over IPC. Plain JS so plain `node`
// runs it without a TypeScript loader.
import { Live } from '@rolecall/client';
import { createRequire } from 'node:module';
import { io } from 'socket.io-client';

const now = () => performance.timeOrigin + performance.now();

/** @type {import('socket.io-client').Socket[]} */
let sockets = [];
/** The armed round, or null. */
let round = null;

const reply = (id, body = {}) => process.send?.({ type: 'reply', id, ...body });

function pick(data, path) {
  let value = data;
  for (const key of path.split('.')) value = value == null ? undefined : value[key];
  return value;
}

function onEvent(index, event, data) {
  if (!round) return;
  const at = now();
  for (const group of round.groups) {
    if (group.event !== event || group.pending[index] !== 1) continue;
    if (group.match && pick(data, group.match.path) !== group.match.equals) continue;
    group.pending[index] = 0;
    group.remaining -= 1;
    if (group.first === null) {
      group.first = at;
      group.sample = data;
    }
    group.last = at;
  }
  if (round.groups.every((group) => group.remaining === 0)) finish();
}

function finish() {
  const done = round;
  round = null;
  clearTimeout(done.timer);
  process.send?.({
    type: 'done',
    id: done.id,
    groups: done.groups.map((group) => ({
      name: group.name,
      expected: group.expected,
      received: group.expected - group.remaining,
      first: group.first,
      last: group.last,
      sample: group.sample,
    })),
  });
}

/** A distinct private address per socket index (10.x.y.z), sent as X-Forwarded-For. */
const forwardedFor = (index) => `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;

function open(url, token, index) {
  return new Promise((resolve) => {
    const socket = io(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 60_000,
      auth: { token },
      extraHeaders: { 'x-forwarded-for': forwardedFor(index) },
    });
    socket.onAny((event, data) => onEvent(index, event, data));
    socket.on('disconnect', (reason) => onEvent(index, 'disconnect', { reason }));
    socket.once('connect', () => resolve({ socket, error: null }));
    socket.once('connect_error', (error) => resolve({ socket, error: error.message }));
    sockets[index] = socket;
  });
}

/** Opens sockets `from`…`tokens.length - 1` (`from` > 0 keeps the ones already open: a step up). */
async function connectAll(urls, tokens, concurrency, from = 0) {
  const started = now();
  if (from === 0) sockets = new Array(tokens.length);
  else sockets.length = tokens.length;
  const errors = new Map();
  let failed = 0;
  let next = from;
  let done = 0;
  // Time at which each tenth of the sockets had connected (spots a handshake cost growing with N).
  const tenths = [];
  const step = Math.max(1, Math.floor((tokens.length - from) / 10));
  const worker = async () => {
    while (next < tokens.length) {
      const index = next++;
      const { error } = await open(urls[index % urls.length], tokens[index], index);
      done += 1;
      if (done % step === 0 && tenths.length < 10) tenths.push(now() - started);
      if (error) {
        failed += 1;
        errors.set(error, (errors.get(error) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tokens.length - from) }, worker));
  return {
    connected: tokens.length - from - failed,
    failed,
    errors: Object.fromEntries(errors),
    ms: now() - started,
    tenths,
  };
}

// ── node loss: libs/client's `Live` (Socket.IO's reconnection with jitter, `sync`, and the server's
// `me.permissions` greeting on every connection), one per session, all through the balancer ───────
/** @type {{ live: Live, memberId: string, dashboard: boolean, disconnects: number, lastConnect: number, greetings: number }[]} */
let lives = [];
/** connect_error messages of the live sessions, by message. */
const liveErrors = new Map();

async function liveConnect(url, members, concurrency) {
  const started = now();
  lives = members.map((member) => {
    const entry = {
      live: null,
      memberId: member.memberId,
      dashboard: member.dashboard,
      disconnects: 0,
      lastConnect: 0,
      greetings: 0,
    };
    entry.live = new Live({ baseUrl: url, token: member.token, transports: ['websocket'] });
    // Every connection starts with the server's `me.permissions` (reason `connected`): counted, to
    // tell a cut session that got its set again from one that did not.
    entry.live.socket.on('me.permissions', (data) => {
      if (data.reason === 'connected') entry.greetings += 1;
    });
    return entry;
  });
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < lives.length) {
      const entry = lives[next];
      const member = members[next++];
      entry.live.socket.on('disconnect', () => (entry.disconnects += 1));
      entry.live.socket.on('connect', () => (entry.lastConnect = now()));
      entry.live.socket.on('connect_error', (error) =>
        liveErrors.set(error.message, (liveErrors.get(error.message) ?? 0) + 1),
      );
      await entry.live
        .connect({
          permissions: { version: member.version, keys: [] },
          member: { role: { id: member.roleId } },
          account: { activitySeq: member.seq },
        })
        .catch(() => (failed += 1));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, lives.length) }, worker));
  return { connected: lives.length - failed, failed, ms: now() - started };
}

/** How many are connected, how many were cut, when the last one got back, and who disagrees with `expected`. */
function liveState(expected, seq, changed) {
  const changedIds = new Set(changed ?? []);
  let cutAndChanged = 0;
  let connected = 0;
  let cut = 0;
  let lastConnect = 0;
  let stale = 0;
  let cutNotGreeted = 0;
  let behind = 0;
  for (const entry of lives) {
    if (entry.live.socket.connected) connected += 1;
    if (entry.disconnects > 0) {
      cut += 1;
      if (changedIds.has(entry.memberId)) cutAndChanged += 1;
      lastConnect = Math.max(lastConnect, entry.lastConnect);
      if (entry.live.socket.connected && entry.greetings < 2) cutNotGreeted += 1;
    }
    const want = expected?.[entry.memberId];
    const have = entry.live.currentPermissions;
    if (want && (have.version !== want.version || have.roleId !== want.roleId)) stale += 1;
    // Dashboards receive the account's events: caught up means at the server's last seq.
    if (seq !== undefined && entry.dashboard && entry.live.lastSeq !== seq) behind += 1;
  }
  return {
    connected,
    cut,
    cutAndChanged,
    lastConnect,
    stale,
    cutNotGreeted,
    behind,
    total: lives.length,
    errors: Object.fromEntries(liveErrors),
  };
}

process.on('message', async (message) => {
  switch (message.type) {
    case 'live-connect':
      reply(message.id, await liveConnect(message.url, message.members, message.concurrency ?? 64));
      return;
    case 'live-state':
      reply(message.id, liveState(message.expected, message.seq, message.changed));
      return;
    case 'live-close':
      for (const entry of lives) entry.live.disconnect();
      lives = [];
      reply(message.id);
      return;
    case 'connect':
      reply(message.id, await connectAll(message.urls, message.tokens, message.concurrency ?? 100, message.from ?? 0));
      return;
    case 'close': {
      const open = sockets.filter((socket) => socket?.connected).length;
      for (const socket of sockets) socket?.disconnect();
      sockets = [];
      reply(message.id, { closed: open });
      return;
    }
    case 'arm': {
      if (round) clearTimeout(round.timer);
      const groups = message.groups.map((group) => {
        const pending = new Uint8Array(sockets.length);
        for (const index of group.sockets) pending[index] = 1;
        return {
          name: group.name,
          event: group.event,
          match: group.match ?? null,
          pending,
          expected: group.sockets.length,
          remaining: group.sockets.length,
          first: null,
          last: null,
          sample: null,
        };
      });
      round = {
        id: message.id,
        groups,
        timer: setTimeout(() => round?.id === message.id && finish(), message.timeoutMs ?? 30_000),
      };
      reply(message.id, { armed: true });
      return;
    }
    case 'clock':
      reply(message.id, { now: now() });
      return;
    case 'addons': {
      const cache = Object.keys(createRequire(import.meta.url).cache);
      reply(message.id, {
        bufferutil: cache.some((path) => path.includes('/node_modules/bufferutil/')),
        utf8: cache.some((path) => path.includes('/node_modules/utf-8-validate/')),
      });
      return;
    }
    case 'connected':
      reply(message.id, { connected: sockets.filter((socket) => socket?.connected).length });
      return;
    case 'cpu':
      reply(message.id, { cpu: process.cpuUsage() });
      return;
    case 'memory':
      reply(message.id, { memory: process.memoryUsage() });
      return;
    case 'exit':
      for (const socket of sockets) socket?.disconnect();
      reply(message.id);
      setTimeout(() => process.exit(0), 50);
      return;
  }
});

process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', pid: process.pid });
