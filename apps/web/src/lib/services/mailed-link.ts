/** Reading what a mailed link (password reset, email confirmation) is for, before the page shows it. */
import { api, isApiError } from '$lib/api';

/** What a mailed link is: open (with what it is for), no longer valid, or unreadable for now. */
export type MailedLink<T> = { kind: 'open'; info: T } | { kind: 'invalid' } | { kind: 'error'; error: unknown };

/** Mailed-link answers that mean "this link is dead" (a malformed token is refused as invalid input). */
function isDeadLink(error: unknown): boolean {
  return isApiError(error, 'LINK_INVALID', 'NOT_FOUND', 'VALIDATION_FAILED');
}

/** GETs what the link with `token` is for, from `<base>/<token>` (public: a refusal signs nobody out). */
export async function readMailedLink<T>(base: string, token: string, fetcher: typeof fetch): Promise<MailedLink<T>> {
  try {
    const info = await api.get<T>(`${base}/${encodeURIComponent(token)}`, { fetch: fetcher, quietAuth: true });
    return { kind: 'open', info };
  } catch (error) {
    return isDeadLink(error) ? { kind: 'invalid' } : { kind: 'error', error };
  }
}
