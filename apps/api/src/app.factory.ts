import { Logger, RequestMethod, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import compression from 'compression';
import cookieParser from 'cookie-parser';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppModule, type AppOptions } from './app.module.js';
import { csrfProtection } from './common/csrf.js';
import { toErrorBody } from './common/error.filter.js';
import type { AppConfig } from './config.js';
import { loadDashboard } from './web/web.js';
import { LiveIoAdapter } from './live/live-io.adapter.js';
import { connectRedis } from './infra/redis-bridge.js';
import { createLogging } from './common/observability/logging.js';
import { httpMetrics, metricsEndpoint } from './common/observability/metrics-endpoint.js';

/** Largest JSON body accepted; larger ones answer 413 PAYLOAD_TOO_LARGE. */
const BODY_LIMIT = '100kb';
/** API answers this size or larger are compressed when the client accepts it (README: Serving the dashboard). */
export const API_COMPRESSION_THRESHOLD = 1024;
/** Swagger UI (`SwaggerModule.setup('api/docs')`): its page, files and JSON document. */
const API_DOCS = /^\/api\/docs(-json|\/|$)/;
/**
 * How long an idle keep-alive connection stays open. Node's default, 5 s, is shorter than a load
 * balancer keeps its upstream connections (60 s: AWS ALB, nginx's `keepalive_timeout`): the balancer
 * would write a request into a connection the node is closing and answer 502. Past 60 s the balancer
 * closes first. A client closes its own 1–2 s before the `Keep-Alive: timeout` the server announces
 * (undici; it reads the header), so with 5 s any pause of 4–5 s, a test's or a busy machine's late
 * timer, raced the server's close: CI's activity export once failed `fetch failed, ECONNRESET`. At
 * 65 s that needs a connection idle over a minute and a timer late by seconds.
 * Idle connections hold no request: headersTimeout (60 s) and requestTimeout still bound
 * those, so a silent connection could already be held about as long; a shutdown closes idle
 * connections at once (graceful-shutdown.ts).
 */
const KEEP_ALIVE_MS = 65_000;
/** `POST /users/import` carries a CSV of up to 1 MB inside its JSON (escaping can grow it). */
const IMPORT_BODY_LIMIT = '3mb';

/** Builds the whole API (REST, docs, dashboard) without listening; `main.ts` and the tests share it. */
export async function createApp(
  config: AppConfig,
  options: AppOptions & { logLevels?: LogLevel[] } = {},
): Promise<NestExpressApplication> {
  // pino from the first line on (Redis connecting, Nest starting, a start-up failure): no buffering needed.
  const logging = createLogging(config.observability, options.logLevels);
  Logger.overrideLogger(logging.logger);
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, config.redisPrefix) : null;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, { ...options, redis }), {
    bodyParser: false,
    logger: logging.logger,
  });
  app.useWebSocketAdapter(new LiveIoAdapter(app, config, redis));
  const server = app.getHttpServer() as Server;
  answerUnparsableRequests(server);
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  const http = app.getHttpAdapter().getInstance() as express.Express;
  http.disable('x-powered-by');
  // Our ETags are resource versions (set explicitly); Express's content hashes would answer 304s on their own.
  http.set('etag', false);
  http.set('trust proxy', 'loopback');
  // First of all: the request id and log context, the latency histogram, then /metrics (outside /api/v1).
  http.use(logging.requests, httpMetrics());
  http.get('/metrics', metricsEndpoint(config.observability));

  const dashboard = loadDashboard(config.webRoot);
  if (!dashboard) new Logger('Web').warn(`No dashboard build at ${config.webRoot ?? '(none)'}: serving the API only`);
  else if (!dashboard.routes)
    new Logger('Web').warn('The dashboard build has no routes.json: index.html answers every path');
  const directives = {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", ...(dashboard?.scriptHashes ?? [])],
    // No 'unsafe-inline' (issue 21): the dashboard styles through its stylesheets and the CSSOM
    // (Svelte's `style:` directives); the only style attribute is SvelteKit's route announcer,
    // allowed by its hash alone (web/web.ts styleAttributeHashes).
    styleSrc: ["'self'"],
    styleSrcAttr: dashboard?.styleAttributeHashes.length
      ? ["'unsafe-hashes'", ...dashboard.styleAttributeHashes]
      : ["'none'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    // Only behind https: on plain http (localhost, a LAN address) it would break every asset.
    upgradeInsecureRequests: config.publicUrl.startsWith('https://') ? [] : null,
  };
  const securityHeaders = helmet({ contentSecurityPolicy: { directives }, crossOriginEmbedderPolicy: false });
  // Swagger UI's page has an inline <style> and a styled <svg> of its own: /api/docs keeps the
  // inline styles every page allowed before issue 21 (scripts stay 'self' only).
  const docsSecurityHeaders = helmet({
    contentSecurityPolicy: {
      directives: { ...directives, styleSrc: ["'self'", "'unsafe-inline'"], styleSrcAttr: null },
    },
    crossOriginEmbedderPolicy: false,
  });
  http.use((request: Request, response: Response, next: NextFunction) =>
    (API_DOCS.test(request.path) ? docsSecurityHeaders : securityHeaders)(request, response, next),
  );
  // API answers (JSON, SCIM) of 1 KB or more are compressed (brotli, else gzip) when the client
  // accepts it; smaller ones stay plain. Complete bodies only: a streamed answer (the CSV/ndjson
  // exports) has no Content-Length when its headers go and is left as it is, so its back-pressure
  // stays the socket's. The dashboard's files come precompressed from the build (web/web.ts).
  http.use(['/api', '/scim'], compression({ threshold: API_COMPRESSION_THRESHOLD, filter: completeBodies }));
  http.use(cookieParser());
  // Before any body is read or route runs; every route is under /api (Socket.IO checks its own Origin).
  http.use(csrfProtection(config));
  if (dashboard) http.use(dashboard.handler);
  http.use('/api/v1/users/import', jsonBody(IMPORT_BODY_LIMIT));
  // `POST /users/bulk` may name up to 10,000 member ids (~400 KB).
  http.use('/api/v1/users/bulk', jsonBody('512kb'));
  http.use(jsonBody());
  // API answers are never cached: they change with other admins' work, and carry personal data.
  http.use('/api', (_request: Request, response: Response, next: NextFunction) => {
    response.setHeader('Cache-Control', 'no-store');
    next();
  });

  // SCIM 2.0 lives at /scim/v2 (what identity providers are given as the base URL), outside /api/v1.
  app.setGlobalPrefix('api/v1', { exclude: [{ path: 'scim/v2/{*rest}', method: RequestMethod.ALL }] });
  // CORS stays closed: no Access-Control-Allow-Origin is ever sent unless ALLOWED_ORIGINS lists an origin.
  const extraOrigins = config.allowedOrigins.slice(1);
  if (extraOrigins.length > 0) app.enableCors({ origin: extraOrigins, credentials: true });

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Rolecall API')
      .setDescription('User and role management. Errors: { error: { code, message, details } }.')
      .setVersion('1')
      .addBearerAuth()
      .addCookieAuth('rolecall_session')
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document);
  // No enableShutdownHooks(): main.ts installs the graceful shutdown (graceful-shutdown.ts).
  return app;
}

/**
 * compression's own test (a compressible Content-Type) for answers whose whole body is known: those
 * sent with `res.json`/`res.send`, which set Content-Length before the headers go.
 */
function completeBodies(request: Request, response: Response): boolean {
  return response.getHeader('Content-Length') !== undefined && compression.filter(request, response);
}

/** JSON bodies only, up to BODY_LIMIT; parse failures answer in the API's error shape. */
function jsonBody(limit: string = BODY_LIMIT) {
  // SCIM clients send `application/scim+json` (RFC 7644 §3.1).
  const parse = express.json({ limit, strict: false, type: ['application/json', 'application/scim+json'] });
  return (request: Request, response: Response, next: NextFunction) => {
    parse(request, response, (error?: unknown) => {
      if (!error) return next();
      const { status, body } = toErrorBody(error);
      response.status(status).json(body);
    });
  };
}

/**
 * A request Node's HTTP parser refuses before Express sees it (headers or URL over 16 KB, a malformed
 * request line) is answered in the API's error shape too, not Node's bare status line: 431 with
 * PAYLOAD_TOO_LARGE for headers too large (431 is the status HTTP has for it; the code is the
 * contract's "too much at once"), 400 VALIDATION_FAILED for anything else. Connections that are
 * already gone are just closed.
 */
function answerUnparsableRequests(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const [status, reason] = tooLarge ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
    const body = JSON.stringify({
      error: tooLarge
        ? { code: 'PAYLOAD_TOO_LARGE', message: 'The request’s URL or headers are too long (16 KB at most).' }
        : {
            code: 'VALIDATION_FAILED',
            message: 'The request could not be read as HTTP.',
            details: { fields: { _: ['malformed request'] } },
          },
    });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
