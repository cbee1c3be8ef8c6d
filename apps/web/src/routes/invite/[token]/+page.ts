import type { InvitationInfoDto, MeDto } from '@rolecall/contracts';
import { api, isApiError } from '$lib/api';
import { loadMe } from '$lib/session.svelte';
import type { PageLoad } from './$types';

export type InvitationState =
  { kind: 'open'; info: InvitationInfoDto } | { kind: 'invalid' } | { kind: 'error'; error: unknown };

/**
 * `/invite/<token>`: the link of the invitation mail (public). Reads what the invitation is for,
 * and who (if anyone) is signed in in this browser, since an existing person accepts signed in.
 */
export const load: PageLoad = async ({ params, fetch }) => {
  const token = params.token;
  let invitation: InvitationState;
  try {
    const info = await api.get<InvitationInfoDto>(`/invitations/${encodeURIComponent(token)}`, {
      fetch,
      quietAuth: true,
    });
    invitation = { kind: 'open', info };
  } catch (error) {
    invitation = isApiError(error, 'INVITATION_INVALID', 'NOT_FOUND') ? { kind: 'invalid' } : { kind: 'error', error };
  }
  let me: MeDto | null = null;
  if (invitation.kind === 'open') me = await loadMe(fetch).catch(() => null);
  return { token, invitation, me };
};
