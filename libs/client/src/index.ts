import type { MeDto, ServiceAccountSelfDto } from '@rolecall/contracts';
import { Live, whoAmIPath, type LiveOptions } from './live.js';
import { Rest, type RestOptions } from './rest.js';

export { ApiError, Rest, type RequestOptions, type RestOptions } from './rest.js';
export { Live, whoAmIPath, type LiveOptions, type PermissionState, type WhoAmI } from './live.js';

/**
 * The Rolecall SDK: REST helpers and the live subscription, for the dashboard and for other apps
 * that want their users' permissions live.
 */
export class RolecallClient {
  readonly rest: Rest;
  readonly live: Live;

  constructor(options: RestOptions & LiveOptions = {}) {
    this.rest = new Rest(options);
    this.live = new Live(options);
  }

  me(): Promise<MeDto> {
    return this.rest.get<MeDto>('/me');
  }

  /** With an API key (`rck_…`): its service account, role and permissions (`GET /service-accounts/self`). */
  serviceAccount(): Promise<ServiceAccountSelfDto> {
    return this.rest.get<ServiceAccountSelfDto>('/service-accounts/self');
  }

  /**
   * Loads "who am I" (`/me`, or `/service-accounts/self` for an API key), then connects the live
   * layer starting from that permission set.
   */
  async connect(): Promise<MeDto | ServiceAccountSelfDto> {
    const me = await this.rest.get<MeDto | ServiceAccountSelfDto>(whoAmIPath(this.rest.token));
    await this.live.connect(me);
    return me;
  }

  can(key: Parameters<Live['can']>[0]): boolean {
    return this.live.can(key);
  }
}
