import { featureOf, type MemberStatus, type PermissionKey } from '@rolecall/contracts';
import { effectivePermissions, withImpliedViews, type PermissionSubject } from './permissions.js';

/** The facts `explainPermissions` needs: those of `effectivePermissions`, and whether the member owns the account. */
export interface ExplainSubject extends PermissionSubject {
  readonly isOwner: boolean;
}

export type SourceKind = 'role' | 'agentAccess' | 'owner' | 'billingContact';

export interface PermissionSource {
  readonly kind: SourceKind;
  readonly label: string;
}

export interface WithheldPermission {
  readonly key: PermissionKey;
  readonly reason: 'noAgentAccess' | 'notActive';
  readonly label: string;
}

export interface PermissionExtra {
  readonly kind: 'owner' | 'billingContact';
  readonly label: string;
}

export interface PermissionExplanation {
  /** Exactly `effectivePermissions(subject, role.permissions)`: what the API enforces. */
  readonly keys: PermissionKey[];
  readonly sources: Partial<Record<PermissionKey, PermissionSource[]>>;
  readonly withheld: WithheldPermission[];
  readonly extras: PermissionExtra[];
}

export const SOURCE_LABELS = {
  agentAccess: 'Talk agent access',
  billingContact: 'Billing contact',
  owner: 'Account owner',
} as const;

const NOT_ACTIVE: Record<Exclude<MemberStatus, 'active'>, string> = {
  invited: 'Has not accepted the invitation yet',
  revoked: 'Access revoked',
};

/** Abilities that are no permission key (SPEC §4): only the owner does these. */
const OWNER_EXTRAS = ['Change the plan', 'Validate the account', 'Transfer ownership', 'Transfer the billing contact'];

/**
 * "What can <name> do" (issue 17 §4): the member's effective permissions with where each comes
 * from. The keys are `effectivePermissions`' answer itself — no second resolver — and the sources
 * are attributed after the fact: the role grants a key (any action implies its `view`), a `talk.*`
 * key also needs agent access, `billing.view` may come from being the billing contact. Keys the
 * role grants that the member does not get are `withheld`, with why; owner-only abilities (and the
 * billing contact's, when Admin) are `extras`.
 */
export function explainPermissions(
  subject: ExplainSubject,
  role: { readonly name: string; readonly permissions: Iterable<PermissionKey> },
): PermissionExplanation {
  const granted = withImpliedViews(role.permissions);
  const fromRole = new Set(granted);
  const keys = effectivePermissions(subject, granted);
  const held = new Set(keys);
  const sources: Partial<Record<PermissionKey, PermissionSource[]>> = {};
  for (const key of keys) {
    const list: PermissionSource[] = [];
    if (fromRole.has(key)) {
      list.push({ kind: 'role', label: role.name });
      if (featureOf(key) === 'talk') list.push({ kind: 'agentAccess', label: SOURCE_LABELS.agentAccess });
    }
    if (key === 'billing.view' && subject.isBillingContact)
      list.push({ kind: 'billingContact', label: SOURCE_LABELS.billingContact });
    sources[key] = list;
  }
  const withheld: WithheldPermission[] = granted
    .filter((key) => !held.has(key))
    .map((key) =>
      subject.status !== 'active'
        ? { key, reason: 'notActive' as const, label: NOT_ACTIVE[subject.status] }
        : { key, reason: 'noAgentAccess' as const, label: `Needs ${SOURCE_LABELS.agentAccess}` },
    );
  const extras: PermissionExtra[] = [];
  if (subject.status === 'active') {
    if (subject.isOwner) extras.push(...OWNER_EXTRAS.map((label) => ({ kind: 'owner' as const, label })));
    if (subject.isBillingContact) {
      extras.push({ kind: 'billingContact', label: 'Receives the billing mail' });
      // The billing contact who is Admin (the only role with billing.manage) may hand the role on.
      if (!subject.isOwner && held.has('billing.manage'))
        extras.push({ kind: 'billingContact', label: 'Transfer the billing contact' });
    }
  }
  return { keys, sources, withheld, extras };
}
