import { error, redirect } from '@sveltejs/kit';
import { messageFor } from '$lib/errors';
import { loadMe, session } from '$lib/session.svelte';
import type { LayoutLoad } from './$types';

/** Every page of the app shell needs a signed-in member; others are sent to sign-in and back. */
export const load: LayoutLoad = async ({ fetch, url, untrack }) => {
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
  return {};
};
