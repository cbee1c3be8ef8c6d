import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { ACCESS_KEY, type Access } from '../../../apps/api/src/common/access.js';
import type { TestApp } from './app.js';

export interface RegisteredRoute {
  /** `METHOD /path` with Nest's `:param` placeholders, without the `/api/v1` prefix. */
  route: string;
  method: string;
  path: string;
  access: Access | undefined;
}

/** Every route handler Nest registered, with the access it declares (method, then class). */
export function registeredRoutes(testApp: TestApp): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
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
        const fullPath = `/${[base, path].filter((p) => p && p !== '/').join('/')}`;
        routes.push({ route: `${method} ${fullPath}`, method: method!, path: fullPath, access: access as Access | undefined });
      }
    }
  }
  return routes;
}

