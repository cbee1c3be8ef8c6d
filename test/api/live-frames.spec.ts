import { Socket as TcpSocket } from 'node:net';
import { io } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAccount } from './support/factories.js';
import { client } from './support/http.js';
import { connected, type TestSocket } from './support/live.js';

/**
 * A handshake's frames (issue 18): Socket.IO's CONNECT and the `me.permissions` greeting leave the
 * server in one write of its TCP socket — a loopback or LAN `writev` runs the peer's receive path too,
 * and was the costliest thing a handshake did. Every write the server makes is recorded (one
 * `_write`/`_writev` of a net.Socket is one system call), and the client still gets both, in order.
 */
let app: TestApp;
let token: string;
const sockets: TestSocket[] = [];
/** The text of every write the process made to a TCP socket, each write whole. */
const writes: string[] = [];

beforeAll(async () => {
  app = await startApp();
  token = (await createAccount(client(app.url))).token;
  const original = { write: TcpSocket.prototype._write, writev: TcpSocket.prototype._writev! };
  vi.spyOn(TcpSocket.prototype, '_write').mockImplementation(function (this: TcpSocket, chunk, encoding, callback) {
    writes.push(Buffer.isBuffer(chunk) ? chunk.toString('latin1') : String(chunk));
    return original.write.call(this, chunk, encoding, callback);
  });
  vi.spyOn(TcpSocket.prototype, '_writev').mockImplementation(function (this: TcpSocket, chunks, callback) {
    writes.push(chunks.map(({ chunk }) => (Buffer.isBuffer(chunk) ? chunk.toString('latin1') : String(chunk))).join(''));
    return original.writev.call(this, chunks, callback);
  });
});
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.disconnect();
});
afterAll(async () => {
  vi.restoreAllMocks();
  await app.close();
});

const greetingIn = (write: string) => write.includes('42["me.permissions",{') && write.includes('"reason":"connected"');

describe('a live handshake’s frames', () => {
  it('CONNECT and the greeting leave in one write, CONNECT first (websocket)', async () => {
    writes.length = 0;
    const socket = io(app.url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token } }) as TestSocket;
    sockets.push(socket);
    const order: string[] = [];
    socket.on('connect', () => order.push('connect'));
    socket.on('me.permissions', () => order.push('me.permissions'));
    await connected(socket);
    const connect = writes.filter((write) => write.includes(`40{"sid":"${socket.id}"`));
    expect(connect).toHaveLength(1);
    expect(greetingIn(connect[0]!)).toBe(true);
    expect(connect[0]!.indexOf('40{"sid"')).toBeLessThan(connect[0]!.indexOf('42["me.permissions"'));
    expect(order).toEqual(['connect', 'me.permissions']);
  });

  it('many handshakes at once: each connection’s CONNECT carries its greeting', async () => {
    writes.length = 0;
    const many = Array.from({ length: 20 }, () =>
      io(app.url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token } }) as TestSocket,
    );
    sockets.push(...many);
    await Promise.all(many.map((socket) => connected(socket)));
    for (const socket of many) {
      const connect = writes.filter((write) => write.includes(`40{"sid":"${socket.id}"`));
      expect(connect).toHaveLength(1);
      expect(greetingIn(connect[0]!)).toBe(true);
    }
  });

  it('a long-polling client is greeted as before (its writes wait for a request)', async () => {
    const socket = io(app.url, { transports: ['polling'], reconnection: false, forceNew: true, auth: { token } }) as TestSocket;
    sockets.push(socket);
    await connected(socket);
    expect(socket.io.engine.transport.name).toBe('polling');
  });
});
