import type { ErrorBody } from '@rolecall/contracts';

export interface Reply<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  cookie?: string;
  headers?: Record<string, string>;
  /** Sent as is (for malformed JSON); otherwise `body` is JSON-encoded. */
  raw?: string;
  /** `manual` to see a redirect itself instead of following it. */
  redirect?: 'manual';
}

/** A tiny HTTP client for scenario tests: JSON in, JSON out, never throws on a status. */
export function client(baseUrl: string) {
  async function request<T = unknown>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    if (options.cookie) headers['cookie'] = options.cookie;
    let payload: string | undefined;
    if (options.raw !== undefined) payload = options.raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${baseUrl}/api/v1${path}`, { method, headers, body: payload, redirect: options.redirect ?? 'follow' });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }
  return {
    request,
    get: <T = unknown>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
    post: <T = unknown>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, body, options),
    patch: <T = unknown>(path: string, body?: unknown, options?: RequestOptions) => request<T>('PATCH', path, body, options),
    put: <T = unknown>(path: string, body?: unknown, options?: RequestOptions) => request<T>('PUT', path, body, options),
    delete: <T = unknown>(path: string, body?: unknown, options?: RequestOptions) => request<T>('DELETE', path, body, options),
  };
}

export type Client = ReturnType<typeof client>;

/** The `{ error: { code, message, details? } }` shape, checked strictly. */
export function isErrorShape(body: unknown): body is ErrorBody {
  if (typeof body !== 'object' || body === null) return false;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'error') return false;
  const error = (body as ErrorBody).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof error.code === 'string' &&
    /^[A-Z_]+$/.test(error.code) &&
    typeof error.message === 'string' &&
    (error.details === undefined || (typeof error.details === 'object' && error.details !== null))
  );
}
