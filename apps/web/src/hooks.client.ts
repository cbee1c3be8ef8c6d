// First: before any zod schema of @rolecall/contracts is built (see the file).
import '$lib/zod-jitless';
import type { ClientInit, HandleClientError } from '@sveltejs/kit';
import { mount } from 'svelte';
import { startEarly } from '$lib/early';
import OutageBanner from '$lib/components/OutageBanner.svelte';

/**
 * The session probe app.html preloads is taken over at boot, on every page (a preload nobody takes is
 * a browser warning and may stay open): the (app) layout's first `loadMe` reads its answer (see
 * `startEarly`). The outage banner lives outside the router: it must show while the first page's
 * data is still loading.
 */
export const init: ClientInit = () => {
  if (document.querySelector('link[rel="preload"][href="/api/v1/auth/session"]')) startEarly('/auth/session');
  const host = document.createElement('div');
  document.body.prepend(host);
  mount(OutageBanner, { target: host });
};

/** Unexpected errors get plain words on the error page; the details stay in the console. */
export const handleError: HandleClientError = ({ error, status }) => {
  console.error(error);
  return {
    message:
      status === 404
        ? 'There is no page at this address.'
        : 'Something went wrong. Reload the page, or try again in a moment.',
  };
};
