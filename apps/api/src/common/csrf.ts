import type { NextFunction, Request, Response } from 'express';
import type { AppConfig } from '../config.js';
import { DomainError } from './domain-error.js';
import { toErrorBody } from './error.filter.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `Sec-Fetch-Site` values of a request the page's own origin (or the user, typing a URL) started. */
const SAME_ORIGIN_FETCH_SITES = new Set(['same-origin', 'none']);

interface CsrfHeaders {
  readonly method: string;
  readonly authorization: string | undefined;
  readonly origin: string | undefined;
  readonly secFetchSite: string | undefined;
}

/**
 * Whether a request may be one another site made the browser send: returns why it is refused, or
 * `null` when it passes.
 *
 * - Safe methods pass: they change nothing.
 * - A request with a (non-empty) `Authorization` header passes: the session cookie is then ignored (see
 *   `tokenOf`), and a page on another origin cannot set that header without a CORS preflight, which
 *   only `ALLOWED_ORIGINS` answer.
 * - Otherwise — a cookie, or no credentials at all (sign-in, sign-up, invitation accept: login CSRF) —
 *   `Origin` must be an allowed origin (`Origin: null` never is). Without `Origin`, `Sec-Fetch-Site`
 *   must say `same-origin` or `none`. A request with neither header is not from a current browser
 *   (every one sends `Origin` on a cross-origin POST) and passes: curl, server-side clients.
 */
function crossSiteRefusal(request: CsrfHeaders, allowedOrigins: readonly string[]): string | null {
  if (SAFE_METHODS.has(request.method)) return null;
  // An empty header counts as none: `tokenOf` falls back to the cookie then.
  if (request.authorization) return null;
  if (request.origin !== undefined) {
    return allowedOrigins.includes(request.origin)
      ? null
      : `Requests from ${request.origin.slice(0, 200)} are not allowed (neither PUBLIC_URL's origin nor in ALLOWED_ORIGINS)`;
  }
  if (request.secFetchSite !== undefined && !SAME_ORIGIN_FETCH_SITES.has(request.secFetchSite)) {
    return 'Requests from another site are not allowed';
  }
  return null;
}

/**
 * Refuses cross-site state-changing requests with 403 `FORBIDDEN` (`details.reason:
 * "cross_site_request"`) before any body is read or any route runs. Reads `config.allowedOrigins` on
 * each request, like the live handshake.
 */
export function csrfProtection(config: Pick<AppConfig, 'allowedOrigins'>) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const refusal = crossSiteRefusal(
      {
        method: request.method,
        authorization: request.headers.authorization,
        origin: request.headers.origin,
        secFetchSite: header(request.headers['sec-fetch-site']),
      },
      config.allowedOrigins,
    );
    if (!refusal) return next();
    const { status, body } = toErrorBody(new DomainError('FORBIDDEN', refusal, { reason: 'cross_site_request' }));
    response.status(status).json(body);
  };
}

const header = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value.join(', ') : value;
