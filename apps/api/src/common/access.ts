import { SetMetadata } from '@nestjs/common';
import type { PermissionKey } from '@rolecall/contracts';

/** Who may call a route: anyone, any signed-in session, or a member holding a permission. */
export type Access = 'public' | 'session' | PermissionKey | readonly PermissionKey[];

export const ACCESS_KEY = 'rolecall:access';

/**
 * Declares a route's access. Every route must carry one (a test walks them all); the global guard
 * denies a route without one. A list means "any of these".
 */
export const Requires = (access: Access) => SetMetadata(ACCESS_KEY, access);
