/** What the pages' `load` functions share. */
import type { MeDto } from '@rolecall/contracts';
import { error } from '@sveltejs/kit';
import { messageFor } from './errors';
import { loadMe } from './session.svelte';

/**
 * The signed-in person for a page's `load` (`null`: nobody is signed in); when the API cannot say
 * (an outage), the error page with a 503 and why.
 */
export async function loadMeOrOutage(fetcher: typeof fetch): Promise<MeDto | null> {
  try {
    return await loadMe(fetcher);
  } catch (cause) {
    error(503, { message: messageFor(cause) });
  }
}
