import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ACCESS_KEY, type Access } from '../common/access.js';
import { DomainError, forbidden } from '../common/domain-error.js';
import { PermissionsService } from '../database/permissions.service.js';
import { MeController } from '../me/me.controller.js';
import { ServiceAccountsController } from '../service-accounts/service-accounts.controller.js';
import { looksLikeApiKey, ServiceAccountsService } from '../service-accounts/service-accounts.service.js';
import { SessionsService, twoFactorRequired } from '../database/sessions.service.js';
import { AuthController } from './auth.controller.js';
import { tokenOf, type AuthedRequest } from '../database/request-auth.js';

/**
 * What a session limited to 2FA enrolment (the account requires 2FA, the person has none) may
 * reach: who am I, set up and confirm TOTP, sign out. Everything else answers 403 `FORBIDDEN` with
 * `details.reason = "two_factor_required"` (SPEC §5's code list is fixed, so no new code).
 */
const ENROLMENT_ROUTES: ReadonlySet<unknown> = new Set([
  MeController.prototype.get,
  MeController.prototype.setupTotp,
  MeController.prototype.confirmTotp,
  AuthController.prototype.signOut,
]);

/**
 * Routes declared `session` that an API key may reach: only its own "who am I". Every other
 * `session` route is about a person (GET/PATCH /me, 2FA, sessions, sign-out, switching account…)
 * and refuses a key with 403 `FORBIDDEN`, `details.reason = "service_account"`.
 */
const KEY_SESSION_ROUTES: ReadonlySet<unknown> = new Set([ServiceAccountsController.prototype.self]);

/**
 * The global guard: reads the route's `@Requires(...)`, authenticates the session, resolves the
 * member's effective permissions and checks them. A route without a declaration is refused.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger(AccessGuard.name);

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(PermissionsService) private readonly permissions: PermissionsService,
    @Inject(ServiceAccountsService) private readonly serviceAccounts: ServiceAccountsService,
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
    if (auth.enrolmentOnly && !ENROLMENT_ROUTES.has(context.getHandler())) throw twoFactorRequired();
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
    handler: unknown,
  ): Promise<boolean> {
    const auth = await this.serviceAccounts.authenticate(token);
    const needed = access === 'session' ? null : typeof access === 'string' ? [access] : [...access];
    if (needed === null && !KEY_SESSION_ROUTES.has(handler)) {
      throw forbidden('API keys cannot use this route: it is for people signed in', { reason: 'service_account' });
    }
    request.auth = { ...auth, required: needed };
    if (needed === null) return true;
    if (!needed.some((key) => auth.permissions.set.has(key))) throw forbidden();
    return true;
  }
}
