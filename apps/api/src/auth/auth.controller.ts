import { Body, Inject, Req, Res } from '@nestjs/common';
import {
  signInSchema,
  signupSchema,
  switchAccountSchema,
  type AuthResultDto,
  type SignInRequest,
  type SignupRequest,
  type SwitchAccountRequest,
} from '@rolecall/contracts';
import type { Request, Response } from 'express';
import { EnrolmentRoute } from '../common/access.js';
import { PostAction, PostRoute } from '../common/routes.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { AuthService } from './auth.service.js';
import { Acting, Auth, requestMeta, type RequestAuth } from '../database/request-auth.js';
import { clearSessionCookie, SignsIn } from '../infra/session-cookie.js';

@ApiController({ tags: ['auth'] })
export class AuthController {
  constructor(
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @PostRoute('signup', 'public')
  @ApiJsonBody(signupSchema, 'Create an account; the new person is its owner, billing contact and Admin')
  @SignsIn()
  signup(
    @Body({ schema: signupSchema }) body: SignupRequest & { email: string },
    @Req() request: Request,
  ): Promise<AuthResultDto> {
    return this.auth.signup(body, requestMeta(request));
  }

  @PostAction('auth/sign-in', 'public')
  @ApiJsonBody(signInSchema, 'Sign in with email, password and, with 2FA on, a TOTP or recovery code')
  @SignsIn()
  signIn(
    @Body({ schema: signInSchema }) body: SignInRequest & { email: string },
    @Req() request: Request,
  ): Promise<AuthResultDto> {
    return this.auth.signIn(body, requestMeta(request));
  }

  @PostAction('auth/sign-out', 'session', 204)
  @EnrolmentRoute()
  async signOut(@Acting() { auth, actor }: Acting, @Res({ passthrough: true }) response: Response): Promise<void> {
    await this.auth.signOut(auth.session, actor);
    clearSessionCookie(response, this.config);
  }

  @PostAction('auth/switch-account', 'session')
  @ApiJsonBody(switchAccountSchema, 'Move this session to another account of the signed-in person')
  switchAccount(
    @Auth() auth: RequestAuth,
    @Body({ schema: switchAccountSchema }) body: SwitchAccountRequest,
  ): Promise<AuthResultDto> {
    return this.auth.switchAccount(auth.token, auth.session, auth.person, body.accountId);
  }
}
