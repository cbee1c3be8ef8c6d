import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { HealthDto } from '@rolecall/contracts';
import { Requires } from '../common/access.js';
import { Database } from '../database/database.service.js';
import { RedisBridge } from '../live/redis-bridge.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(RedisBridge) private readonly redis: RedisBridge,
  ) {}

  @Get()
  @Requires('public')
  async health(): Promise<HealthDto> {
    const db = (await this.db.ping()) ? 'ok' : 'down';
    const redis = await this.redis.ping();
    return { status: db === 'ok' && redis !== 'down' ? 'ok' : 'degraded', db, redis };
  }
}
