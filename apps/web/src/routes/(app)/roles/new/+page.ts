import type { PermissionCatalogueDto } from '@rolecall/contracts';
import { loadCatalogue } from '$lib/services/roles.service';
import { session } from '$lib/session.svelte';
import type { PageLoad } from './$types';

/** The permission catalogue the new role is built from; a failure is shown in place. */
export const load: PageLoad = async ({ fetch, parent }): Promise<{ catalogue: PermissionCatalogueDto | null; loadError: unknown }> => {
  await parent();
  if (!session.can('roles.manage')) return { catalogue: null, loadError: null };
  try {
    return { catalogue: await loadCatalogue(fetch), loadError: null };
  } catch (error) {
    return { catalogue: null, loadError: error };
  }
};
