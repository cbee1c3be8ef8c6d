import { isErrorBody, type ErrorCode } from '@rolecall/contracts';

/** A failed API call, with the spec's error code and details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK',
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface RestOptions {
  /** Origin of the API, e.g. `https://rolecall.example.com`; empty for the same origin (the dashboard). */
  baseUrl?: string;
  /** A session token for servers and scripts; browsers use the HttpOnly cookie instead. */
  token?: string;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  ifMatch?: number;
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
}

/** REST helpers: JSON in and out under `/api/v1`, errors as `ApiError`. */
export class Rest {
  readonly baseUrl: string;
  token: string | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(options: RestOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.token = options.token;
    this.fetchImpl = options.fetch ?? ((...args) => globalThis.fetch(...args));
  }

  async request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    if (options.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`;
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) query.append(key, String(item));
    }
    const url = `${this.baseUrl}/api/v1${path}${query.size ? `?${query}` : ''}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (error) {
      throw new ApiError(0, 'NETWORK', error instanceof Error ? error.message : 'Network error');
    }
    if (response.status === 204) return undefined as T;
    const payload: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      if (isErrorBody(payload)) throw new ApiError(response.status, payload.error.code, payload.error.message, payload.error.details);
      throw new ApiError(response.status, 'INTERNAL', `HTTP ${response.status}`);
    }
    return payload as T;
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, undefined, options);
  }
  post<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>('POST', path, body, options);
  }
  patch<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>('PATCH', path, body, options);
  }
  put<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>('PUT', path, body, options);
  }
  delete<T = void>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('DELETE', path, undefined, options);
  }
}
