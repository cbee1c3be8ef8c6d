import { Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import type { HealthDto } from '@rolecall/contracts';
import type { Response } from 'express';
import { GetRoute } from '../common/routes.js';
import { DatabaseProbe, ProcessProbe, ReadinessLog, RedisProbe } from './probes.js';
import { ApiController } from '../common/openapi.js';

/**
 * Liveness and readiness (SPEC §8), the NestJS way (@nestjs/terminus). Every probe has a timeout
 * (probes.ts), so each answer comes within about half a second whatever the dependencies do.
 *
 * - `GET /health/live`: 200 while the process is sound; 503 once it is shutting down (or its event
 *   loop stalled). A database or Redis outage does not fail it: restarting would not help.
 * - `GET /health/ready`: 503 while the database or (with REDIS_URL) Redis is unreachable, and while
 *   shutting down, so a load balancer stops routing here.
 * - `GET /health`: the readiness answer in its original shape `{ status, db, redis }`, plus `storage`:
 *   a full disk makes it `degraded` but stays 200 (reads are served; see DatabaseProbe.check).
 */
@ApiController('health')
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(DatabaseProbe) private readonly database: DatabaseProbe,
    @Inject(RedisProbe) private readonly redis: RedisProbe,
    @Inject(ProcessProbe) private readonly process: ProcessProbe,
    @Inject(ReadinessLog) private readonly log: ReadinessLog,
  ) {}

  @GetRoute('', 'public')
  async summary(@Res({ passthrough: true }) response: Response): Promise<HealthDto> {
    const result = await this.readiness();
    response.status(result.status === 'ok' ? 200 : 503);
    const { database, redis } = result.details;
    const storage = this.database.storage();
    return {
      status: result.status === 'ok' && storage === 'ok' ? 'ok' : 'degraded',
      db: database?.status === 'up' ? 'ok' : 'down',
      redis: !this.redis.configured ? 'disabled' : redis?.status === 'up' ? 'ok' : 'down',
      storage,
    };
  }

  @GetRoute('live', 'public')
  @HealthCheck()
  async live(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    const result = await this.run([() => this.process.check()]);
    response.status(result.status === 'ok' ? 200 : 503);
    return result;
  }

  @GetRoute('ready', 'public')
  @HealthCheck()
  async ready(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    const result = await this.readiness();
    response.status(result.status === 'ok' ? 200 : 503);
    return result;
  }

  private async readiness(): Promise<HealthCheckResult> {
    const checks: HealthIndicatorFunction[] = [() => this.process.check(), () => this.database.check()];
    if (this.redis.configured) checks.push(() => this.redis.check());
    const result = await this.run(checks);
    this.log.record(
      Object.fromEntries(
        Object.entries(result.details)
          .filter(([, detail]) => detail.status === 'down')
          .map(([name, detail]) => [name, String(detail['message'] ?? 'down')]),
      ),
    );
    return result;
  }

  /** Terminus answers a failed check with a 503 exception carrying the result; we answer it as a body. */
  private async run(checks: HealthIndicatorFunction[]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (error instanceof ServiceUnavailableException) return error.getResponse() as HealthCheckResult;
      throw error;
    }
  }
}
