import {
  FEATURE_KEYS,
  PERMISSION_KEYS,
  featureOf,
  isPermissionKey,
  viewKeyOf,
  type MemberStatus,
  type PermissionKey,
} from '@rolecall/contracts';

/** The facts `effectivePermissions` needs about a member. */
export interface PermissionSubject {
  readonly status: MemberStatus;
  readonly agentAccess: boolean;
  readonly isBillingContact: boolean;
}

const CATALOGUE_ORDER = new Map(PERMISSION_KEYS.map((key, index) => [key, index]));

/** Sorts keys in catalogue order and drops duplicates. */
export function sortPermissions(keys: Iterable<PermissionKey>): PermissionKey[] {
  return [...new Set(keys)].sort((a, b) => CATALOGUE_ORDER.get(a)! - CATALOGUE_ORDER.get(b)!);
}

/** Adds the `view` of every feature that has any action in `keys` (SPEC §4: any action implies view). */
export function withImpliedViews(keys: Iterable<PermissionKey>): PermissionKey[] {
  const result = new Set<PermissionKey>();
  for (const key of keys) {
    result.add(key);
    const view = viewKeyOf(featureOf(key));
    if (isPermissionKey(view)) result.add(view);
  }
  return sortPermissions(result);
}

/**
 * SPEC §4: the role's permissions, minus every `talk.*` key unless the member has agent access,
 * plus `billing.view` for the billing contact; nothing for a member who is not active.
 * Any action of a feature implies its `view`.
 */
export function effectivePermissions(
  member: PermissionSubject,
  rolePermissions: Iterable<PermissionKey>,
): PermissionKey[] {
  if (member.status !== 'active') return [];
  const keys = new Set<PermissionKey>();
  for (const key of rolePermissions) {
    if (!member.agentAccess && featureOf(key) === 'talk') continue;
    keys.add(key);
  }
  if (member.isBillingContact) keys.add('billing.view');
  return withImpliedViews(keys);
}

/** Keys gained and lost between two permission sets (for activity diffs and impact previews). */
export function diffPermissions(
  before: Iterable<PermissionKey>,
  after: Iterable<PermissionKey>,
): { added: PermissionKey[]; removed: PermissionKey[] } {
  const a = new Set(before);
  const b = new Set(after);
  return {
    added: sortPermissions([...b].filter((key) => !a.has(key))),
    removed: sortPermissions([...a].filter((key) => !b.has(key))),
  };
}

/** Groups keys by feature in catalogue order (for "what I can do"). */
export function groupByFeature(keys: Iterable<PermissionKey>): Map<string, PermissionKey[]> {
  const set = new Set(keys);
  const groups = new Map<string, PermissionKey[]>();
  for (const feature of FEATURE_KEYS) {
    const inFeature = PERMISSION_KEYS.filter((key) => featureOf(key) === feature && set.has(key));
    if (inFeature.length > 0) groups.set(feature, inFeature);
  }
  return groups;
}

/** A permission check against a resolved set; O(1). */
export function can(keys: ReadonlySet<PermissionKey>, key: PermissionKey): boolean {
  return keys.has(key);
}
