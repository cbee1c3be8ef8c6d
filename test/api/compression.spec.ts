/**
 * Issue 21: API answers of 1 KB or more go out compressed (brotli, else gzip) when the client asks,
 * smaller ones plain; HEAD, the resource ETags (If-Match), the streamed exports and Socket.IO work
 * as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_COMPRESSION_THRESHOLD } from '../../apps/api/src/app.factory.js';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, ifMatch, invite, ROLE, uniqueEmail, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { decoded, rawRequest } from './support/raw-http.js';

let app: TestApp;
let api: Client;
let owner: SignedUp;
const BROWSER = 'gzip, deflate, br, zstd';

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  rawRequest(`${app.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${owner.token}`, ...headers } });

describe('API answers compressed above a threshold (issue 21)', () => {
  beforeAll(async () => {
    app = await startApp();
    api = client(app.url);
    owner = await createAccount(api, { plan: 'business' });
    // 40 invited members: a users page of ~15 KB of JSON.
    const invited = await invite(
      api,
      owner,
      Array.from({ length: 40 }, () => uniqueEmail('invited')),
      { roleId: ROLE.readonly },
    );
    expect(invited.status).toBe(201);
  }, 60_000);
  afterAll(() => app?.close());

  it('a large JSON answer is brotli for a browser, gzip for a gzip-only client, plain for one that asks for neither', async () => {
    const plain = await get('/users?limit=50');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(Number(plain.headers['content-length'])).toBe(plain.bytes.length);
    expect(plain.bytes.length).toBeGreaterThan(10 * API_COMPRESSION_THRESHOLD);
    const json = JSON.parse(plain.bytes.toString('utf8')) as { items: unknown[] };
    expect(json.items.length).toBe(41);

    const br = await get('/users?limit=50', { 'accept-encoding': BROWSER });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['vary']).toMatch(/Accept-Encoding/i);
    expect(br.headers['content-type']).toMatch(/^application\/json/);
    expect(br.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(decoded(br).toString('utf8'))).toEqual(json);
    expect(br.bytes.length).toBeLessThan(plain.bytes.length / 4);

    const gzip = await get('/users?limit=50', { 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(decoded(gzip).toString('utf8'))).toEqual(json);

    const refused = await get('/users?limit=50', { 'accept-encoding': 'identity' });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('an answer under 1 KB stays plain, with its Content-Length', async () => {
    const plain = await get('/users?limit=1');
    expect(plain.status).toBe(200);
    expect(plain.bytes.length).toBeLessThan(API_COMPRESSION_THRESHOLD);
    const small = await get('/users?limit=1', { 'accept-encoding': BROWSER });
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.bytes.equals(plain.bytes)).toBe(true);
    expect(Number(small.headers['content-length'])).toBe(small.bytes.length);
    // Errors too (the shape, plain).
    const missing = await get('/users/00000000-0000-4000-8000-00000000dead', { 'accept-encoding': BROWSER });
    expect(missing.status).toBe(404);
    expect(missing.headers['content-encoding']).toBeUndefined();
    expect((JSON.parse(missing.bytes.toString('utf8')) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('HEAD answers the headers alone, uncompressed', async () => {
    const head = await get('/users?limit=50', { 'accept-encoding': BROWSER }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.bytes.length).toBe(0);
    expect(head.headers['content-encoding']).toBeUndefined();
    expect(Number(head.headers['content-length'])).toBeGreaterThan(10 * API_COMPRESSION_THRESHOLD);
  });

  it('a compressed resource keeps its version ETag, and If-Match with it still writes', async () => {
    // A custom role with the Editor's permissions and a full description: over 1 KB of JSON.
    const editor = await api.get<{ permissions: string[] }>(`/roles/${ROLE.editor}`, { token: owner.token });
    const created = await api.post<{ id: string; version: number }>(
      '/roles',
      {
        name: 'Support',
        description: 'Answers Talk. '.repeat(20),
        icon: 'headset',
        permissions: editor.body.permissions,
      },
      { token: owner.token },
    );
    expect(created.status).toBe(201);
    const plain = await get(`/roles/${created.body.id}`);
    const br = await get(`/roles/${created.body.id}`, { 'accept-encoding': BROWSER });
    expect(plain.bytes.length).toBeGreaterThan(API_COMPRESSION_THRESHOLD);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['etag']).toBe(`"${created.body.version}"`);
    expect(br.headers['etag']).toBe(plain.headers['etag']);
    const renamed = await api.patch(
      `/roles/${created.body.id}`,
      { name: 'Support desk' },
      {
        token: owner.token,
        headers: { 'if-match': String(br.headers['etag']) },
      },
    );
    expect(renamed.status).toBe(200);
    const stale = await api.patch(
      `/roles/${created.body.id}`,
      { name: 'Support team' },
      {
        token: owner.token,
        headers: ifMatch(created.body.version),
      },
    );
    expect(stale.status).toBe(412);
  });

  it('the streamed exports still stream, as they are (not compressed), for a browser too', async () => {
    for (const path of ['/activity/export?format=ndjson', '/activity/export?format=csv', '/users/export']) {
      const reply = await get(path, { 'accept-encoding': BROWSER });
      expect(reply.status, path).toBe(200);
      expect(reply.headers['content-encoding'], path).toBeUndefined();
      expect(reply.headers['transfer-encoding'], path).toBe('chunked');
      const text = reply.bytes.toString('utf8');
      if (path.includes('ndjson')) {
        const lines = text.trim().split('\n');
        expect(lines.length, path).toBeGreaterThan(1);
        for (const line of lines) expect(() => JSON.parse(line) as unknown, path).not.toThrow();
      } else {
        expect(text.split('\n').length, path).toBeGreaterThan(2);
      }
    }
    const members = await get('/users/export', { 'accept-encoding': BROWSER });
    expect(members.bytes.toString('utf8')).toContain('invited.');
  });

  it('Socket.IO answers its own handshake, untouched by the compression', async () => {
    const handshake = await rawRequest(`${app.url}/socket.io/?EIO=4&transport=polling`, {
      headers: { 'accept-encoding': BROWSER },
    });
    expect(handshake.status).toBe(200);
    expect(handshake.headers['content-encoding']).toBeUndefined();
    expect(handshake.bytes.toString('utf8')).toMatch(/^0\{"sid":/);
  });
});
