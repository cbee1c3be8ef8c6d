// First: before any zod schema of @rolecall/contracts is built (see the file).
import '$lib/zod-jitless';
import type { ClientInit, HandleClientError } from '@sveltejs/kit';
import { mount } from 'svelte';
import OutageBanner from '$lib/components/OutageBanner.svelte';

/** The outage banner lives outside the router: it must show while the first page's data is still loading. */
export const init: ClientInit = () => {
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
