import type { RoleListDto } from '@rolecall/contracts';
import { listRoles } from '$lib/services/roles.service';
import { session } from '$lib/session.svelte';
import type { PageLoad } from './$types';

/** The roles in display order; a failure is shown in place by the page, with a way to retry. */
export const load: PageLoad = async ({ fetch, parent }) => {
  await parent();
  if (!session.can('roles.view')) return { list: null, loadError: null };
  try {
    return { list: await listRoles(fetch), loadError: null };
  } catch (error) {
    return { list: null as RoleListDto | null, loadError: error as unknown };
  }
};
