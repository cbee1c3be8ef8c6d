import { Body, Delete, Get, HttpCode, Inject, Param, Patch, Post } from '@nestjs/common';
import {
  disableTotpSchema,
  idParamSchema,
  totpCodeSchema,
  updateProfileSchema,
  type DisableTotpRequest,
  type ListDto,
  type MeDto,
  type RecoveryCodesDto,
  type SessionDto,
  type TotpCodeRequest,
  type TotpSetupDto,
  type UpdateProfileRequest,
} from '@rolecall/contracts';
import type { Actor } from '../database/activity.service.js';
import { Auth, CurrentActor, type RequestAuth } from '../database/request-auth.js';
import { EnrolmentRoute, Requires } from '../common/access.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { MeService } from './me.service.js';

@ApiController('me')
@Requires('session')
export class MeController {
  constructor(@Inject(MeService) private readonly me: MeService) {}

  @Get()
  @EnrolmentRoute()
  get(@Auth() auth: RequestAuth): Promise<MeDto> {
    return this.me.me(auth);
  }

  @Patch()
  @ApiJsonBody(updateProfileSchema, 'Change your name')
  update(@Auth() auth: RequestAuth, @Body({ schema: updateProfileSchema }) body: UpdateProfileRequest): Promise<MeDto> {
    return this.me.updateProfile(auth, body.name);
  }

  @Get('sessions')
  async sessions(@Auth() auth: RequestAuth): Promise<ListDto<SessionDto>> {
    return { items: await this.me.listSessions(auth) };
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  endSession(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Param({ schema: idParamSchema }) params: { id: string },
  ): Promise<void> {
    return this.me.endSession(auth, actor, params.id);
  }

  @Post('2fa/setup')
  @HttpCode(200)
  @EnrolmentRoute()
  setupTotp(@Auth() auth: RequestAuth): Promise<TotpSetupDto> {
    return this.me.setupTotp(auth);
  }

  @Post('2fa/confirm')
  @HttpCode(200)
  @EnrolmentRoute()
  @ApiJsonBody(totpCodeSchema, 'Turn 2FA on with a first code; answers the 10 recovery codes once')
  confirmTotp(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Body({ schema: totpCodeSchema }) body: TotpCodeRequest,
  ): Promise<RecoveryCodesDto> {
    return this.me.confirmTotp(auth, actor, body.code);
  }

  @Delete('2fa')
  @HttpCode(204)
  @ApiJsonBody(disableTotpSchema, 'Turn 2FA off with a current code or a recovery code')
  disableTotp(
    @Auth() auth: RequestAuth,
    @CurrentActor() actor: Actor,
    @Body({ schema: disableTotpSchema }) body: DisableTotpRequest,
  ): Promise<void> {
    return this.me.disableTotp(auth, actor, body.code);
  }
}
