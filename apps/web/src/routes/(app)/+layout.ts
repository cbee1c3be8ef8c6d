import { error, redirect } from '@sveltejs/kit';
import { messageFor } from '$lib/errors';
import { ENROLMENT_PATH, loadMe, session } from '$lib/session.svelte';
import type { LayoutLoad } from './$types';

/**
 * Every page of the app shell needs a signed-in member; others are sent to sign-in and back. A
 * session limited to 2FA enrolment reaches nothing here: it goes to the enrolment screen.
 */
export const load: LayoutLoad = async ({ fetch, url, untrack }) => {
  if (session.me?.twoFactorEnrolmentRequired) redirect(307, ENROLMENT_PATH);
  if (session.me) return {};
  let me;
  try {
    me = await loadMe(fetch);
  } catch (cause) {
    error(503, { message: messageFor(cause) });
  }
  if (!me) {
    const next = untrack(() => url.pathname + url.search);
    redirect(307, `/signin?next=${encodeURIComponent(next)}`);
  }
  if (me.twoFactorEnrolmentRequired) redirect(307, ENROLMENT_PATH);
  return {};
};
