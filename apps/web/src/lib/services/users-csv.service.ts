/**
 * CSV in and out of the member list (issue 17 §3): the export's address for the list's current
 * filters, and the import of invitations (`POST /users/import`, previewed with `?dryRun=true`).
 */
import type { ImportPreviewDto, ImportResultDto, ImportRowDto } from '@rolecall/contracts';
import { api, API_BASE, isApiError } from '$lib/api';
import { filtersFromSearch, filtersToSearch } from './users.service';

/** The export of what the Users page shows: its filters and sort, read from the page's address. */
export function exportHref(search: URLSearchParams): string {
  const params = filtersToSearch(filtersFromSearch(search));
  params.set('format', 'csv');
  return `${API_BASE}/users/export?${params.toString()}`;
}

export const previewImport = (csv: string, signal?: AbortSignal) =>
  api.post<ImportPreviewDto>('/users/import', { csv }, { query: { dryRun: 'true' }, ...(signal ? { signal } : {}) });

export const sendImport = (csv: string) => api.post<ImportResultDto>('/users/import', { csv });

/** The rows a refused import named (400 or 409 with `details.rows`), to show them as the preview does. */
export function rowsOfRefusal(error: unknown): ImportRowDto[] | null {
  if (!isApiError(error)) return null;
  const rows = error.details['rows'];
  return Array.isArray(rows) ? (rows as ImportRowDto[]) : null;
}

/** The message of a file the API refused as a whole (400 for the `csv` field). */
export function fileProblem(error: unknown): string | null {
  if (!isApiError(error, 'VALIDATION_FAILED')) return null;
  return error.fields['csv']?.[0] ?? null;
}
