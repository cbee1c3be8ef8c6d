import { Body, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
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
import type { Actor } from '../database/activity.service.js';
import { EnrolmentRoute, Requires } from '../common/access.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { AuthService } from './auth.service.js';
import { Auth, CurrentActor, requestMeta, type RequestAuth } from '../database/request-auth.js';
import { clearSessionCookie, setSessionCookie } from '../infra/session-cookie.js';

@ApiController({ tags: ['auth'] })
export class AuthController {
  constructor(
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('signup')
  @Requires('public')
  @ApiJsonBody(signupSchema, 'Create an account; the new person is its owner, billing contact and Admin')
  async signup(
    @Body({ schema: signupSchema }) body: SignupRequest & { email: string },
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<AuthResultDto> {
    const result = await this.auth.signup(body, requestMeta(request));
    setSessionCookie(response, this.config, result.token);
    return result;
  }

  @Post('auth/sign-in')
  @HttpCode(200)
  @Requires('public')
  @ApiJsonBody(signInSchema, 'Sign in with email, password and, with 2FA on, a TOTP or recovery code')
  async signIn(
    @Body({ schema: signInSchema }) body: SignInRequest & { email: string },
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<AuthResultDto> {
    const result = await this.auth.signIn(body, requestMeta(request));
    setSessionCookie(response, this.config, result.token);
    return result;
  }

  @Post('auth/sign-out')
  @HttpCode(204)
  @Requires('session')
  @EnrolmentRoute()
  async signOut(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) response: Response,
  ): Promise<void> {
    await this.auth.signOut(auth.session, actor);
    clearSessionCookie(response, this.config);
  }

  @Post('auth/switch-account')
  @HttpCode(200)
  @Requires('session')
  @ApiJsonBody(switchAccountSchema, 'Move this session to another account of the signed-in person')
  switchAccount(
    @Auth() auth: RequestAuth,
    @Body({ schema: switchAccountSchema }) body: SwitchAccountRequest,
  ): Promise<AuthResultDto> {
    return this.auth.switchAccount(auth.token, auth.session, auth.person, body.accountId);
  }
}
