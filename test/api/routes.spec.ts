import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY } from '../../apps/api/src/common/access.js';
import { startApp, type TestApp } from './support/app.js';

let app: TestApp;

beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

/** Every route handler Nest registered, with the access it declares (method, then class). */
export function registeredRoutes(testApp: TestApp): { route: string; access: unknown }[] {
  const routes: { route: string; access: unknown }[] = [];
  for (const module of testApp.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (!controller) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      const proto = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const handler = proto[name];
        if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const method = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'ALL', 'OPTIONS', 'HEAD'][Reflect.getMetadata(METHOD_METADATA, handler) as number];
        const path = String(Reflect.getMetadata(PATH_METADATA, handler));
        const access = Reflect.getMetadata(ACCESS_KEY, handler) ?? Reflect.getMetadata(ACCESS_KEY, controller);
        routes.push({ route: `${method} /${[base, path].filter((p) => p && p !== '/').join('/')}`, access });
      }
    }
  }
  return routes;
}

describe('route declarations', () => {
  it('finds the routes', () => {
    const routes = registeredRoutes(app).map((r) => r.route);
    expect(routes).toEqual(expect.arrayContaining(['POST /signup', 'GET /me', 'DELETE /me/2fa', 'GET /health']));
  });

  it('every route declares who may call it', () => {
    const undeclared = registeredRoutes(app).filter((r) => r.access === undefined).map((r) => r.route);
    expect(undeclared).toEqual([]);
  });

  it('only the sign-up, sign-in and health routes are public', () => {
    const publicRoutes = registeredRoutes(app)
      .filter((r) => r.access === 'public')
      .map((r) => r.route)
      .sort();
    expect(publicRoutes).toEqual(['GET /health', 'POST /auth/sign-in', 'POST /signup']);
  });
});
