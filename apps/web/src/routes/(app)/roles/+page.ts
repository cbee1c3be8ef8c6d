import { session } from '$lib/session.svelte';
import type { PageLoad } from './$types';

/**
 * Nothing before the first paint but who is signed in (the layout's): the page shows its heading and
 * the built-in roles' card at once and reads the list once that has been painted (issue 21 — waiting
 * for `GET /roles` here held the whole page, heading included, back on a slow phone).
 */
export const load: PageLoad = async ({ parent }) => {
  await parent();
  return { canView: session.can('roles.view') };
};
