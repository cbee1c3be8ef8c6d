/**
 * "View as" (issue 17 §4): what a member can do, with where each permission comes from, and the
 * read-only preview of the dashboard as a role. The preview is no impersonation: it asks the API
 * only to log it (`role.previewed`) and for the role's keys; every page still loads with the
 * viewer's own session, and `session.can` answers from the role's `view` keys held by the viewer.
 */
import type { MemberPermissionsDto, RolePreviewDto } from '@rolecall/contracts';
import { goto } from '$app/navigation';
import { api } from '$lib/api';
import { session } from '$lib/session.svelte';
import { toasts } from '$lib/toast.svelte';
import { attempt, type Outcome } from './outcome';

export function fetchMemberPermissions(memberId: string): Promise<MemberPermissionsDto> {
  return api.get<MemberPermissionsDto>(`/users/${encodeURIComponent(memberId)}/permissions`);
}

/** Where the preview opens: the Users list if the role sees it, else the first section it sees. */
function firstPage(): string {
  for (const [path, key] of [
    ['/users', 'users.view'],
    ['/roles', 'roles.view'],
    ['/activity', 'activity.view'],
    ['/account', 'account.view'],
  ] as const)
    if (session.can(key)) return path;
  return '/me';
}

/** Logs the preview, then shows the dashboard as the role would see it, read-only. */
export async function startPreview(roleId: string): Promise<Outcome<RolePreviewDto>> {
  const returnTo = `${location.pathname}${location.search}`;
  const outcome = await attempt(() => api.post<RolePreviewDto>(`/roles/${encodeURIComponent(roleId)}/preview`));
  if (!outcome.ok) return outcome;
  session.startPreview({ ...outcome.value, returnTo });
  await goto(firstPage());
  return outcome;
}

/** Back to one's own dashboard, on the page the preview started from. */
export async function exitPreview(message?: string): Promise<void> {
  const returnTo = session.endPreview();
  if (message) toasts.show(message);
  await goto(returnTo ?? '/');
}
