/**
 * A small typed wrapper around `fetch` for the REST API under `/api/v1` (SPEC §5).
 *
 * The session lives in the HttpOnly `rolecall_session` cookie set by sign-up and sign-in; the
 * dashboard never sees or stores the token, it only sends same-origin requests with credentials.
 */
import { isErrorBody, type ErrorCode, type ValidationDetails } from '@rolecall/contracts';
import { dropEarly, takeEarly } from './early';
import { backoffMs, outage, pause, retryAfterMs, type OutageKind } from './outage.svelte';

export const API_BASE = '/api/v1';

/** Failures that never reached a proper API answer. */
type ClientErrorCode = 'NETWORK_ERROR' | 'BAD_RESPONSE';

export type ApiErrorCode = ErrorCode | ClientErrorCode;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** The answer's `Retry-After`, in milliseconds, when it had one. */
  retryAfterMs: number | null = null;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly status: number,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** Per-field messages of a VALIDATION_FAILED answer (`{}` for any other error). */
  get fields(): ValidationDetails['fields'] {
    if (this.code !== 'VALIDATION_FAILED') return {};
    const fields = this.details['fields'];
    if (typeof fields !== 'object' || fields === null) return {};
    const result: Record<string, string[]> = {};
    for (const [path, messages] of Object.entries(fields)) {
      if (Array.isArray(messages)) result[path] = messages.filter((m): m is string => typeof m === 'string');
    }
    return result;
  }
}

export function isApiError(value: unknown, ...codes: ApiErrorCode[]): value is ApiError {
  return value instanceof ApiError && (codes.length === 0 || codes.includes(value.code));
}

/** Errors that mean "there is no (longer a) signed-in session". */
export function isSignedOutError(value: unknown): value is ApiError {
  return isApiError(value, 'UNAUTHENTICATED', 'SESSION_REVOKED');
}

export interface RequestOptions {
  /** JSON request body. */
  body?: unknown;
  /** Sent as `If-Match: "<version>"` for optimistic concurrency. */
  ifMatch?: number;
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  signal?: AbortSignal;
  /** The `fetch` to use: SvelteKit's from a `load` function, the global one otherwise. */
  fetch?: typeof fetch;
  /**
   * Do not call the session-ended handler on a 401 UNAUTHENTICATED / SESSION_REVOKED answer:
   * for callers that handle being signed out themselves (route guards, sign-in, sign-out).
   */
  quietAuth?: boolean;
}

let sessionEndedHandler: ((error: ApiError) => void) | undefined;
let enrolmentHandler: (() => void) | undefined;

/**
 * 403 `FORBIDDEN` with `details.reason = "two_factor_required"`: the account requires 2FA and this
 * session is limited to enrolling (e.g. an admin just turned the requirement on).
 */
function isEnrolmentRequiredError(value: unknown): value is ApiError {
  return isApiError(value, 'FORBIDDEN') && value.details['reason'] === 'two_factor_required';
}

/** Called whenever a request finds the session limited to 2FA enrolment. */
export function onEnrolmentRequired(handler: (() => void) | undefined): void {
  enrolmentHandler = handler;
}

/** Called whenever a request finds the session gone (signed out elsewhere, revoked, expired). */
export function onSessionEnded(handler: ((error: ApiError) => void) | undefined): void {
  sessionEndedHandler = handler;
}

function buildUrl(path: string, query: RequestOptions['query']): string {
  let url = API_BASE + path;
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else params.append(key, String(value));
  }
  const search = params.toString();
  if (search) url += `?${search}`;
  return url;
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether a failure means Rolecall (or its database) cannot be reached right now, and which. */
function outageKind(error: ApiError): OutageKind | null {
  if (error.code === 'UNAVAILABLE') return 'database';
  if (error.code === 'NETWORK_ERROR') return 'network';
  return null;
}

let readOnlyReason: string | null = null;
/** What a read-only preview still sends: signing out and starting a preview (which only logs it). */
const READ_ONLY_ALLOWED = [/^\/auth\/sign-out$/, /^\/roles\/[^/]+\/preview$/];

/**
 * While the dashboard previews a role (issue 17 §4), every write is refused here, before any
 * request leaves: a second lock behind the hidden buttons. `null` lifts it.
 */
export function setReadOnly(reason: string | null): void {
  readOnlyReason = reason;
}

/** A gateway or load balancer in front of the API answering for it: the API itself is out of reach. */
const GATEWAY_STATUSES = [502, 503, 504];

/**
 * Sends a request. During an outage (503 `UNAVAILABLE`, or no answer at all) the banner shows and
 * a GET is tried again with back-off, honouring `Retry-After`, until it gets through (or its
 * signal aborts): pages fill in by themselves once the API is back. Writes are never sent twice:
 * their error goes back to the form, which keeps what was typed.
 */
async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  if (readOnlyReason && method !== 'GET' && !READ_ONLY_ALLOWED.some((allowed) => allowed.test(path)))
    throw new ApiError('FORBIDDEN', readOnlyReason, 403, { reason: 'preview' });
  if (method !== 'GET') dropEarly();
  for (let attempt = 0; ; attempt++) {
    try {
      const answer = await send<T>(method, path, options);
      if (outage.kind) outage.clear();
      return answer;
    } catch (error) {
      const kind = error instanceof ApiError ? outageKind(error) : null;
      if (!kind) {
        // Any answer from the API (a 4xx too) means it is reachable again.
        if (error instanceof ApiError && outage.kind && error.status > 0 && error.status < 500) outage.clear();
        throw error;
      }
      outage.report(kind, (error as ApiError).retryAfterMs);
      if (method !== 'GET') throw error;
      await pause(backoffMs(attempt, (error as ApiError).retryAfterMs), options.signal);
    }
  }
}

async function send<T>(method: string, path: string, options: RequestOptions): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.ifMatch !== undefined) headers['If-Match'] = `"${options.ifMatch}"`;

  const doFetch = options.fetch ?? fetch;
  const started = method === 'GET' && !options.query && !options.signal ? takeEarly(path) : undefined;
  let response: Response;
  try {
    response = await (started ??
      doFetch(buildUrl(path, options.query), {
        method,
        headers,
        credentials: 'same-origin',
        body: options.body === undefined ? null : JSON.stringify(options.body),
        signal: options.signal ?? null,
      }));
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    throw new ApiError('NETWORK_ERROR', 'The request could not be sent.', 0);
  }

  const payload = await readJson(response);

  if (!response.ok) {
    const error = isErrorBody(payload)
      ? new ApiError(payload.error.code, payload.error.message, response.status, payload.error.details ?? {})
      : new ApiError(
          GATEWAY_STATUSES.includes(response.status)
            ? 'NETWORK_ERROR'
            : response.status >= 500
              ? 'INTERNAL'
              : 'BAD_RESPONSE',
          `Unexpected answer ${response.status}.`,
          response.status,
        );
    error.retryAfterMs = retryAfterMs(response.headers.get('Retry-After'));
    if (!options.quietAuth && isSignedOutError(error)) sessionEndedHandler?.(error);
    if (!options.quietAuth && isEnrolmentRequiredError(error)) enrolmentHandler?.();
    throw error;
  }

  return payload as T;
}

export const api = {
  get: <T>(path: string, options?: Omit<RequestOptions, 'body'>) => request<T>('GET', path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>('POST', path, { ...options, body: body ?? options?.body }),
  put: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>('PUT', path, { ...options, body: body ?? options?.body }),
  patch: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>('PATCH', path, { ...options, body: body ?? options?.body }),
  delete: <T = void>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>('DELETE', path, { ...options, body: body ?? options?.body }),
};
