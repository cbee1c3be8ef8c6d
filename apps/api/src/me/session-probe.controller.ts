import { Inject, Req, Res } from '@nestjs/common';
import type { SessionProbeDto } from '@rolecall/contracts';
import type { Request, Response } from 'express';
import { GetRoute } from '../common/routes.js';
import { DomainError } from '../common/domain-error.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { MeService } from './me.service.js';
import { PermissionsService } from '../database/permissions.service.js';
import { SessionsService } from '../database/sessions.service.js';
import { SESSION_COOKIE, tokenOf } from '../database/request-auth.js';
import { clearSessionCookie } from '../infra/session-cookie.js';
import { ApiController } from '../common/openapi.js';

/**
 * `GET /auth/session` (issue 15): `GET /me` for a page that does not know whether anyone is signed
 * in — always 200, `{ signedIn: false }` where `GET /me` answers 401. The dashboard loads the
 * signed-in person through it, so a signed-out visitor's browser logs no failed request. It tells
 * a caller no more than `GET /me`'s 401 does, and every other route still needs its session.
 */
@ApiController({ path: 'auth/session', tags: ['auth'] })
export class SessionProbeController {
  constructor(
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
    @Inject(MeService) private readonly me: MeService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @GetRoute('', 'public')
  async probe(@Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<SessionProbeDto> {
    const token = tokenOf(request);
    if (!token) return { signedIn: false };
    let auth;
    try {
      // As the guard does for `GET /me`: a session limited to 2FA enrolment is signed in.
      auth = await this.sessions.authenticate(token, { allowEnrolmentOnly: true });
    } catch (error) {
      // 401 (no such session, ended, revoked, expired) is "signed out"; anything else (SSO_REQUIRED,
      // an outage) is answered as `GET /me` answers it.
      if (!(error instanceof DomainError) || error.status !== 401) throw error;
      // A dead session cookie is dropped, so the next visit need not look it up.
      const cookie = (request.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE];
      if (cookie === token) clearSessionCookie(response, this.config);
      return { signedIn: false };
    }
    const permissions = await this.permissions.resolve(auth.member, auth.account, auth.role);
    return { signedIn: true, me: await this.me.me({ ...auth, permissions, required: null }) };
  }
}
