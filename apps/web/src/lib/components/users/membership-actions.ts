/**
 * What can be done to a membership, by status, and whether the signed-in member may: the one list
 * behind the member profile's Membership buttons and the Users table's row menu, so both follow the
 * same rules (SPEC §4, asked of libs/domain through `profile.ts`) and say the same words.
 */
import type { AccountDto, MemberDto } from '@rolecall/contracts';
import {
  memberLabel,
  reactivateMember,
  removeMember,
  resendInvitation,
  revokeMember,
  STATUS_LABELS,
  transferBilling,
  transferOwnership,
} from '$lib/services/users.service';
import {
  mayRemove,
  mayTransferBilling,
  mayTransferOwnership,
  type Actor,
  type Allowed,
  type PendingChange,
} from './profile';

type MembershipActionKey = 'resend' | 'cancel' | 'owner' | 'billing' | 'revoke' | 'reactivate' | 'delete';

export interface MembershipAction {
  key: MembershipActionKey;
  label: string;
  /** The confirm dialog's title and message: what will happen. */
  title: string;
  message: string;
  danger: boolean;
  /** Shown but refused (with the reason) when the rule is about this member: owner, billing contact, self. */
  allowed: Allowed;
  change: PendingChange;
}

/** The actions on `member` the actor may see, in the order the profile shows them. */
export function membershipActions(member: MemberDto, account: AccountDto, actor: Actor): MembershipAction[] {
  const who = memberLabel(member);
  const list: MembershipAction[] = [];
  const ok: Allowed = { ok: true };
  if (member.status === 'invited' && actor.canManage) {
    list.push({
      key: 'resend',
      label: 'Resend invitation',
      title: 'Resend the invitation?',
      message: `A new invitation email goes to ${member.email}, valid for 7 days. The link in the earlier email stops working.`,
      danger: false,
      allowed: ok,
      change: { description: 'Resend the invitation', target: 'member', run: (v) => resendInvitation(member, v) },
    });
    list.push({
      key: 'cancel',
      label: 'Cancel invitation',
      title: 'Cancel the invitation?',
      message: `The invitation link sent to ${member.email} stops working and they are removed from the list. Their seat is freed.`,
      danger: true,
      allowed: mayRemove(actor, member, account, 'delete'),
      change: {
        description: 'Cancel the invitation',
        target: 'member',
        removes: true,
        run: (v) => removeMember(member, v),
      },
    });
  }
  if (member.status === 'active') {
    if (mayTransferOwnership(actor, member, account)) {
      list.push({
        key: 'owner',
        label: 'Make account owner',
        title: `Transfer ownership to ${who}?`,
        message:
          `${who} becomes the owner of ${account.name}` +
          (member.role.name === 'Admin' ? '.' : ' and gets the Admin role.') +
          ' You stay an Admin, but only the new owner can change the plan, validate the account or transfer ownership again.',
        danger: true,
        allowed: ok,
        change: {
          description: `Make ${who} the account owner`,
          target: 'account',
          sets: { Owner: who },
          run: (v) => transferOwnership(member, v),
        },
      });
    }
    if (mayTransferBilling(actor, member, account)) {
      list.push({
        key: 'billing',
        label: 'Make billing contact',
        title: `Make ${who} the billing contact?`,
        message: `${who} receives the billing mail of ${account.name} and can see billing. The current billing contact stops being it.`,
        danger: false,
        allowed: ok,
        change: {
          description: `Make ${who} the billing contact`,
          target: 'account',
          sets: { 'Billing contact': who },
          run: (v) => transferBilling(member, v),
        },
      });
    }
    if (actor.canManage) {
      list.push({
        key: 'revoke',
        label: 'Revoke access',
        title: `Revoke ${who}’s access?`,
        message: `${who} loses access to ${account.name} at once: every session of theirs in this account ends and their seat is freed. You can reactivate them later with the same role.`,
        danger: true,
        allowed: mayRemove(actor, member, account, 'revoke'),
        change: {
          description: `Revoke ${who}’s access`,
          target: 'member',
          sets: { Status: STATUS_LABELS.revoked },
          run: (v) => revokeMember(member, v),
        },
      });
    }
  }
  if (member.status === 'revoked' && actor.canManage) {
    list.push({
      key: 'reactivate',
      label: 'Reactivate',
      title: `Reactivate ${who}?`,
      message: `${who} gets access to ${account.name} again with the ${member.role.name} role. This uses a seat${member.agentAccess ? ' and an agent seat' : ''}.`,
      danger: false,
      allowed: ok,
      change: {
        description: `Reactivate ${who}`,
        target: 'member',
        sets: { Status: STATUS_LABELS.active },
        run: (v) => reactivateMember(member, v),
      },
    });
    list.push({
      key: 'delete',
      label: 'Delete permanently',
      title: `Delete ${who} permanently?`,
      message: `${who} is removed from ${account.name} for good. The activity log keeps their email as it was written. This can’t be undone.`,
      danger: true,
      allowed: mayRemove(actor, member, account, 'delete'),
      change: { description: `Delete ${who}`, target: 'member', removes: true, run: (v) => removeMember(member, v) },
    });
  }
  return list;
}

/** The Users table's row menu: the profile's actions that change who holds the account or a seat. */
const ROW_MENU: readonly MembershipActionKey[] = ['owner', 'billing', 'revoke', 'reactivate'];

/** The row menu's entries: only those the actor may take now (a refused one stays explained on the profile). */
export function rowMenuActions(member: MemberDto, account: AccountDto, actor: Actor): MembershipAction[] {
  return membershipActions(member, account, actor).filter((a) => ROW_MENU.includes(a.key) && a.allowed.ok);
}
