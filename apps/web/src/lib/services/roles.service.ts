/**
 * Roles: reading the list and the catalogue, and every change to a role (create, edit with an
 * impact preview, delete with reassignment, reorder). Each mutation calls the API, confirms with a
 * toast and hands back an `Outcome` for the page to show errors in place (a 412 included, whose
 * `details.current` holds the other admin's version).
 */
import type {
  AccountEvent,
  CreateRoleRequest,
  PermissionCatalogueDto,
  RoleDto,
  RoleImpactDto,
  RoleImpactPreviewDto,
  RoleListDto,
  UpdateRoleRequest,
} from '@rolecall/contracts';
import { api, isApiError } from '$lib/api';
import { toasts } from '$lib/toast.svelte';
import { dryRun } from './dry-run';
import { attempt, type Outcome } from './outcome';

// ── reading ───────────────────────────────────────────────────────────────────────────────────

let catalogue: Promise<PermissionCatalogueDto> | null = null;

/** The permission catalogue never changes while the app runs: fetched once per tab. */
export function loadCatalogue(fetcher?: typeof fetch): Promise<PermissionCatalogueDto> {
  catalogue ??= api.get<PermissionCatalogueDto>('/permissions', fetcher ? { fetch: fetcher } : {}).catch((error) => {
    catalogue = null;
    throw error;
  });
  return catalogue;
}

/**
 * Always asks the server: the list's ETag is the account's `rolesVersion`, which does not move when
 * members join or leave a role, so a revalidated (304) copy from the HTTP cache would show stale
 * members and counts.
 */
function uncached(fetcher: typeof fetch = fetch): typeof fetch {
  return (input, init) => fetcher(input, { ...init, cache: 'no-store' });
}

export function listRoles(fetcher?: typeof fetch): Promise<RoleListDto> {
  return api.get<RoleListDto>('/roles', { fetch: uncached(fetcher) });
}

export function getRole(id: string, fetcher?: typeof fetch): Promise<RoleDto> {
  return api.get<RoleDto>(`/roles/${encodeURIComponent(id)}`, { fetch: uncached(fetcher) });
}

// ── changes ───────────────────────────────────────────────────────────────────────────────────

export async function createRole(input: CreateRoleRequest): Promise<Outcome<RoleDto>> {
  const outcome = await attempt(() => api.post<RoleDto>('/roles', input));
  if (outcome.ok) toasts.show(`Role “${outcome.value.name}” created.`);
  return outcome;
}

/** Who would gain and lose what if `change` were saved; nothing is written. */
export function previewRoleChange(role: Pick<RoleDto, 'id' | 'version'>, change: UpdateRoleRequest): Promise<Outcome<RoleImpactDto>> {
  return dryRun(() =>
    api.patch<RoleImpactPreviewDto>(`/roles/${encodeURIComponent(role.id)}`, change, { ifMatch: role.version, query: { dryRun: true } }),
  );
}

export async function updateRole(role: Pick<RoleDto, 'id' | 'version'>, change: UpdateRoleRequest): Promise<Outcome<RoleDto>> {
  const outcome = await attempt(() => api.patch<RoleDto>(`/roles/${encodeURIComponent(role.id)}`, change, { ifMatch: role.version }));
  if (outcome.ok) toasts.show(`Role “${outcome.value.name}” saved.`);
  return outcome;
}

/** What deleting `role` and moving its members to `reassignTo` would change; nothing is written. */
export function previewRoleDeletion(role: Pick<RoleDto, 'id' | 'version'>, reassignTo: string | undefined): Promise<Outcome<RoleImpactDto>> {
  return dryRun(() =>
    api.delete<RoleImpactPreviewDto>(`/roles/${encodeURIComponent(role.id)}`, undefined, {
      ifMatch: role.version,
      query: { reassignTo, dryRun: true },
    }),
  );
}

export async function deleteRole(
  role: Pick<RoleDto, 'id' | 'version' | 'name'>,
  reassignTo: { id: string; name: string } | undefined,
): Promise<Outcome<void>> {
  const outcome = await attempt(() =>
    api.delete(`/roles/${encodeURIComponent(role.id)}`, undefined, { ifMatch: role.version, query: { reassignTo: reassignTo?.id } }),
  );
  if (outcome.ok) {
    toasts.show(reassignTo ? `Role “${role.name}” deleted. Its members now have ${reassignTo.name}.` : `Role “${role.name}” deleted.`);
  }
  return outcome;
}

/**
 * Saves the order of the custom roles. When another admin reordered first (412), the outcome's
 * error carries the current list in `details.current`: see `currentListOf`.
 */
export async function reorderRoles(roleIds: string[], rolesVersion: number): Promise<Outcome<RoleListDto>> {
  return attempt(() => api.put<RoleListDto>('/roles/order', { roleIds }, { ifMatch: rolesVersion }));
}

/** The list a 412 of `PUT /roles/order` carries, if it carries one. */
export function currentListOf(error: unknown): RoleListDto | null {
  if (!isApiError(error, 'VERSION_MISMATCH')) return null;
  const current = error.details['current'] as Partial<RoleListDto> | undefined;
  return current && Array.isArray(current.items) && typeof current.rolesVersion === 'number' ? (current as RoleListDto) : null;
}

/** The role a 412 of `PATCH`/`DELETE /roles/:id` carries, if it carries one. */
export function currentRoleOf(error: unknown): RoleDto | null {
  if (!isApiError(error, 'VERSION_MISMATCH')) return null;
  const current = error.details['current'] as Partial<RoleDto> | undefined;
  return current && typeof current.id === 'string' && typeof current.version === 'number' ? (current as RoleDto) : null;
}

/** "Your plan …" in words for PLAN_FEATURE_UNAVAILABLE, which means either no custom roles or the limit reached. */
export function planMessage(error: unknown, planName: string | undefined): string | null {
  if (!isApiError(error, 'PLAN_FEATURE_UNAVAILABLE')) return null;
  const limit = error.details['limit'];
  const plan = planName ? `${planName.charAt(0).toUpperCase()}${planName.slice(1)}` : 'current';
  if (typeof limit === 'number') {
    return `Your ${plan} plan allows ${limit} custom roles and all of them are in use. Delete a role you no longer need, or upgrade to Enterprise for unlimited roles.`;
  }
  return `Custom roles aren’t included in the ${plan} plan. Upgrade to Business or Enterprise to create your own roles; until then, use Admin, Editor or Read only.`;
}

// ── list state helpers (pure) ─────────────────────────────────────────────────────────────────

/** System roles first (in their fixed order), then the custom roles by position. */
export function sortRoles(roles: readonly RoleDto[]): RoleDto[] {
  return [...roles].sort((a, b) => Number(b.system) - Number(a.system) || a.position - b.position);
}

/** The list with its custom roles in the order of `customIds` (ids not in the list keep their place at the end). */
export function withCustomOrder(roles: readonly RoleDto[], customIds: readonly string[]): RoleDto[] {
  const rank = new Map(customIds.map((id, index) => [id, index]));
  const system = roles.filter((role) => role.system);
  const custom = roles
    .filter((role) => !role.system)
    .map((role, index) => ({ role, rank: rank.get(role.id) ?? customIds.length + index }))
    .sort((a, b) => a.rank - b.rank)
    .map(({ role }) => role);
  return [...system, ...custom].map((role, position) => (role.position === position ? role : { ...role, position }));
}

/**
 * A role list after one live account event; `null` when the event is not about roles.
 * `role.upserted` replaces (or inserts, at its position) the role; `role.removed` drops it;
 * `roles.reordered` puts the custom roles in the new order.
 */
export function applyRoleEvent(roles: readonly RoleDto[], event: AccountEvent): RoleDto[] | null {
  switch (event.event) {
    case 'role.upserted': {
      const incoming = event.data.role;
      const others = roles.filter((role) => role.id !== incoming.id);
      const known = roles.some((role) => role.id === incoming.id);
      if (known) return roles.map((role) => (role.id === incoming.id ? { ...incoming, position: role.position } : role));
      return sortRoles([...others, incoming]);
    }
    case 'role.removed':
      return roles.filter((role) => role.id !== event.data.id);
    case 'roles.reordered':
      return withCustomOrder(roles, event.data.roleIds);
    default:
      return null;
  }
}

/** `items` with the element at `from` moved to `to`. */
export function moveItem<T>(items: readonly T[], from: number, to: number): T[] {
  const next = [...items];
  const [moved] = next.splice(from, 1);
  if (moved !== undefined) next.splice(Math.max(0, Math.min(to, next.length)), 0, moved);
  return next;
}

/** A custom copy of `role` ("<name> (copy)", placed last; issue 17 §5). */
export async function duplicateRole(role: Pick<RoleDto, 'id' | 'name'>): Promise<Outcome<RoleDto>> {
  const outcome = await attempt(() => api.post<RoleDto>(`/roles/${encodeURIComponent(role.id)}/duplicate`));
  if (outcome.ok) toasts.show(`Role “${outcome.value.name}” created as a copy of “${role.name}”.`);
  return outcome;
}
