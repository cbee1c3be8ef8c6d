import { Body, Get, Inject, Patch } from '@nestjs/common';
import {
  disableTotpSchema,
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
import { Acting, Auth, type RequestAuth } from '../database/request-auth.js';
import { EnrolmentRoute, Requires } from '../common/access.js';
import { DeleteRoute, IdParam, PostAction, type IdParams } from '../common/routes.js';
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
  update(
    @Acting() { auth, actor }: Acting,
    @Body({ schema: updateProfileSchema }) body: UpdateProfileRequest,
  ): Promise<MeDto> {
    return this.me.updateProfile(auth, actor, body.name);
  }

  @Get('sessions')
  async sessions(@Auth() auth: RequestAuth): Promise<ListDto<SessionDto>> {
    return { items: await this.me.listSessions(auth) };
  }

  @DeleteRoute('sessions/:id')
  endSession(@Acting() { auth, actor }: Acting, @IdParam() { id }: IdParams): Promise<void> {
    return this.me.endSession(auth, actor, id);
  }

  @PostAction('2fa/setup')
  @EnrolmentRoute()
  setupTotp(@Auth() auth: RequestAuth): Promise<TotpSetupDto> {
    return this.me.setupTotp(auth);
  }

  @PostAction('2fa/confirm')
  @EnrolmentRoute()
  @ApiJsonBody(totpCodeSchema, 'Turn 2FA on with a first code; answers the 10 recovery codes once')
  confirmTotp(
    @Acting() { auth, actor }: Acting,
    @Body({ schema: totpCodeSchema }) body: TotpCodeRequest,
  ): Promise<RecoveryCodesDto> {
    return this.me.confirmTotp(auth, actor, body.code);
  }

  @DeleteRoute('2fa')
  @ApiJsonBody(disableTotpSchema, 'Turn 2FA off with a current code or a recovery code')
  disableTotp(
    @Acting() { auth, actor }: Acting,
    @Body({ schema: disableTotpSchema }) body: DisableTotpRequest,
  ): Promise<void> {
    return this.me.disableTotp(auth, actor, body.code);
  }
}
