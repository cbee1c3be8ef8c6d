import type { AccountFacts, MemberFacts } from './invariants.js';

/**
 * An admin resets a member's 2FA (issue 13 §3) — never their own (My account turns it off, with a
 * code), never the owner's (only the owner changes the owner's second factor), and only for an
 * active member who has it on (`CONFLICT` otherwise).
 */
export function checkTwoFactorReset(
  account: AccountFacts,
  actor: Pick<MemberFacts, 'id'>,
  target: Pick<MemberFacts, 'id' | 'status'>,
  targetHasTotp: boolean,
): 'SELF_ACTION_FORBIDDEN' | 'OWNER_PROTECTED' | 'CONFLICT' | null {
  if (actor.id === target.id) return 'SELF_ACTION_FORBIDDEN';
  if (account.ownerId === target.id) return 'OWNER_PROTECTED';
  if (target.status !== 'active' || !targetHasTotp) return 'CONFLICT';
  return null;
}
