import {
  Inject,
  Injectable,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { Response } from 'express';
import { tap, type Observable } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { SESSION_COOKIE } from '../database/request-auth.js';

/** HttpOnly, SameSite=Lax, Secure under https; lives as long as the session's absolute expiry. */
export function setSessionCookie(response: Response, config: AppConfig, token: string): void {
  response.cookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: config.publicUrl.startsWith('https://'),
    path: '/',
    maxAge: config.sessionAbsoluteMs,
  });
}

export function clearSessionCookie(response: Response, config: AppConfig): void {
  response.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: 'lax',
    secure: config.publicUrl.startsWith('https://'),
    path: '/',
  });
}

/** Sets the session cookie from the answer's `token` once the handler has it (see `SignsIn`). */
@Injectable()
class SessionCookieInterceptor implements NestInterceptor {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  intercept(context: ExecutionContext, next: CallHandler<{ token: string }>): Observable<{ token: string }> {
    const response = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(tap((result) => setSessionCookie(response, this.config, result.token)));
  }
}

/** A route whose answer is a new session (sign-up, sign-in, an accepted invitation): it also sets the session cookie. */
export const SignsIn = () => UseInterceptors(SessionCookieInterceptor);
