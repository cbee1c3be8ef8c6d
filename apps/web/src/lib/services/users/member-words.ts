/**
 * Members in words: labels, statuses, another admin's change in a sentence, money and limits.
 */
import { type MemberDto, type MemberStatus } from '@rolecall/contracts';

/** What people call a member: their name, or their email while they have none (invited). */
export function memberLabel(member: Pick<MemberDto, 'name' | 'email'>): string {
  return member.name?.trim() || member.email;
}

export const STATUS_LABELS: Record<MemberStatus, string> = { active: 'Active', invited: 'Invited', revoked: 'Revoked' };

/**
 * Another admin's change to a member in a few words ("Ann’s role changed to Editor."), or `null`
 * when nothing worth announcing changed (e.g. only the last-active time).
 */
export function describeMemberChange(before: MemberDto | undefined, after: MemberDto): string | null {
  const who = memberLabel(after);
  if (!before) {
    const recent = after.invitedAt && Date.now() - new Date(after.invitedAt).getTime() < 60_000;
    return after.status === 'invited' && recent ? `${after.email} was invited.` : null;
  }
  if (before.status !== after.status) {
    if (after.status === 'active' && before.status === 'invited') return `${who} joined.`;
    if (after.status === 'active') return `${who} was reactivated.`;
    if (after.status === 'revoked') return `${who} was revoked.`;
  }
  if (before.role.id !== after.role.id) return `${who}’s role changed to ${after.role.name}.`;
  if (before.agentAccess !== after.agentAccess) {
    return after.agentAccess ? `${who} now has Talk access.` : `${who} no longer has Talk access.`;
  }
  if (!before.isOwner && after.isOwner) return `${who} is now the account owner.`;
  if (!before.isBillingContact && after.isBillingContact) return `${who} is now the billing contact.`;
  const teams = (m: MemberDto) =>
    m.teams
      .map((t) => t.id)
      .sort()
      .join();
  if (teams(before) !== teams(after)) return `${who}’s teams changed.`;
  if (before.invitedAt !== after.invitedAt && after.status === 'invited')
    return `The invitation to ${after.email} was resent.`;
  return null;
}

export function formatMoney(amount: number): string {
  return new Intl.NumberFormat(undefined, {
    style: 'currency',
    currency: 'USD',
    maximumFractionDigits: amount % 1 ? 2 : 0,
  }).format(amount);
}

/** "3 of 10", "3 of unlimited". */
export function ofLimit(used: number, limit: number | null): string {
  return `${used} of ${limit === null ? 'unlimited' : limit}`;
}
