import type { HealthDto } from '@rolecall/contracts';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, PASSWORD } from './support/factories.js';
import { client, isErrorShape, type Client } from './support/http.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

describe('GET /health', () => {
  it('reports the database', async () => {
    const reply = await api.get<HealthDto>('/health');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: 'ok', db: 'ok', redis: 'disabled', storage: 'ok' });
  });
});

describe('database', () => {
  it('runs on the database the environment asks for, with migrations applied', async () => {
    const { Database } = await import('../../apps/api/src/database/database.service.js');
    const db = app.app.get(Database);
    expect(db.kind).toBe(process.env['DATABASE_URL'] ? 'postgres' : 'sqlite');
    const roles = await db.read((m) => m.query('SELECT name FROM roles WHERE account_id IS NULL ORDER BY position'));
    expect((roles as { name: string }[]).map((r) => r.name)).toEqual(['Admin', 'Editor', 'Read only']);
  });
});

describe('errors', () => {
  it('answers an unknown route 404 in the error shape', async () => {
    for (const [method, path] of [['GET', '/nope'], ['POST', '/users/whatever/else'], ['DELETE', '/me/2fa/extra']] as const) {
      const reply = await api.request(method, path);
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    }
  });

  it('answers a URL or headers too long for the HTTP parser in the error shape, not a bare 431', async () => {
    const longUrl = await api.get(`/users?role=${'x'.repeat(20_000)}`);
    expect(longUrl.status).toBe(431);
    expect(longUrl.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) } });
    const longHeader = await api.request('GET', '/me', undefined, { headers: { 'x-filler': 'y'.repeat(20_000) } });
    expect(longHeader.status).toBe(431);
    expect(isErrorShape(longHeader.body)).toBe(true);
    // The server goes on answering (liveness: readiness would also judge the database's 500 ms probe).
    expect((await api.get('/health/live')).status).toBe(200);
  });

  it('answers malformed JSON 400', async () => {
    const reply = await api.request('POST', '/auth/sign-in', undefined, { raw: '{"email": "a@b.co", ' });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });

  it('answers an oversized body 413', async () => {
    const reply = await api.post('/auth/sign-in', { email: 'a@b.co', password: 'x'.repeat(200_000) });
    expect(reply.status).toBe(413);
    expect(reply.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) } });
  });

  it('names every bad field, including unknown ones', async () => {
    const reply = await api.post('/signup', { accountName: '', name: 42, email: 'not-an-email', password: 'short', plan: 'gold', admin: true });
    expect(reply.status).toBe(400);
    expect(isErrorShape(reply.body)).toBe(true);
    const fields = (reply.body as { error: { details: { fields: Record<string, string[]> } } }).error.details.fields;
    expect(Object.keys(fields).sort()).toEqual(['accountName', 'admin', 'email', 'name', 'password', 'plan']);
  });

  it('refuses a body that is not an object', async () => {
    for (const raw of ['[]', '"text"', '42', 'null', 'true']) {
      const reply = await api.request('POST', '/auth/sign-in', undefined, { raw });
      expect(reply.status).toBe(400);
      expect(isErrorShape(reply.body)).toBe(true);
    }
  });

  it('does not treat a non-JSON content type as JSON', async () => {
    const reply = await api.request('POST', '/auth/sign-in', undefined, {
      raw: `email=a@b.co&password=${PASSWORD}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(reply.status).toBe(400);
  });
});

describe('security headers and CORS', () => {
  it('sends helmet’s headers', async () => {
    const reply = await api.get('/health');
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    expect(reply.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(reply.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(reply.headers.get('x-powered-by')).toBeNull();
  });

  it('keeps CORS closed to other origins', async () => {
    const owner = await createAccount(api);
    const preflight = await fetch(`${app.url}/api/v1/me`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const reply = await api.get('/me', { token: owner.token, headers: { origin: 'https://evil.example' } });
    expect(reply.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('OpenAPI', () => {
  it('serves the document at /api/docs with the routes and their bodies', async () => {
    const html = await fetch(`${app.url}/api/docs`);
    expect(html.status).toBe(200);
    const json = (await (await fetch(`${app.url}/api/docs-json`)).json()) as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
    expect(Object.keys(json.paths)).toEqual(expect.arrayContaining(['/api/v1/signup', '/api/v1/auth/sign-in', '/api/v1/me', '/api/v1/health']));
    expect(json.paths['/api/v1/signup']!['post']!.requestBody).toBeDefined();
  });
});

describe('keep-alive connections', () => {
  /**
   * Writes one request on an open socket and reads its whole answer (headers and Content-Length body).
   * Not the bench's `wireGetter` (test/bench/users-list/http-clients.ts): it replaces a socket the
   * server closed, which is the very thing this test must see.
   */
  function exchange(socket: Socket, path: string): Promise<{ head: string; body: string }> {
    return new Promise((resolve, reject) => {
      if (socket.closed) return reject(new Error(`the server had closed the connection before ${path}`));
      let received = '';
      const onData = (chunk: Buffer) => {
        received += chunk.toString('latin1');
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = received.slice(0, end);
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (received.length < end + 4 + length) return;
        cleanup();
        resolve({ head, body: received.slice(end + 4, end + 4 + length) });
      };
      const onClose = () => {
        cleanup();
        reject(new Error(`the server closed the connection before answering ${path}`));
      };
      const cleanup = () => {
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.off('error', onClose);
      };
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.once('error', onClose);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n`);
    });
  }

  it('keeps an idle connection open past the moment clients and proxies reuse theirs (not Node’s 5 s)', async () => {
    // A client closes its idle connections a little before the server's advertised timeout; one whose
    // timer runs late (a busy machine, a paused process) writes its next request as the server closes
    // the connection and gets ECONNRESET — a proxy (60 s idle by default) answers 502.
    const { port } = new URL(app.url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    try {
      const first = await exchange(socket, '/api/v1/health/live');
      expect(first.head).toMatch(/^HTTP\/1\.1 200 /);
      expect(first.head).toMatch(/\r\nkeep-alive: timeout=(6[5-9]|[7-9]\d|\d{3,})\b/i);
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const second = await exchange(socket, '/api/v1/health/live');
      expect(second.head).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      socket.destroy();
    }
  }, 15_000);
});
