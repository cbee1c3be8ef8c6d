import { error, redirect } from '@sveltejs/kit';
import { messageFor } from '$lib/errors';
import { homePath, loadMe } from '$lib/session.svelte';
import type { PageLoad } from './$types';

/** `/`: signed-in people go to their start page (SPEC §7; the 2FA enrolment screen while limited to it), everyone else to sign-in. */
export const load: PageLoad = async ({ fetch }) => {
  let me;
  try {
    me = await loadMe(fetch);
  } catch (cause) {
    error(503, { message: messageFor(cause) });
  }
  redirect(307, me ? homePath(me) : '/signin');
};
