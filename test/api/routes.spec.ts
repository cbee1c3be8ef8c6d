import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { registeredRoutes } from './support/routes.js';

let app: TestApp;

beforeAll(async () => {
  // The SCIM check below sends many wrong tokens from one address.
  app = await startApp({ rateLimits: { scimFailuresPerIp: 100_000 } });
});
afterAll(() => app.close());

describe('route declarations', () => {
  it('finds the routes', () => {
    const routes = registeredRoutes(app).map((r) => r.route);
    expect(routes).toEqual(expect.arrayContaining(['POST /signup', 'GET /me', 'DELETE /me/2fa', 'GET /health']));
  });

  it('every route declares who may call it', () => {
    const undeclared = registeredRoutes(app)
      .filter((r) => r.access === undefined)
      .map((r) => r.route);
    expect(undeclared).toEqual([]);
  });

  it('only the sign-up, sign-in, mailed-link, session-probe and health routes are public', () => {
    const publicRoutes = registeredRoutes(app)
      .filter((r) => r.access === 'public' && !r.path.startsWith('/scim/v2'))
      .map((r) => r.route)
      .sort();
    expect(publicRoutes).toEqual([
      'GET /auth/password-reset/:token',
      // Answers `{ signedIn: false }` without a session and exactly `GET /me` with one (issue 15).
      'GET /auth/session',
      'GET /auth/sso/:provider/callback',
      'GET /auth/sso/:provider/start',
      'GET /auth/sso/providers',
      'GET /auth/verify-email/:token',
      'GET /health',
      'GET /health/live',
      'GET /health/ready',
      'GET /invitations/:token',
      'POST /auth/password-reset',
      'POST /auth/password-reset/confirm',
      'POST /auth/sign-in',
      'POST /auth/verify-email',
      'POST /invitations/accept',
      'POST /signup',
    ]);
  });

  it('every /scim/v2 route is public to the session guard and refuses anything but the account’s SCIM token (401, SCIM error format)', async () => {
    const scimRoutes = registeredRoutes(app).filter((r) => r.path.startsWith('/scim/v2'));
    expect(scimRoutes.length).toBeGreaterThanOrEqual(12);
    const signup = await fetch(`${app.url}/api/v1/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountName: 'Acme', name: 'Olive', email: `scim-routes.${Date.now()}@example.com`, password: 'correct horse battery staple' }),
    });
    const session = ((await signup.json()) as { token: string }).token;
    for (const route of scimRoutes) {
      expect(route.access, route.route).toBe('public');
      const url = `${app.url}${route.path.replace(/:\w+/g, '00000000-0000-4000-8000-000000000001').replace('{*rest}', 'Bulk')}`;
      for (const authorization of [undefined, `Bearer ${session}`, 'Bearer scim_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
        const method = route.method === 'ALL' ? 'GET' : route.method;
        const response = await fetch(url, {
          method,
          headers: { ...(authorization ? { authorization } : {}), 'content-type': 'application/scim+json' },
          ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }),
        });
        expect(response.status, `${route.route} with ${authorization ?? 'no token'}`).toBe(401);
        expect(response.headers.get('content-type'), route.route).toContain('application/scim+json');
        expect(await response.json(), route.route).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
      }
    }
  });
});
