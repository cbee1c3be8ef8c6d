/**
 * What the member profile needs besides the API calls: which actions the signed-in member may take
 * on a member (the owner and billing-contact rules of SPEC §4, asked of libs/domain, so buttons the
 * API would refuse are hidden or explained), and changes that can be re-applied after a 412.
 */
import {
  type AccountDto,
  type MemberDto,
  type RoleDto,
  type TeamDto,
  type UpdateMemberRequest,
} from '@rolecall/contracts';
import { checkBillingTransfer, checkOwnershipTransfer, checkRemoval, type MemberFacts } from '@rolecall/domain';
import { conflictRow, type ConflictRow } from '$lib/components/live/conflict';
import type { Outcome } from '$lib/services/outcome';
import { STATUS_LABELS } from '$lib/services/users.service';

/** A change that sends `If-Match`; on a 412 it can be run again with the version that won. */
export interface PendingChange {
  /** What the signed-in member tried, e.g. "Change the role to Admin". */
  description: string;
  /** Whose version `If-Match` carries. */
  target: 'member' | 'account';
  run: (version: number) => Promise<Outcome<unknown>>;
  /** The member is gone afterwards (invitation cancelled, member deleted). */
  removes?: boolean;
  /** What the change sets, in words, by the labels of the conflict rows (e.g. `{ Role: 'Admin' }`). */
  sets?: Record<string, string>;
}

/** A 412: the change that was refused, what the page had, and the resource as it is now. */
export interface Conflict {
  change: PendingChange;
  before: MemberDto | AccountDto;
  current: MemberDto | AccountDto;
}

const talkAccess = (on: boolean) => (on ? 'Access' : 'No access');
const teamNames = (names: string[]) => [...names].sort().join(', ') || 'none';

/** A change of role, Talk access or teams in words: the whole, and what it sets per conflict row. */
export function describeAccessChange(
  change: UpdateMemberRequest,
  roles: readonly Pick<RoleDto, 'id' | 'name'>[],
  teams: readonly Pick<TeamDto, 'id' | 'name'>[],
): Pick<PendingChange, 'description' | 'sets'> {
  const parts: string[] = [];
  const sets: Record<string, string> = {};
  if (change.roleId) {
    const name = roles.find((r) => r.id === change.roleId)?.name;
    parts.push(`role ${name ?? 'changed'}`);
    if (name) sets['Role'] = name;
  }
  if (change.agentAccess !== undefined) {
    parts.push(change.agentAccess ? 'Talk access on' : 'Talk access off');
    sets['Talk access'] = talkAccess(change.agentAccess);
  }
  if (change.teamIds) {
    const names = change.teamIds.map((t) => teams.find((team) => team.id === t)?.name ?? 'a team');
    parts.push(names.length ? `teams ${names.join(', ')}` : 'no teams');
    sets['Teams'] = teamNames(names);
  }
  return { description: `Set ${parts.join(', ')}`, sets };
}

/** Mine beside theirs for every field (of the member, or of the account) where the versions differ. */
export function conflictRows(conflict: Conflict, nameOf: (id: string) => string): ConflictRow[] {
  const { before, current, change } = conflict;
  const rows: (ConflictRow | null)[] = [];
  /** A field as the other admin saved it, and whether it differs from what the page had. */
  const field = (label: string, theirs: string, theyChanged: boolean) =>
    rows.push(conflictRow(label, change.sets?.[label], theirs, theyChanged));
  if (isMember(before) && isMember(current)) {
    const teams = (m: MemberDto) => teamNames(m.teams.map((t) => t.name));
    const yesNo = (on: boolean) => (on ? 'Yes' : 'No');
    field('Status', STATUS_LABELS[current.status], before.status !== current.status);
    field('Role', current.role.name, before.role.id !== current.role.id);
    field('Talk access', talkAccess(current.agentAccess), before.agentAccess !== current.agentAccess);
    field('Teams', teams(current), teams(before) !== teams(current));
    field('Owner', yesNo(current.isOwner), before.isOwner !== current.isOwner);
    field('Billing contact', yesNo(current.isBillingContact), before.isBillingContact !== current.isBillingContact);
  } else if (!isMember(before) && !isMember(current)) {
    field('Owner', nameOf(current.ownerId), before.ownerId !== current.ownerId);
    field('Billing contact', nameOf(current.billingContactId), before.billingContactId !== current.billingContactId);
    field('Plan', current.plan, before.plan !== current.plan);
    field('Seats in use', String(current.seats.used), before.seats.used !== current.seats.used);
  }
  return rows.filter((row) => row !== null);
}

function isMember(value: MemberDto | AccountDto): value is MemberDto {
  return 'email' in value;
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

type AccountRefs = Pick<AccountDto, 'ownerId' | 'billingContactId'>;

/** The signed-in member as libs/domain sees an actor: they are active, or they could not be here. */
const actorFacts = (actor: Actor): MemberFacts => ({ id: actor.id, roleId: actor.roleId, status: 'active' });
const memberFacts = (member: MemberDto): MemberFacts => ({
  id: member.id,
  roleId: member.role.id,
  status: member.status,
});

/** Revoke and delete share the protections of SPEC §4 (`checkRemoval`), explained with `verb`. */
export function mayRemove(actor: Actor, member: MemberDto, account: AccountRefs, verb: string): Allowed {
  if (!actor.canManage) return { ok: false, reason: 'Only admins can do this.' };
  switch (checkRemoval(account, actor, memberFacts(member))) {
    case null:
      return { ok: true };
    case 'SELF_ACTION_FORBIDDEN':
      return { ok: false, reason: `You can’t ${verb} yourself.` };
    case 'OWNER_PROTECTED':
      return { ok: false, reason: `The account owner can’t be ${verb}d. Transfer ownership first.` };
    case 'BILLING_CONTACT_PROTECTED':
      return {
        ok: false,
        reason: `The billing contact can’t be ${verb}d. Make someone else the billing contact first.`,
      };
    default:
      return { ok: false, reason: `You can’t ${verb} this member.` };
  }
}

/** Only the owner hands over ownership, to another active member. */
export function mayTransferOwnership(actor: Actor, member: MemberDto, account: AccountRefs): boolean {
  return checkOwnershipTransfer(account, actorFacts(actor), memberFacts(member)) === null;
}

/** The owner, or a billing contact who is an Admin, hands the billing contact to another active member. */
export function mayTransferBilling(actor: Actor, member: MemberDto, account: AccountRefs): boolean {
  return checkBillingTransfer(account, actorFacts(actor), memberFacts(member)) === null;
}
