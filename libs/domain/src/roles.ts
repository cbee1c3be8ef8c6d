import { ADMIN_ONLY_PERMISSIONS, isPermissionKey, type PermissionKey } from '@rolecall/contracts';
import { diffPermissions, effectivePermissions, withImpliedViews, type PermissionSubject } from './permissions.js';

export interface CheckedRolePermissions {
  /** Keys that are not in the catalogue. */
  readonly unknown: string[];
  /** Catalogue keys only the Admin system role may hold. */
  readonly adminOnly: PermissionKey[];
  /** The keys as stored: catalogue order, no duplicates, every action's `view` added. */
  readonly normalized: PermissionKey[];
}

/** Validates a custom role's permission list (SPEC §4): catalogue keys only, no Admin-only keys, views implied. */
export function checkRolePermissions(keys: readonly string[]): CheckedRolePermissions {
  const unknown = [...new Set(keys.filter((key) => !isPermissionKey(key)))];
  const known = keys.filter(isPermissionKey);
  const adminOnly = [...new Set(known.filter((key) => ADMIN_ONLY_PERMISSIONS.has(key)))];
  return { unknown, adminOnly, normalized: withImpliedViews(known) };
}

export interface ImpactSubject extends PermissionSubject {
  readonly id: string;
}

export interface MemberImpact {
  readonly id: string;
  readonly added: PermissionKey[];
  readonly removed: PermissionKey[];
  /** How many permissions the member holds afterwards (0: none at all — say why, see `whyNoPermissions`). */
  readonly remaining: number;
}

/**
 * What moving members from one permission set to another changes for each of them: only members
 * whose effective set actually changes are listed (agent access and the billing contact's
 * `billing.view` are taken into account; non-active members never change).
 */
export function roleChangeImpact(
  members: Iterable<ImpactSubject>,
  before: readonly PermissionKey[],
  after: readonly PermissionKey[],
): MemberImpact[] {
  const impacts: MemberImpact[] = [];
  // The diff depends only on these three facts: computed once per combination, not per member.
  const diffs = new Map<string, { added: PermissionKey[]; removed: PermissionKey[]; remaining: number }>();
  for (const member of members) {
    const shape = `${member.status}|${member.agentAccess}|${member.isBillingContact}`;
    let diff = diffs.get(shape);
    if (!diff) {
      const next = effectivePermissions(member, after);
      diffs.set(
        shape,
        (diff = { ...diffPermissions(effectivePermissions(member, before), next), remaining: next.length }),
      );
    }
    if (diff.added.length || diff.removed.length)
      impacts.push({ id: member.id, added: [...diff.added], removed: [...diff.removed], remaining: diff.remaining });
  }
  return impacts;
}

/**
 * Why an active member would hold no permission at all with `role` (null when they would hold
 * some): correct by the rules, but an admin must be told before it happens. Words for the
 * dashboard: "Support agent grants only Talk inbox permissions and Carol has no agent access".
 */
export function whyNoPermissions(
  member: PermissionSubject & { readonly name: string },
  role: { readonly name: string; readonly permissions: readonly PermissionKey[] },
): string | null {
  if (member.status !== 'active' || effectivePermissions(member, role.permissions).length > 0) return null;
  if (role.permissions.length === 0) return `${role.name} grants no permissions`;
  return `${role.name} grants only Talk inbox permissions and ${member.name} has no agent access`;
}
