import { redirect } from '@sveltejs/kit';
import { loadMeOrOutage } from '$lib/page-load';
import { ENROLMENT_PATH, session } from '$lib/session.svelte';
import type { LayoutLoad } from './$types';

/**
 * Every page of the app shell needs a signed-in member; others are sent to sign-in and back. A
 * session limited to 2FA enrolment reaches nothing here: it goes to the enrolment screen.
 */
export const load: LayoutLoad = async ({ fetch, url, untrack }) => {
  if (session.me?.twoFactorEnrolmentRequired) redirect(307, ENROLMENT_PATH);
  if (session.me) return {};
  const me = await loadMeOrOutage(fetch);
  if (!me) {
    const next = untrack(() => url.pathname + url.search);
    redirect(307, `/signin?next=${encodeURIComponent(next)}`);
  }
  if (me.twoFactorEnrolmentRequired) redirect(307, ENROLMENT_PATH);
  return {};
};
