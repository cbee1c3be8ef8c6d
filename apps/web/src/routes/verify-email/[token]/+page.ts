import type { MeDto } from '@rolecall/contracts';
import { readVerifyLink } from '$lib/services/email-verification.service';
import { loadMe } from '$lib/session.svelte';
import type { PageLoad } from './$types';

/**
 * `/verify-email/<token>`: the link of the confirmation mail sent at sign-up (public, 24 hours,
 * single use). Reads whose address it confirms, and who (if anyone) is signed in in this browser:
 * the person themselves confirms at once, anyone else chooses.
 */
export const load: PageLoad = async ({ params, fetch }) => {
  const link = await readVerifyLink(params.token, fetch);
  let me: MeDto | null = null;
  if (link.kind === 'open') me = await loadMe(fetch).catch(() => null);
  return { token: params.token, link, me };
};
