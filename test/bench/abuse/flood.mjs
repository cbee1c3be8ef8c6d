// The attacker of the abuse benchmark, in a process of its own (forked by abuse.bench-run.ts): N
// websocket-only sockets of one Read-only member (spread over a few sessions), each sending `sync`
// and unknown events as fast as the server answers — a window of unanswered events per socket,
// topped up on every answer — and coming straight back when it is disconnected or refused (after
// `retryMs`). It counts what it sent and what came back. Plain JS so plain `node` runs it.
import { io } from 'socket.io-client';

const reply = (id, body = {}) => process.send?.({ type: 'reply', id, ...body });

let running = false;
/** @type {Set<import('socket.io-client').Socket>} */
const live = new Set();
const timers = new Set();
const stats = {
  handshakes: 0,
  accepted: 0,
  refused: {},
  sent: 0,
  answers: {},
  serverDisconnects: 0,
  peakConnected: 0,
};

const bump = (table, key) => (table[key] = (table[key] ?? 0) + 1);

function later(ms, work) {
  const timer = setTimeout(() => {
    timers.delete(timer);
    work();
  }, ms);
  timers.add(timer);
}

/** One flooding slot: a socket that floods while connected and is opened again when it is not. */
function slot(url, token, options) {
  if (!running) return;
  stats.handshakes += 1;
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token } });
  let outstanding = 0;
  let n = 0;
  const send = () => {
    while (running && socket.connected && outstanding < options.window) {
      outstanding += 1;
      stats.sent += 1;
      n += 1;
      const [event, data] = n % 2 ? ['sync', { afterSeq: 0 }] : ['bench.no-such-event', { n }];
      socket.emit(event, data, (answer) => {
        outstanding -= 1;
        bump(stats.answers, answer?.ok ? 'ok' : (answer?.error?.code ?? 'other'));
        send();
      });
    }
  };
  socket.once('connect', () => {
    stats.accepted += 1;
    live.add(socket);
    stats.peakConnected = Math.max(stats.peakConnected, live.size);
    send();
  });
  socket.once('connect_error', (error) => {
    bump(stats.refused, error.message);
    socket.close();
    later(options.retryMs, () => slot(url, token, options));
  });
  socket.once('disconnect', (reason) => {
    live.delete(socket);
    if (reason === 'io server disconnect') stats.serverDisconnects += 1;
    socket.close();
    if (running) later(options.retryMs, () => slot(url, token, options));
  });
}

process.on('message', (message) => {
  switch (message.type) {
    case 'start': {
      running = true;
      const options = { window: message.window, retryMs: message.retryMs };
      for (let i = 0; i < message.sockets; i += 1) slot(message.url, message.tokens[i % message.tokens.length], options);
      reply(message.id);
      return;
    }
    case 'stop': {
      running = false;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of live) socket.close();
      const connectedAtStop = live.size;
      live.clear();
      reply(message.id, { stats: { ...stats, connectedAtStop }, cpu: process.cpuUsage() });
      return;
    }
    case 'exit':
      reply(message.id);
      setTimeout(() => process.exit(0), 50);
      return;
  }
});

process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', pid: process.pid });
