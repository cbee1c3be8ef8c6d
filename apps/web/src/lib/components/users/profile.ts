/**
 * What the member profile needs besides the API calls: which actions the signed-in member may take
 * on a member (the owner and billing-contact rules of SPEC §4, so buttons the API would refuse are
 * hidden or explained), changes that can be re-applied after a 412, and activity entries in words.
 */
import { ADMIN_ROLE_ID, type AccountDto, type ActivityEntryDto, type MemberDto } from '@rolecall/contracts';
import type { Outcome } from '$lib/services/outcome';

/** A change that sends `If-Match`; on a 412 it can be run again with the version that won. */
export interface PendingChange {
  /** What the signed-in member tried, e.g. "Change the role to Admin". */
  description: string;
  /** Whose version `If-Match` carries. */
  target: 'member' | 'account';
  run: (version: number) => Promise<Outcome<unknown>>;
  /** The member is gone afterwards (invitation cancelled, member deleted). */
  removes?: boolean;
}

/** A 412: the change that was refused, what the page had, and the resource as it is now. */
export interface Conflict {
  change: PendingChange;
  before: MemberDto | AccountDto;
  current: MemberDto | AccountDto;
}

export interface Actor {
  id: string;
  roleId: string;
  canManage: boolean;
}

export interface Allowed {
  ok: boolean;
  /** Why not, in words, when the button is shown disabled. */
  reason?: string;
}

const yes: Allowed = { ok: true };

/** Revoke and delete share the protections of SPEC §4. */
export function mayRemove(
  actor: Actor,
  member: MemberDto,
  account: Pick<AccountDto, 'ownerId' | 'billingContactId'>,
  verb: string,
): Allowed {
  if (!actor.canManage) return { ok: false, reason: 'Only admins can do this.' };
  if (member.id === actor.id) return { ok: false, reason: `You can’t ${verb} yourself.` };
  if (member.id === account.ownerId)
    return { ok: false, reason: `The account owner can’t be ${verb}d. Transfer ownership first.` };
  if (member.id === account.billingContactId) {
    return { ok: false, reason: `The billing contact can’t be ${verb}d. Make someone else the billing contact first.` };
  }
  return yes;
}

/** Only the owner hands over ownership, to another active member. */
export function mayTransferOwnership(actor: Actor, member: MemberDto, account: Pick<AccountDto, 'ownerId'>): boolean {
  return account.ownerId === actor.id && member.id !== actor.id && member.status === 'active';
}

/** The owner, or a billing contact who is an Admin, hands the billing contact to another active member. */
export function mayTransferBilling(
  actor: Actor,
  member: MemberDto,
  account: Pick<AccountDto, 'ownerId' | 'billingContactId'>,
): boolean {
  const allowed =
    account.ownerId === actor.id || (account.billingContactId === actor.id && actor.roleId === ADMIN_ROLE_ID);
  return allowed && member.id !== account.billingContactId && member.status === 'active';
}

// ── Activity in words ──────────────────────────────────────────────────────────────────────

function after(changes: Record<string, unknown> | null, key: string): unknown {
  const value = changes?.[key];
  return typeof value === 'object' && value !== null && 'after' in value
    ? (value as { after: unknown }).after
    : undefined;
}

const ACTIONS: Record<string, string> = {
  'user.invited': 'Invited',
  'invitation.resent': 'Invitation resent',
  'invitation.cancelled': 'Invitation cancelled',
  'invitation.accepted': 'Accepted the invitation and joined',
  'user.role_changed': 'Role changed',
  'user.agent_access_changed': 'Talk access changed',
  'user.teams_changed': 'Teams changed',
  'user.revoked': 'Access revoked',
  'user.reactivated': 'Reactivated',
  'user.deleted': 'Deleted',
  'user.sessions_revoked': 'All sessions ended',
  'ownership.transferred': 'Became the account owner',
  'billing.transferred': 'Became the billing contact',
};

/** "Role changed to Editor", "Talk access turned on". */
export function describeEntry(entry: ActivityEntryDto): string {
  switch (entry.action) {
    case 'user.role_changed': {
      const role = after(entry.changes, 'role');
      return typeof role === 'string' ? `Role changed to ${role}` : 'Role changed';
    }
    case 'user.agent_access_changed':
      return after(entry.changes, 'agentAccess') ? 'Talk access turned on' : 'Talk access turned off';
    case 'user.invited': {
      const agent = after(entry.changes, 'agentAccess');
      return agent ? 'Invited, with Talk access' : 'Invited';
    }
    default:
      return ACTIONS[entry.action] ?? entry.action;
  }
}

/** "by ann@example.com", "by themselves", "" (by the system). */
export function describeActor(entry: ActivityEntryDto, memberId: string, myId: string | undefined): string {
  if (entry.actor.memberId && entry.actor.memberId === memberId) return 'by themselves';
  if (entry.actor.memberId && entry.actor.memberId === myId) return 'by you';
  return entry.actor.email ? `by ${entry.actor.email}` : '';
}
