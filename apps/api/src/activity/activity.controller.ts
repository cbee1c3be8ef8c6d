import { Inject, Query, Res } from '@nestjs/common';
import {
  exportActivityQuerySchema,
  listActivityQuerySchema,
  type ActivityEntryDto,
  type ActivityVerifyDto,
  type PageDto,
} from '@rolecall/contracts';
import type { Response } from 'express';
import type { z } from 'zod';
import { Auth, type RequestAuth } from '../database/request-auth.js';
import { GetRoute } from '../common/routes.js';
import { ActivityExport } from './activity-export.js';
import { ActivityService } from '../database/activity.service.js';
import { ApiController } from '../common/openapi.js';

@ApiController('activity')
export class ActivityController {
  constructor(
    @Inject(ActivityService) private readonly activity: ActivityService,
    @Inject(ActivityExport) private readonly exporter: ActivityExport,
  ) {}

  /** Newest first; `cursor` is the `seq` to continue below. */
  @GetRoute('', 'activity.view')
  list(
    @Auth() auth: RequestAuth,
    @Query({ schema: listActivityQuerySchema }) query: z.output<typeof listActivityQuerySchema>,
  ): Promise<PageDto<ActivityEntryDto>> {
    return this.activity.list(auth.account.id, query);
  }

  @GetRoute('verify', 'activity.view')
  verify(@Auth() auth: RequestAuth): Promise<ActivityVerifyDto> {
    return this.activity.verify(auth.account.id);
  }

  /**
   * The whole log (or `GET /activity`'s filters of it), oldest first, streamed as ndjson or CSV; each
   * line carries every hashed field, `prevHash` and `hash` (`npm run verify-export -- file.ndjson`).
   */
  @GetRoute('export', 'activity.view')
  async export(
    @Auth() auth: RequestAuth,
    @Query({ schema: exportActivityQuerySchema }) query: z.output<typeof exportActivityQuerySchema>,
    @Res() response: Response,
  ): Promise<void> {
    const { format, ...filters } = query;
    await this.exporter.stream(auth.account.id, format, filters, response);
  }
}
