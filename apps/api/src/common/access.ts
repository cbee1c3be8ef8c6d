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

export const ENROLMENT_ROUTE_KEY = 'rolecall:enrolment-route';

/**
 * A `session` route that a session limited to 2FA enrolment (the account requires 2FA, the person
 * has none) may reach: who am I, set up and confirm TOTP, sign out. The guard refuses every other
 * route to such a session.
 */
export const EnrolmentRoute = () => SetMetadata(ENROLMENT_ROUTE_KEY, true);

export const API_KEY_ROUTE_KEY = 'rolecall:api-key-route';

/**
 * A `session` route that an API key may reach (only its own "who am I"); every other `session`
 * route is about a person and the guard refuses it to a key.
 */
export const ApiKeyRoute = () => SetMetadata(API_KEY_ROUTE_KEY, true);
