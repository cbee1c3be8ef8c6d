import { redirect } from '@sveltejs/kit';
import { loadMeOrOutage } from '$lib/page-load';
import { homePath } from '$lib/session.svelte';
import type { PageLoad } from './$types';

/** `/`: signed-in people go to their start page (SPEC §7; the 2FA enrolment screen while limited to it), everyone else to sign-in. */
export const load: PageLoad = async ({ fetch }) => {
  const me = await loadMeOrOutage(fetch);
  redirect(307, me ? homePath(me) : '/signin');
};
