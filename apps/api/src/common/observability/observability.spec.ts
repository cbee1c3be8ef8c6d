import { QueryFailedError } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../domain-error.js';
import { databaseErrorKind, redisErrorKind } from './failures.js';
import { Logger } from '@nestjs/common';
import { pino } from 'pino';
import { loggedPath, pinoLevelOf, PinoNestLogger, requestIdOf } from './logging.js';
import { observabilityConfig } from './observability.config.js';
import { OutageLog, outageKindOf, RoundFailures, type OutageLine } from './outage-log.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const failedStatement = (code: string) =>
  new QueryFailedError('INSERT …', [], Object.assign(new Error(code), { code }));

describe(OutageLog.name, () => {
  it('prints the first failure of a kind, then one line per interval with the count held back', async () => {
    const lines: OutageLine[] = [];
    const log = new OutageLog((line) => lines.push(line), 150);
    for (let i = 0; i < 10; i += 1) log.report('database.unreachable', `refused ${i}`);
    log.report('redis.connection', 'reset');
    expect(lines).toEqual([
      { outage: 'database.unreachable', message: 'refused 0', suppressed: 0 },
      { outage: 'redis.connection', message: 'reset', suppressed: 0 },
    ]);
    await sleep(250);
    // The nine held back are told at the end of the interval, with the latest message.
    expect(lines.slice(2)).toEqual([{ outage: 'database.unreachable', message: 'refused 9', suppressed: 9 }]);
    log.report('database.unreachable', 'still refused');
    await sleep(250);
    expect(lines.slice(3)).toEqual([{ outage: 'database.unreachable', message: 'still refused', suppressed: 1 }]);
    // A quiet interval closes the window: the next failure is printed at once.
    await sleep(250);
    log.report('database.unreachable', 'again');
    expect(lines.at(-1)).toEqual({ outage: 'database.unreachable', message: 'again', suppressed: 0 });
  });
});

describe(RoundFailures.name, () => {
  it('logs a failure once while it repeats, a new message again, and the recovery once', () => {
    const lines: string[] = [];
    const logger = {
      log: (message: string) => lines.push(`log ${message}`),
      warn: (message: string) => lines.push(`warn ${message}`),
    } as unknown as Logger;
    const failures = new RoundFailures(logger, 'The sweep', 'The sweep works again');
    failures.succeeded();
    failures.failed(new Error('refused'));
    failures.failed(new Error('refused'));
    failures.failed('timed out');
    failures.failed(new Error('stopping'), true);
    failures.succeeded();
    failures.succeeded();
    expect(lines).toEqual([
      'warn The sweep failed (retrying): refused',
      'warn The sweep failed (retrying): timed out',
      'log The sweep works again',
    ]);
  });
});

describe('request ids and logged paths', () => {
  it('keeps a sane X-Request-Id and replaces anything else', () => {
    expect(requestIdOf('abc-123.x:y/z=')).toBe('abc-123.x:y/z=');
    expect(requestIdOf(['first-id', 'second'])).toBe('first-id');
    for (const insane of ['has space', 'x'.repeat(129), '', 'quote"', 'new\nline', undefined]) {
      expect(requestIdOf(insane)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('logs the path without its query and without token-like segments, keeping ids', () => {
    expect(loggedPath('/api/v1/auth/sso/google/callback?code=secret&state=x')).toBe('/api/v1/auth/sso/google/callback');
    expect(loggedPath('/api/v1/invitations/Zm9vYmFyYmF6cXV4cXV1eHh5enp5eHh5enp5eHh5enp5')).toBe(
      '/api/v1/invitations/[redacted]',
    );
    expect(loggedPath('/reset-password/abcdefghijklmnopqrstuvwxyz_-0123456789ABCDEFG')).toBe(
      '/reset-password/[redacted]',
    );
    expect(loggedPath('/api/v1/users/7d444840-9dc0-11d1-b245-5ffdce74fad2')).toBe(
      '/api/v1/users/7d444840-9dc0-11d1-b245-5ffdce74fad2',
    );
  });

  it('maps Nest log levels to the lowest pino level', () => {
    expect(pinoLevelOf(['error'])).toBe('error');
    expect(pinoLevelOf(['warn', 'error', 'log'])).toBe('info');
    expect(pinoLevelOf(['verbose'])).toBe('trace');
    expect(pinoLevelOf([])).toBe('silent');
  });

  it('reads LOG_LEVEL, LOG_FORMAT, LOG_REQUESTS and METRICS_TOKEN', () => {
    expect(observabilityConfig({})).toEqual({
      logLevel: 'info',
      logFormat: 'json',
      logRequests: true,
      metricsToken: null,
    });
    expect(observabilityConfig({ NODE_ENV: 'development' }).logFormat).toBe('pretty');
    expect(observabilityConfig({ NODE_ENV: 'development', LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(observabilityConfig({ LOG_REQUESTS: 'false', LOG_LEVEL: 'WARN' })).toMatchObject({
      logRequests: false,
      logLevel: 'warn',
    });
    expect(() => observabilityConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
    expect(() => observabilityConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
    expect(() => observabilityConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });
});

describe('failure kinds', () => {
  it('classifies database failures for the metric, and leaves domain refusals out', () => {
    expect(databaseErrorKind(failedStatement('SQLITE_FULL'))).toBe('storage_full');
    expect(
      databaseErrorKind(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })),
    ).toBe('unavailable');
    expect(databaseErrorKind(failedStatement('40P01'))).toBe('deadlock');
    expect(databaseErrorKind(failedStatement('23505'))).toBe('constraint');
    expect(databaseErrorKind(failedStatement('SQLITE_CONSTRAINT_UNIQUE'))).toBe('constraint');
    expect(databaseErrorKind(failedStatement('42P01'))).toBe('other');
    expect(databaseErrorKind(new DomainError('NOT_FOUND', 'No such member'))).toBeNull();
    expect(databaseErrorKind(new Error('a bug'))).toBeNull();
  });

  it('tells outages from bugs', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(outageKindOf(refused)).toBe('database.unreachable');
    expect(outageKindOf(Object.assign(new DomainError('UNAVAILABLE', 'down'), { cause: refused }))).toBe(
      'database.unreachable',
    );
    expect(outageKindOf(new DomainError('STORAGE_FULL', 'full'))).toBe('outage.STORAGE_FULL');
    expect(outageKindOf(new DomainError('CONFLICT', 'taken'))).toBeNull();
    expect(outageKindOf(new TypeError('x is undefined'))).toBeNull();
  });

  it('classifies Redis failures', () => {
    expect(redisErrorKind(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe('connection');
    expect(redisErrorKind(new AggregateError([], ''))).toBe('connection');
    expect(redisErrorKind(Object.assign(new Error('Connection timeout'), { name: 'ConnectionTimeoutError' }))).toBe(
      'timeout',
    );
    expect(redisErrorKind(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(
      'command',
    );
  });
});

describe(PinoNestLogger.name, () => {
  /** Nest's Logger in front of ours, writing JSON lines into an array, as the app's logger does. */
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const root = pino(
      { level: 'trace', base: null },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    return { lines, nest: new PinoNestLogger(root) };
  }

  it('maps Nest’s calls: context, message, a stack on error, fields with a message on warn, an Error', () => {
    const { lines, nest } = capture();
    nest.log('started', 'Boot');
    nest.error('it broke', 'Error: it broke\n    at somewhere', 'Mail');
    nest.warn({ outage: 'database.unreachable', suppressed: 2 }, 'refused', 'Outage');
    nest.error(new Error('boom'), 'Live');
    nest.verbose('details');
    expect(lines.map(({ time: _time, ...line }) => line)).toEqual([
      { level: 30, context: 'Boot', msg: 'started' },
      { level: 50, context: 'Mail', stack: 'Error: it broke\n    at somewhere', msg: 'it broke' },
      { level: 40, context: 'Outage', outage: 'database.unreachable', suppressed: 2, msg: 'refused' },
      expect.objectContaining({
        level: 50,
        context: 'Live',
        msg: 'boom',
        err: expect.objectContaining({ message: 'boom' }),
      }),
      { level: 10, msg: 'details' },
    ]);
  });

  it('is what a `new Logger(context)` in the code writes through once it is the app logger', () => {
    const { lines, nest } = capture();
    Logger.overrideLogger(nest);
    try {
      new Logger('Members').warn('seat limit close');
    } finally {
      Logger.overrideLogger(['log', 'warn', 'error']);
    }
    expect(lines).toEqual([expect.objectContaining({ level: 40, context: 'Members', msg: 'seat limit close' })]);
  });
});
