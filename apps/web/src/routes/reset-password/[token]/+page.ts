import { readResetLink } from '$lib/services/password-reset.service';
import type { PageLoad } from './$types';

/** `/reset-password/<token>`: the link of the password-reset mail (public, 1 hour, single use). */
export const load: PageLoad = async ({ params, fetch }) => ({
  token: params.token,
  link: await readResetLink(params.token, fetch),
});
