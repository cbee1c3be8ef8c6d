import { Body, Inject, Query, Res } from '@nestjs/common';
import {
  dryRunQuerySchema,
  importInvitationsSchema,
  type ImportPreviewDto,
  type ImportResultDto,
} from '@rolecall/contracts';
import type { Response } from 'express';
import type { z } from 'zod';
import { RateLimitService } from '../infra/rate-limit.service.js';
import { Acting } from '../database/request-auth.js';
import { PostRoute } from '../common/routes.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { InvitationsImport } from './invitations-import.js';

/**
 * CSV into the member list (issue 17 §3): one invitation per row. Under `/users` beside the export
 * (members-csv.controller), and registered before `MembersController` as that one is.
 */
@ApiController('users')
export class InvitationsImportController {
  constructor(
    @Inject(InvitationsImport) private readonly importer: InvitationsImport,
    @Inject(RateLimitService) private readonly limits: RateLimitService,
  ) {}

  /** `?dryRun=true` → 200 with every row and its errors; otherwise 201 with one invitation per row, all or nothing. */
  @PostRoute('import', 'users.manage')
  @ApiJsonBody(
    importInvitationsSchema,
    'Invitations from a CSV (email, role, agent access, teams; up to 1,000 rows, 1 MB)',
  )
  async import(
    @Acting() { auth, actor }: Acting,
    @Query({ schema: dryRunQuerySchema }) query: z.output<typeof dryRunQuerySchema>,
    @Body({ schema: importInvitationsSchema }) body: z.output<typeof importInvitationsSchema>,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ImportPreviewDto | ImportResultDto> {
    if (query.dryRun) {
      response.status(200);
      return this.importer.preview(auth, body.csv);
    }
    // As invitation creation: one import is one request of the account's invitation budget.
    await this.limits.consume('invitations', auth.account.id);
    return this.importer.import(auth, actor, body.csv);
  }
}
