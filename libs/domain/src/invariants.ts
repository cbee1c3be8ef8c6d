/**
 * Owner and billing-contact rules of SPEC §4 as pure functions. Each returns `null` when the action
 * is allowed, or the error code that refuses it; services turn codes into domain errors.
 */
import { ADMIN_ROLE_ID, type MemberStatus } from '@rolecall/contracts';

export interface AccountFacts {
  readonly ownerId: string;
  readonly billingContactId: string;
}

export interface MemberFacts {
  readonly id: string;
  readonly status: MemberStatus;
  readonly roleId: string;
}

export type RuleViolation =
  'OWNER_PROTECTED' | 'BILLING_CONTACT_PROTECTED' | 'SELF_ACTION_FORBIDDEN' | 'FORBIDDEN' | 'VALIDATION_FAILED';

export const isOwner = (account: AccountFacts, member: Pick<MemberFacts, 'id'>): boolean =>
  account.ownerId === member.id;
export const isBillingContact = (account: AccountFacts, member: Pick<MemberFacts, 'id'>): boolean =>
  account.billingContactId === member.id;

/** Revoking and deleting share the same protections. */
export function checkRemoval(
  account: AccountFacts,
  actor: Pick<MemberFacts, 'id'>,
  target: MemberFacts,
): RuleViolation | null {
  if (actor.id === target.id) return 'SELF_ACTION_FORBIDDEN';
  if (isOwner(account, target)) return 'OWNER_PROTECTED';
  if (isBillingContact(account, target)) return 'BILLING_CONTACT_PROTECTED';
  return null;
}

/** @alias Revoking has `checkRemoval`'s protections (the rule's name where a revoke is checked). */
export const checkRevoke = checkRemoval;
/** @alias Deleting has `checkRemoval`'s protections (the rule's name where a delete is checked). */
export const checkDelete = checkRemoval;

/** The owner always holds Admin. */
export function checkRoleChange(account: AccountFacts, target: MemberFacts, newRoleId: string): RuleViolation | null {
  if (isOwner(account, target) && newRoleId !== ADMIN_ROLE_ID) return 'OWNER_PROTECTED';
  return null;
}

/** Only the owner transfers ownership, to another active member. */
export function checkOwnershipTransfer(
  account: AccountFacts,
  actor: MemberFacts,
  target: MemberFacts,
): RuleViolation | null {
  if (!isOwner(account, actor)) return 'FORBIDDEN';
  if (actor.id === target.id) return 'SELF_ACTION_FORBIDDEN';
  if (target.status !== 'active') return 'VALIDATION_FAILED';
  return null;
}

/** Who may transfer the billing contact at all: the owner, or a billing contact who holds Admin. */
export function checkBillingTransferActor(
  account: AccountFacts,
  actor: Pick<MemberFacts, 'id' | 'roleId'>,
): RuleViolation | null {
  return isOwner(account, actor) || (isBillingContact(account, actor) && actor.roleId === ADMIN_ROLE_ID)
    ? null
    : 'FORBIDDEN';
}

/** The actor's rule, then the target: another active member. */
export function checkBillingTransfer(
  account: AccountFacts,
  actor: MemberFacts,
  target: MemberFacts,
): RuleViolation | null {
  const refused = checkBillingTransferActor(account, actor);
  if (refused) return refused;
  if (isBillingContact(account, target)) return 'SELF_ACTION_FORBIDDEN';
  if (target.status !== 'active') return 'VALIDATION_FAILED';
  return null;
}

/** The role a member holds after becoming owner: always Admin. */
export function roleAfterOwnershipTransfer(): string {
  return ADMIN_ROLE_ID;
}

/** Only the owner validates the account and changes the plan. */
export function checkOwnerOnly(account: AccountFacts, actor: Pick<MemberFacts, 'id'>): RuleViolation | null {
  return isOwner(account, actor) ? null : 'FORBIDDEN';
}

/** Listing and ending a member's sessions: the owner's are the owner's alone (an Admin would lock them out). */
export function checkSessionsAccess(
  account: AccountFacts,
  actor: Pick<MemberFacts, 'id'>,
  target: Pick<MemberFacts, 'id'>,
): RuleViolation | null {
  return isOwner(account, target) && !isOwner(account, actor) ? 'OWNER_PROTECTED' : null;
}
