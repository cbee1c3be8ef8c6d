import type { PermissionCatalogueDto, RoleDto, RoleListDto } from '@rolecall/contracts';
import { getRole, listRoles, loadCatalogue } from '$lib/services/roles.service';
import { session } from '$lib/session.svelte';
import type { PageLoad } from './$types';

export interface RolePageData {
  role: RoleDto | null;
  catalogue: PermissionCatalogueDto | null;
  /** Every role of the account (where members can move when this one is deleted). */
  roles: RoleDto[];
  loadError: unknown;
}

/** The role, the permission catalogue and the other roles; a failure (e.g. a deleted role) is shown in place. */
export const load: PageLoad = async ({ fetch, params, parent }): Promise<RolePageData> => {
  await parent();
  if (!session.can('roles.view')) return { role: null, catalogue: null, roles: [], loadError: null };
  try {
    const [role, catalogue, list] = await Promise.all([
      getRole(params.id, fetch),
      loadCatalogue(fetch),
      listRoles(fetch).catch((): RoleListDto => ({ items: [], rolesVersion: 0 })),
    ]);
    return { role, catalogue, roles: list.items, loadError: null };
  } catch (error) {
    return { role: null, catalogue: null, roles: [], loadError: error };
  }
};
