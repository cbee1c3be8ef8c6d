import express from 'express';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, type ExpressLike } from '../../apps/api/src/live/live-limits.js';

/**
 * Issue 18: the live handshake's client address (the per-IP budget's key) is answered without
 * Express for the common shapes; it must stay exactly Express's `req.ip` under the app's
 * `trust proxy` = loopback for every peer and X-Forwarded-For, the common shapes and the others.
 */
const app = express();
app.set('trust proxy', 'loopback');
const expressLike = app as unknown as ExpressLike;

const request = (peer: string | undefined, forwarded?: string): IncomingMessage =>
  ({
    socket: { remoteAddress: peer },
    connection: { remoteAddress: peer },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  }) as unknown as IncomingMessage;

const expressIp = (req: IncomingMessage): unknown =>
  Reflect.get(app.request, 'ip', Object.create(req, { app: { value: app } }));

const PEERS = [
  '127.0.0.1',
  '127.8.9.10',
  '::1',
  '::ffff:127.0.0.1',
  '10.1.2.3',
  '192.168.0.7',
  '::ffff:10.0.0.1',
  '2001:db8::5',
  '0.0.0.0',
];
const FORWARDED = [
  undefined,
  '',
  ' ',
  '10.0.0.1',
  '  10.0.0.1  ',
  '10.0.0.1\t',
  '127.0.0.2',
  '::1',
  'not-an-address',
  '2001:db8::1',
  '203.0.113.9, 10.0.0.1',
  '203.0.113.9, 127.0.0.1',
  '203.0.113.9,127.0.0.1, ::1',
  ', 10.0.0.1',
  '10.0.0.1,',
  'a b',
];

describe('clientAddress (the live handshake budget key)', () => {
  it("answers Express's req.ip for every peer and X-Forwarded-For", () => {
    for (const peer of PEERS) {
      for (const forwarded of FORWARDED) {
        // A fresh request each time: clientAddress remembers its answer per request object.
        const expected = expressIp(request(peer, forwarded));
        expect(clientAddress(expressLike, request(peer, forwarded)), `${peer} / ${JSON.stringify(forwarded)}`).toBe(
          expected,
        );
      }
    }
  });

  it('falls back to the peer when nothing else is known', () => {
    expect(clientAddress(expressLike, request(undefined))).toBe('unknown');
  });
});
