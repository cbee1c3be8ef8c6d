import type { Request } from 'express';

/**
 * The route a request matched, as a pattern (`/api/v1/users/:id`), for metric labels and request
 * lines: raw URLs would make a label value per member id. Requests answered before routing (CSRF
 * refusals, unreadable bodies, unknown routes) are `none`; the dashboard's pages and assets are
 * `dashboard`.
 */
export function routeOf(req: Request): string {
  const route = (req as { route?: { path?: unknown } }).route;
  // Nest answers unknown routes from a catch-all (`/api/v1*path`): that is no route.
  if (route && typeof route.path === 'string' && !route.path.includes('*')) return `${req.baseUrl ?? ''}${route.path}`;
  const path = (req.originalUrl ?? req.url ?? '').split('?', 1)[0] ?? '';
  return path === '/api' || path.startsWith('/api/') ? 'none' : 'dashboard';
}
