import type { MeDto } from '@rolecall/contracts';
import { Live, type LiveOptions } from './live.js';
import { Rest, type RestOptions } from './rest.js';

export { ApiError, Rest, type RequestOptions, type RestOptions } from './rest.js';
export { Live, type LiveOptions, type PermissionState } from './live.js';

/**
 * The Rolecall SDK: REST helpers and the live subscription, for the dashboard and for other apps
 * that want their users' permissions live.
 */
export class RolecallClient {
  readonly rest: Rest;
  readonly live: Live;

  constructor(options: RestOptions & LiveOptions = {}) {
    this.rest = new Rest(options);
    this.live = new Live({ ...options, rest: this.rest });
  }

  me(): Promise<MeDto> {
    return this.rest.get<MeDto>('/me');
  }

  /** Loads `/me`, then connects the live layer starting from that permission set. */
  async connect(): Promise<MeDto> {
    const me = await this.me();
    await this.live.connect(me);
    return me;
  }

  can(key: Parameters<Live['can']>[0]): boolean {
    return this.live.can(key);
  }
}
