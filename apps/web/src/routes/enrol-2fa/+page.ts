import { redirect } from '@sveltejs/kit';
import { loadMeOrOutage } from '$lib/page-load';
import { homePath } from '$lib/session.svelte';
import type { PageLoad } from './$types';

/**
 * The 2FA enrolment screen, for a session the API limits to enrolling (the account requires 2FA and
 * the person has none). Anyone else is sent where they belong: sign-in, or their start page.
 */
export const load: PageLoad = async ({ fetch }) => {
  const me = await loadMeOrOutage(fetch);
  if (!me) redirect(307, '/signin');
  if (!me.twoFactorEnrolmentRequired) redirect(307, homePath(me));
  return {};
};
