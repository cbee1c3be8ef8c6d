import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ACCESS_KEY, type Access } from '../common/access.js';
import { DomainError, forbidden } from '../common/domain-error.js';
import { PermissionsService } from '../permissions/permissions.service.js';
import { MeController } from '../me/me.controller.js';
import { SessionsService, twoFactorRequired } from '../sessions/sessions.service.js';
import { AuthController } from './auth.controller.js';
import { tokenOf, type AuthedRequest } from './request-auth.js';

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
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [context.getHandler(), context.getClass()]);
    if (access === undefined) {
      this.logger.error(`Route ${context.getClass().name}.${context.getHandler().name} declares no access: denied`);
      throw forbidden();
    }
    if (access === 'public') return true;

    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const token = tokenOf(request);
    if (!token) throw new DomainError('UNAUTHENTICATED', 'Sign in to continue');
    const auth = await this.sessions.authenticate(token, { allowEnrolmentOnly: true });
    if (auth.enrolmentOnly && !ENROLMENT_ROUTES.has(context.getHandler())) throw twoFactorRequired();
    const permissions = await this.permissions.resolve(auth.member, auth.account);
    const needed = access === 'session' ? null : typeof access === 'string' ? [access] : [...access];
    request.auth = { ...auth, permissions, required: needed };
    if (needed === null) return true;

    if (!needed.some((key) => permissions.set.has(key))) throw forbidden();
    return true;
  }
}
