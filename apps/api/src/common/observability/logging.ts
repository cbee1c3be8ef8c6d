import type { LoggerService, LogLevel } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { pino, stdTimeFunctions, type Level, type LevelWithSilent, type Logger as Pino } from 'pino';
import { pinoHttp, type Options } from 'pino-http';
import type { ObservabilityConfig } from './observability.config.js';
import { routeOf } from './route.js';

/**
 * Never written to a log: credentials in headers, and any field of a logged object named like a
 * secret. Request lines carry no headers and no bodies at all; this is the second line of defence.
 */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...[
    'password',
    'newPassword',
    'currentPassword',
    'token',
    'totp',
    'code',
    'secret',
    'clientSecret',
    'key',
    'cookie',
    'authorization',
  ].flatMap((name) => [name, `*.${name}`]),
];

/** An incoming `X-Request-Id` we pass on: short, printable, no spaces (anything else gets a fresh id). */
const SANE_REQUEST_ID = /^[\w.:+/=-]{1,128}$/;

export function requestIdOf(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SANE_REQUEST_ID.test(value) ? value : randomUUID();
}

/** Path segments that look like a mailed-link token (base64url, 20+ characters, not a UUID). */
const TOKEN_SEGMENT = /^[A-Za-z0-9_-]{20,}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The URL as logged: the path only (a query may carry an OAuth code), with token-like segments
 * (`/invitations/<token>`, `/reset-password/<token>`) replaced.
 */
export function loggedPath(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  return path
    .split('/')
    .map((segment) => (TOKEN_SEGMENT.test(segment) && !UUID.test(segment) ? '[redacted]' : segment))
    .join('/');
}

const NEST_TO_PINO: Record<LogLevel, LevelWithSilent> = {
  verbose: 'trace',
  debug: 'debug',
  log: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
};
const ORDER: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** The lowest pino level among Nest's levels (`['error']` → `error`; none → silent). */
export function pinoLevelOf(levels: readonly LogLevel[]): LevelWithSilent {
  const wanted = new Set(levels.map((level) => NEST_TO_PINO[level]));
  return ORDER.find((level) => wanted.has(level)) ?? 'silent';
}

function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/** Health probes and metric scrapes that succeed are not worth a line each (a balancer asks every few seconds). */
function isQuietProbe(req: IncomingMessage, res: ServerResponse): boolean {
  const path = ((req as Request).originalUrl ?? req.url ?? '').split('?', 1)[0] ?? '';
  return (
    res.statusCode < 400 && (path === '/metrics' || path === '/api/v1/health' || path.startsWith('/api/v1/health/'))
  );
}

/** `GET /api/v1/users/:id 200`: the message of a request line (the path as logged, not as routed). */
function requestLine(req: IncomingMessage, res: ServerResponse): string {
  return `${req.method} ${loggedPath((req as Request).originalUrl ?? req.url ?? '')} ${res.statusCode}`;
}

/** The process's root logger: level, ISO time, level names, redaction, pretty or JSON. */
function rootOptions(level: LevelWithSilent, pretty: boolean): Options {
  return {
    level,
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {}),
  };
}

/** Per request: the id, the request line and its level. */
function requestOptions(config: ObservabilityConfig): Options {
  return {
    genReqId: (req, res) => {
      const id = requestIdOf(req.headers['x-request-id']);
      res.setHeader('X-Request-Id', id);
      return id;
    },
    // Lines written while a request is handled carry its `reqId` only; the request line has the rest.
    quietReqLogger: true,
    autoLogging: config.logRequests,
    serializers: {
      req: (req: { method: string; url: string; raw?: Request }) => ({
        method: req.method,
        url: loggedPath(req.url),
        ip: req.raw?.ip,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (req, res, error) => {
      if (isQuietProbe(req, res)) return 'silent';
      // 503 and 507 are expected outages, already logged once per interval by their cause.
      if (res.statusCode === 503 || res.statusCode === 507) return 'warn';
      return error || res.statusCode >= 500 ? 'error' : 'info';
    },
    customSuccessMessage: (req, res) => requestLine(req, res),
    customErrorMessage: (req, res) => requestLine(req, res),
    customSuccessObject: (req, _res, value: object) => ({ ...value, route: routeOf(req as Request) }),
    // pino-http would attach an Error made up for the status (its stack points into pino-http); the
    // error filter has already logged the real one, with this request's id.
    customErrorObject: (req, _res, _error, value: { res?: unknown; responseTime?: number }) => ({
      res: value.res,
      responseTime: value.responseTime,
      route: routeOf(req as Request),
    }),
  };
}

export interface AppLogging {
  /** Nest's logger for the app (every `new Logger('X')` in the code writes through it). */
  readonly logger: LoggerService;
  /** First middleware of the app: request id, the request's log context, the request line. */
  readonly requests: RequestHandler;
}

/** The logger of the request being handled (pino-http's `req.log`, bound to its `reqId`), if any. */
const requestLogger = new AsyncLocalStorage<Pino>();

/**
 * Nest's LoggerService over pino: `new Logger('X').log(msg)` → `{ level, time, context: 'X', msg }`,
 * with the `reqId` of the request being handled. Nest passes the context as the last string
 * argument; before it `error(message, stack)` passes a stack, and `warn({ fields }, message)` a message.
 *
 * Why not nestjs-pino, which does this: its only releases that accept NestJS 12 (5.x) declare
 * `engines: node >= 22.12`, and Node 20 — the CI machine's — must install without an engine warning
 * (issue 14 §4). This is the part of it we used: one AsyncLocalStorage and the call mapping.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: Pino) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    const logger = requestLogger.getStore() ?? this.root;
    if (!logger.isLevelEnabled(level)) return;
    const rest = [...params];
    const context = typeof rest.at(-1) === 'string' ? (rest.pop() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    // After the context: `log(fields, message)` → the message; `error(message, stack)` → the stack.
    const text = rest.find((param): param is string => typeof param === 'string');
    if (message instanceof Error) logger[level]({ ...fields, err: message }, text ?? message.message);
    else if (typeof message === 'object' && message !== null)
      logger[level]({ ...fields, ...(message as object) }, text ?? '');
    else {
      if (text !== undefined && (level === 'error' || level === 'fatal')) fields['stack'] = text;
      logger[level](fields, String(message));
    }
  }
}

/** One root logger per process: the first app makes it (and its pretty transport); later ones (tests) set its level. */
let processRoot: Pino | undefined;

/**
 * pino as Nest's logger: JSON lines (or pino-pretty), the request id on every line written while a
 * request is handled.
 */
export function createLogging(config: ObservabilityConfig, nestLevels?: readonly LogLevel[]): AppLogging {
  const level = nestLevels ? pinoLevelOf(nestLevels) : config.logLevel;
  const pretty = config.logFormat === 'pretty' && prettyAvailable();
  const root = (processRoot ??= pino(rootOptions(level, pretty)));
  root.level = level;
  if (config.logFormat === 'pretty' && !pretty)
    root.warn('LOG_FORMAT=pretty but pino-pretty is not installed (a production install): writing JSON');
  // The request middleware is ours (the first of the Express app, so a refusal before routing still
  // gets an id and a line); it logs through the same root logger.
  const http = pinoHttp({ ...requestOptions(config), logger: root });
  const requests: RequestHandler = (req: Request, res: Response, next: NextFunction) =>
    http(req, res, () => requestLogger.run(req.log, next));
  return { logger: new PinoNestLogger(root), requests };
}
