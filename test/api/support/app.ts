import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createApp } from '../../../apps/api/src/app.factory.js';
import { Clock } from '../../../apps/api/src/common/clock.js';
import { DEFAULT_RATE_LIMITS, loadConfig, type AppConfig, type RateLimitConfig } from '../../../apps/api/src/config.js';
import { MailService } from '../../../apps/api/src/infra/mail.service.js';

/** A clock the test moves by hand. */
class TestClock extends Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface TestApp {
  readonly url: string;
  readonly app: INestApplication;
  readonly clock: TestClock;
  readonly config: AppConfig;
  readonly database: 'sqlite' | 'postgres';
  /** Settles once every mail sent after an answer (verification, password reset) is out. */
  mailSettled(): Promise<void>;
  close(): Promise<void>;
}

/** `DATABASE_URL` set → each app gets a fresh PostgreSQL database; otherwise a temp SQLite file. */
export const usingPostgres = Boolean(process.env['DATABASE_URL']);

async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = new URL(process.env['DATABASE_URL']!);
  const name = `rolecall_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: base.toString() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * scrypt at N = 2^10 instead of production's 2^15 (~2 ms instead of ~60 ms a hash): the suites sign
 * up and sign in thousands of times, and at production cost scrypt was half of `concurrency.spec`'s
 * and `authorization.spec`'s time. Hashing is the same code at another cost (common/passwords.spec.ts
 * checks production's, and that a hash of either cost verifies); processes started from the built
 * API (support/nodes.ts) hash at production cost, as the environment cannot lower it.
 */
const TEST_PASSWORD_COST = { N: 1 << 10, r: 8, p: 1 } as const;

/** Starts the whole API on a random port of 127.0.0.1 against a database of its own. */
export async function startApp(
  options: { rateLimits?: Partial<RateLimitConfig>; overrides?: Partial<AppConfig> } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rolecall-test-'));
  const pgDb = usingPostgres ? await freshPostgresDatabase() : null;
  const config = loadConfig(
    {},
    {
      port: 0,
      dataDir,
      databaseUrl: pgDb?.url ?? null,
      webRoot: null,
      rateLimits: { ...DEFAULT_RATE_LIMITS, ...options.rateLimits },
      passwordCost: TEST_PASSWORD_COST,
      ...options.overrides,
    },
  );
  const clock = new TestClock();
  const app = await createApp(config, { clock, logLevels: ['error'] });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    app,
    clock,
    config,
    database: pgDb ? 'postgres' : 'sqlite',
    mailSettled: () => app.get(MailService).idle(),
    close: async () => {
      await app.close();
      await pgDb?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
