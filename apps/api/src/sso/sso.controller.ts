import { Inject, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import {
  ssoCallbackQuerySchema,
  ssoProviderParamSchema,
  ssoProvidersQuerySchema,
  ssoStartQuerySchema,
  type SsoProvidersDto,
} from '@rolecall/contracts';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { requestMeta } from '../database/request-auth.js';
import { setSessionCookie } from '../infra/session-cookie.js';
import { GetRoute } from '../common/routes.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { failureOf, SsoFailure } from '../infra/oidc-clients.js';
import { FLOW_TTL_MS, SsoService } from './sso.service.js';
import { ApiController } from '../common/openapi.js';

/** The browser-binding cookie of SSO flows: only sent to the SSO routes. */
const SSO_BINDING_COOKIE = 'rolecall_sso';
const SSO_COOKIE_PATH = '/api/v1/auth/sso';

/**
 * Single sign-on routes. `start` and `callback` are navigated to by the browser, so they always
 * answer with a redirect: to the provider, to the dashboard with a session cookie, or to
 * `/signin?sso_error=<code>` (relative, so it stays on the dashboard's origin) with no session.
 */
@ApiController({ path: 'auth/sso', tags: ['auth'] })
export class SsoController {
  constructor(
    @Inject(SsoService) private readonly sso: SsoService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @GetRoute('providers', 'public')
  @ApiOperation({
    summary: 'Which SSO providers the sign-in page can offer (for ?account=, only the enforced one under enforcement)',
  })
  providers(
    @Query({ schema: ssoProvidersQuerySchema }) query: z.output<typeof ssoProvidersQuerySchema>,
  ): Promise<SsoProvidersDto> {
    return this.sso.providers(query.account);
  }

  @GetRoute(':provider/start', 'public')
  @ApiOperation({
    summary: '302 to the provider (authorization code flow with PKCE, state and nonce); ?account=<id>&next=<path>',
  })
  async start(
    @Param({ schema: ssoProviderParamSchema }) params: z.output<typeof ssoProviderParamSchema>,
    @Query({ schema: ssoStartQuerySchema }) query: z.output<typeof ssoStartQuerySchema>,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    try {
      const { location, binding } = await this.sso.start({
        provider: params.provider,
        accountId: query.account,
        next: query.next,
        binding: this.bindingOf(request),
        meta: requestMeta(request),
      });
      response.cookie(SSO_BINDING_COOKIE, binding, { ...this.cookieOptions(), maxAge: FLOW_TTL_MS });
      response.redirect(302, location);
    } catch (error) {
      this.refuse(response, failureOf(error), query.account ?? null);
    }
  }

  @GetRoute(':provider/callback', 'public')
  @ApiOperation({
    summary: "The provider's redirect back: validates, signs in, 302 to the dashboard (or /signin?sso_error=)",
  })
  async callback(
    @Param({ schema: ssoProviderParamSchema }) params: z.output<typeof ssoProviderParamSchema>,
    @Query({ schema: ssoCallbackQuerySchema }) query: z.output<typeof ssoCallbackQuerySchema>,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    try {
      const result = await this.sso.finish({
        provider: params.provider,
        state: query.state,
        error: query.error,
        rawQuery: request.originalUrl.split('?')[1] ?? '',
        binding: this.bindingOf(request),
        meta: requestMeta(request),
      });
      setSessionCookie(response, this.config, result.token);
      response.redirect(302, result.next);
    } catch (error) {
      const failure = failureOf(error);
      this.refuse(response, failure, failure.accountId);
    }
  }

  private refuse(response: Response, failure: SsoFailure, accountId: string | null): void {
    if (failure.code === 'INTERNAL') this.sso.logError(failure);
    else this.sso.logFailure(failure);
    const query = new URLSearchParams({ sso_error: failure.code, ...(accountId ? { account: accountId } : {}) });
    response.redirect(302, `/signin?${query.toString()}`);
  }

  private bindingOf(request: Request): string | null {
    const value = (request.cookies as Record<string, unknown> | undefined)?.[SSO_BINDING_COOKIE];
    return typeof value === 'string' ? value : null;
  }

  private cookieOptions() {
    return {
      httpOnly: true,
      sameSite: 'lax' as const,
      secure: this.config.publicUrl.startsWith('https://'),
      path: SSO_COOKIE_PATH,
    };
  }
}
