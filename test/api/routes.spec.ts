import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { registeredRoutes } from './support/routes.js';

let app: TestApp;

beforeAll(async () => {
  app = await startApp();
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
      .filter((r) => r.access === 'public')
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
});
