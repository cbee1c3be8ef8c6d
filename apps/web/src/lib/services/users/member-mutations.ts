/**
 * Member mutations: call the API with `If-Match` (the version the caller last saw), confirm with a
 * toast, and hand the outcome back for the page to show errors in place; a 412 carries the
 * resource as it is now (`conflictOf`), so the page can show it and offer to re-apply.
 */
import {
  type AccountDto,
  type InviteRequest,
  type ListDto,
  type MemberDetailDto,
  type MemberDto,
  type UpdateMemberRequest,
} from '@rolecall/contracts';
import { api, isApiError } from '$lib/api';
import { toasts } from '$lib/toast.svelte';
import { attempt, type Outcome } from '../outcome';
import { fetchMember } from './member-reads';
import { memberLabel } from './member-words';
import { ownChanges } from './own-changes';

type MemberRef = Pick<MemberDto, 'id' | 'version' | 'name' | 'email'>;

const memberPath = (id: string) => `/users/${encodeURIComponent(id)}`;

export async function inviteMembers(input: InviteRequest): Promise<Outcome<MemberDto[]>> {
  const outcome = await attempt(() =>
    ownChanges.around(
      input.emails,
      async () => (await api.post<ListDto<MemberDto>>('/users/invitations', input)).items,
    ),
  );
  if (outcome.ok) {
    const count = outcome.value.length;
    toasts.show(count === 1 ? `Invitation sent to ${outcome.value[0]?.email}.` : `${count} invitations sent.`);
  }
  return outcome;
}

function memberAction<T>(
  member: MemberRef,
  work: () => Promise<T>,
  done: (value: T) => string | null,
): Promise<Outcome<T>> {
  return attempt(() => ownChanges.around([member.id, member.email], work)).then((outcome) => {
    if (outcome.ok) {
      const message = done(outcome.value);
      if (message) toasts.show(message);
    }
    return outcome;
  });
}

export function updateMember(member: MemberRef, change: UpdateMemberRequest, version = member.version) {
  return memberAction(
    member,
    () => api.patch<MemberDetailDto>(memberPath(member.id), change, { ifMatch: version }),
    (after) => {
      const who = memberLabel(after);
      if (change.roleId !== undefined && Object.keys(change).length === 1) return `${who} is now ${after.role.name}.`;
      if (change.agentAccess !== undefined && Object.keys(change).length === 1)
        return after.agentAccess ? `${who} now has Talk access.` : `${who} no longer has Talk access.`;
      return `Changes to ${who} saved.`;
    },
  );
}

export function revokeMember(member: MemberRef, version = member.version) {
  return memberAction(
    member,
    () => api.post<MemberDetailDto>(`${memberPath(member.id)}/revoke`, undefined, { ifMatch: version }),
    (after) => `${memberLabel(after)} no longer has access. Their sessions have ended.`,
  );
}

export function reactivateMember(member: MemberRef, version = member.version) {
  return memberAction(
    member,
    () => api.post<MemberDetailDto>(`${memberPath(member.id)}/reactivate`, undefined, { ifMatch: version }),
    (after) => `${memberLabel(after)} is active again.`,
  );
}

export function resendInvitation(member: MemberRef, version = member.version) {
  return memberAction(
    member,
    () => api.post<MemberDetailDto>(`${memberPath(member.id)}/resend-invitation`, undefined, { ifMatch: version }),
    (after) => `A new invitation is on its way to ${after.email}. The old link no longer works.`,
  );
}

/** Cancels an invitation (invited) or deletes a revoked member for good. */
export function removeMember(member: MemberRef & Pick<MemberDto, 'status'>, version = member.version) {
  return memberAction(
    member,
    () => api.delete(memberPath(member.id), undefined, { ifMatch: version }),
    () =>
      member.status === 'invited'
        ? `The invitation for ${member.email} is cancelled.`
        : `${memberLabel(member)} is deleted.`,
  );
}

export function endMemberSessions(member: MemberRef, version = member.version) {
  return memberAction(
    member,
    () => api.delete(`${memberPath(member.id)}/sessions`, undefined, { ifMatch: version }),
    () => `${memberLabel(member)} is signed out everywhere in this account.`,
  );
}

export function transferOwnership(member: MemberRef, accountVersion: number) {
  return memberAction(
    member,
    () => api.post<AccountDto>('/account/transfer-ownership', { memberId: member.id }, { ifMatch: accountVersion }),
    () => `${memberLabel(member)} is now the account owner.`,
  );
}

export function transferBilling(member: MemberRef, accountVersion: number) {
  return memberAction(
    member,
    () => api.post<AccountDto>('/account/transfer-billing', { memberId: member.id }, { ifMatch: accountVersion }),
    () => `${memberLabel(member)} is now the billing contact.`,
  );
}

/**
 * An admin resets a member's 2FA (lost phone and recovery codes). The member's version does not
 * move, so the answer is the member read afresh; if 2FA was already off (409), that is the wanted
 * state, and the fresh member is the answer too.
 */
export async function resetMemberTwoFactor(
  member: MemberDetailDto,
  version = member.version,
): Promise<Outcome<MemberDetailDto>> {
  const fresh = () => fetchMember(member.id).catch(() => null);
  const outcome = await attempt(() =>
    ownChanges.around([member.id, member.email], async () => {
      await api.delete(`${memberPath(member.id)}/2fa`, undefined, { ifMatch: version });
      // Reset it is, even if the member cannot be read back right now.
      return (await fresh()) ?? { ...member, twoFactorEnabled: false };
    }),
  );
  const who = memberLabel(member);
  if (outcome.ok) {
    toasts.show(
      `${who}’s two-factor authentication is reset. They’ll choose a new password through the link we mailed them.`,
    );
    return outcome;
  }
  if (isApiError(outcome.error, 'CONFLICT')) {
    const now = await fresh();
    if (now && now.twoFactorEnabled !== true) {
      toasts.show(`${who} has no two-factor authentication to reset any more.`);
      return { ok: true, value: now };
    }
  }
  return outcome;
}
