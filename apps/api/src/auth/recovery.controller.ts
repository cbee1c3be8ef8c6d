import { Body, Inject, Param, Req } from '@nestjs/common';
import {
  invitationTokenParamSchema,
  passwordResetConfirmSchema,
  passwordResetSchema,
  verifyEmailSchema,
  type PasswordResetConfirmRequest,
  type PasswordResetInfoDto,
  type PasswordResetRequest,
  type VerifyEmailInfoDto,
  type VerifyEmailRequest,
} from '@rolecall/contracts';
import type { Request } from 'express';
import { GetRoute, PostAction } from '../common/routes.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { EmailVerification } from './email-verification.service.js';
import { PasswordReset } from './password-reset.service.js';
import { Auth, requestMeta, tokenOf, type RequestAuth } from '../database/request-auth.js';

/** Email verification and forgotten passwords: the routes behind the mailed links (issue 13). */
@ApiController({ tags: ['auth'] })
export class RecoveryController {
  constructor(
    @Inject(EmailVerification) private readonly verification: EmailVerification,
    @Inject(PasswordReset) private readonly reset: PasswordReset,
  ) {}

  @GetRoute('auth/verify-email/:token', 'public')
  verifyInfo(
    @Param({ schema: invitationTokenParamSchema }) params: { token: string },
    @Req() request: Request,
  ): Promise<VerifyEmailInfoDto> {
    return this.verification.info(params.token, requestMeta(request));
  }

  @PostAction('auth/verify-email', 'public', 204)
  @ApiJsonBody(
    verifyEmailSchema,
    'Confirm the email with the mailed token; without a session of that person, take the unverified login over with a new password',
  )
  async verify(@Body({ schema: verifyEmailSchema }) body: VerifyEmailRequest, @Req() request: Request): Promise<void> {
    await this.verification.verify(body, tokenOf(request), requestMeta(request));
  }

  @PostAction('me/verify-email', 'session', 204)
  async resend(@Auth() auth: RequestAuth): Promise<void> {
    await this.verification.resend(auth.person);
  }

  @PostAction('auth/password-reset', 'public', 202)
  @ApiJsonBody(passwordResetSchema, 'Mail a password-reset link (202 whatever the email)')
  async requestReset(
    @Body({ schema: passwordResetSchema }) body: PasswordResetRequest & { email: string },
    @Req() request: Request,
  ): Promise<void> {
    await this.reset.request(body.email, requestMeta(request));
  }

  @GetRoute('auth/password-reset/:token', 'public')
  resetInfo(
    @Param({ schema: invitationTokenParamSchema }) params: { token: string },
    @Req() request: Request,
  ): Promise<PasswordResetInfoDto> {
    return this.reset.info(params.token, requestMeta(request));
  }

  @PostAction('auth/password-reset/confirm', 'public', 204)
  @ApiJsonBody(
    passwordResetConfirmSchema,
    'Set a new password with the mailed token (and a 2FA code when on); ends every session',
  )
  async confirmReset(
    @Body({ schema: passwordResetConfirmSchema }) body: PasswordResetConfirmRequest,
    @Req() request: Request,
  ): Promise<void> {
    await this.reset.confirm(body, requestMeta(request));
  }
}
