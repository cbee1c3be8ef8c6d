import type { ErrorBody } from '@rolecall/contracts';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { collectProcessMetrics, recordHttpRequest, registry } from './metrics.js';
import type { ObservabilityConfig } from './observability.config.js';
import { routeOf } from './route.js';

/**
 * Times every request into `rolecall_http_request_duration_seconds` once its answer is written; a
 * client that goes away first is recorded with status 499 (as nginx does).
 */
export function httpMetrics(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      recordHttpRequest(req.method, routeOf(req), res.writableFinished ? res.statusCode : 499, seconds);
    });
    next();
  };
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

function isLoopback(ip: string | undefined): boolean {
  return ip !== undefined && (ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.'));
}

function refuse(res: Response, status: 401 | 403, body: ErrorBody): void {
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
  res.status(status).json(body);
}

/**
 * `GET /metrics` in Prometheus's text format. With `METRICS_TOKEN` set it needs
 * `Authorization: Bearer <token>` from anywhere; without one it answers only clients on loopback
 * (the client address as Express sees it: through a reverse proxy on the same host, the address
 * the proxy forwards, so a public request relayed by the proxy is refused).
 */
export function metricsEndpoint(config: ObservabilityConfig): RequestHandler {
  collectProcessMetrics();
  const expected = config.metricsToken === null ? null : digest(`Bearer ${config.metricsToken}`);
  return (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    if (expected) {
      const given = req.headers.authorization;
      if (!given || !timingSafeEqual(digest(given), expected)) {
        return refuse(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'Metrics need Authorization: Bearer <METRICS_TOKEN>' } });
      }
    } else if (!isLoopback(req.ip)) {
      return refuse(res, 403, { error: { code: 'FORBIDDEN', message: 'Metrics are served to loopback only; set METRICS_TOKEN to scrape from elsewhere' } });
    }
    registry.metrics().then((text) => {
      res.setHeader('Content-Type', registry.contentType);
      res.end(text);
    }, next);
  };
}
