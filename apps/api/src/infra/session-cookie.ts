import type { Response } from 'express';
import type { AppConfig } from '../config.js';
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
