import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ACCESS_KEY, type Access } from '../common/access.js';
import { DomainError, forbidden } from '../common/domain-error.js';
import { PermissionsService } from '../permissions/permissions.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { tokenOf, type AuthedRequest } from './request-auth.js';

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
    const auth = await this.sessions.authenticate(token);
    const permissions = await this.permissions.resolve(auth.member, auth.account);
    request.auth = { ...auth, permissions };
    if (access === 'session') return true;

    const needed = typeof access === 'string' ? [access] : access;
    if (!needed.some((key) => permissions.set.has(key))) throw forbidden();
    return true;
  }
}
