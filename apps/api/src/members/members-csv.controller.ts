import { Inject, Query, Res } from '@nestjs/common';
import { exportMembersQuerySchema } from '@rolecall/contracts';
import type { Response } from 'express';
import type { z } from 'zod';
import { Acting } from '../database/request-auth.js';
import { GetRoute } from '../common/routes.js';
import { MembersExport } from './members-export.js';
import { ApiController } from '../common/openapi.js';

/**
 * CSV out of the member list (issue 17 §3; the import is invitations-import.controller). Registered
 * before `MembersController`, whose `GET /users/:id` would otherwise take `export` for an id.
 */
@ApiController('users')
export class MembersCsvController {
  constructor(@Inject(MembersExport) private readonly exporter: MembersExport) {}

  /** Every member matching `GET /users`' filters, in its order, as CSV (streamed; logged as `users.exported`). */
  @GetRoute('export', 'users.view')
  async export(
    @Acting() { auth, actor }: Acting,
    @Query({ schema: exportMembersQuerySchema }) query: z.output<typeof exportMembersQuerySchema>,
    @Res() response: Response,
  ): Promise<void> {
    await this.exporter.stream(auth, actor, query, response);
  }
}
