import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { HealthDto } from '@rolecall/contracts';
import { Requires } from '../common/access.js';
import { Database } from '../database/database.service.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(@Inject(Database) private readonly db: Database) {}

  @Get()
  @Requires('public')
  async health(): Promise<HealthDto> {
    const db = (await this.db.ping()) ? 'ok' : 'down';
    return { status: db === 'ok' ? 'ok' : 'degraded', db, redis: 'disabled' };
  }
}
