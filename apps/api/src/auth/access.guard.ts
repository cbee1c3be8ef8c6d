import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ACCESS_KEY, API_KEY_ROUTE_KEY, ENROLMENT_ROUTE_KEY, type Access } from '../common/access.js';
import { DomainError, forbidden } from '../common/domain-error.js';
import { PermissionsService } from '../database/permissions.service.js';
import { ApiKeys, looksLikeApiKey } from '../database/api-keys.js';
import { SessionsService, twoFactorRequired } from '../database/sessions.service.js';
import { tokenOf, type AuthedRequest } from '../database/request-auth.js';

type Handler = ReturnType<ExecutionContext['getHandler']>;

/**
 * The global guard: reads the route's `@Requires(...)`, authenticates the session, resolves the
 * member's effective permissions and checks them. A route without a declaration is refused.
 *
 * A session limited to 2FA enrolment (the account requires 2FA, the person has none) may reach only
 * the routes marked `@EnrolmentRoute()` (who am I, set up and confirm TOTP, sign out); everything
 * else answers 403 `FORBIDDEN` with `details.reason = "two_factor_required"` (SPEC §5's code list is
 * fixed, so no new code). Of the routes declared `session`, an API key may reach only those marked
 * `@ApiKeyRoute()` (its own "who am I"); every other one is about a person (GET/PATCH /me, 2FA,
 * sessions, sign-out, switching account…) and refuses a key with 403 `FORBIDDEN`,
 * `details.reason = "service_account"`.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger(AccessGuard.name);

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
    @Inject(ApiKeys) private readonly apiKeys: ApiKeys,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (access === undefined) {
      this.logger.error(`Route ${context.getClass().name}.${context.getHandler().name} declares no access: denied`);
      throw forbidden();
    }
    if (access === 'public') return true;

    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const token = tokenOf(request);
    if (!token) throw new DomainError('UNAUTHENTICATED', 'Sign in to continue');
    if (looksLikeApiKey(token)) return this.withKey(request, token, access, context.getHandler());
    const auth = await this.sessions.authenticate(token, { allowEnrolmentOnly: true });
    if (auth.enrolmentOnly && !this.marked(ENROLMENT_ROUTE_KEY, context.getHandler())) throw twoFactorRequired();
    const permissions = await this.permissions.resolve(auth.member, auth.account, auth.role);
    const needed = access === 'session' ? null : typeof access === 'string' ? [access] : [...access];
    request.auth = { ...auth, permissions, required: needed };
    if (needed === null) return true;

    if (!needed.some((key) => permissions.set.has(key))) throw forbidden();
    return true;
  }

  /** An API key: exactly its service account's role, and no route that is about a person. */
  private async withKey(
    request: AuthedRequest,
    token: string,
    access: Exclude<Access, 'public'>,
    handler: Handler,
  ): Promise<boolean> {
    const auth = await this.apiKeys.authenticate(token);
    const needed = access === 'session' ? null : typeof access === 'string' ? [access] : [...access];
    if (needed === null && !this.marked(API_KEY_ROUTE_KEY, handler)) {
      throw forbidden('API keys cannot use this route: it is for people signed in', { reason: 'service_account' });
    }
    request.auth = { ...auth, required: needed };
    if (needed === null) return true;
    if (!needed.some((key) => auth.permissions.set.has(key))) throw forbidden();
    return true;
  }

  /** Whether the route's own handler (not its controller) carries the mark. */
  private marked(key: string, handler: Handler): boolean {
    return this.reflector.get<boolean | undefined>(key, handler) === true;
  }
}
