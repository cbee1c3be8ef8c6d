import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { listActivityQuerySchema, type ActivityEntryDto, type ActivityVerifyDto, type PageDto } from '@rolecall/contracts';
import type { z } from 'zod';
import { Auth, type RequestAuth } from '../auth/request-auth.js';
import { Requires } from '../common/access.js';
import { ActivityService } from './activity.service.js';

@ApiTags('activity')
@Controller('activity')
export class ActivityController {
  constructor(@Inject(ActivityService) private readonly activity: ActivityService) {}

  /** Newest first; `cursor` is the `seq` to continue below. */
  @Get()
  @Requires('activity.view')
  list(@Auth() auth: RequestAuth, @Query({ schema: listActivityQuerySchema }) query: z.output<typeof listActivityQuerySchema>): Promise<PageDto<ActivityEntryDto>> {
    return this.activity.list(auth.account.id, query);
  }

  @Get('verify')
  @Requires('activity.view')
  verify(@Auth() auth: RequestAuth): Promise<ActivityVerifyDto> {
    return this.activity.verify(auth.account.id);
  }
}
