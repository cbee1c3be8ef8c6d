/**
 * Activity entries as sentences with names (issue 15): "Ada changed Bob's role from Editor to
 * Admin", "Ada turned off Bob's Talk access". Names come from the entry alone — its `names` (kept
 * when it was written, so a renamed or deleted role still reads as it was), then the target's
 * label and the actor's email; system roles are known by id, so older entries name them too.
 *
 * Pure, and free of Svelte and `$lib`: the API test project runs it in plain Node.
 */
import {
  ACTION_LABELS,
  ACTIVITY_ACTIONS,
  FEATURES,
  systemRoleById,
  type ActionKey,
  type ActivityAction,
  type ActivityEntryDto,
  type FeatureKey,
} from '@rolecall/contracts';

export { plainIp } from '@rolecall/contracts';

type Entry = Pick<ActivityEntryDto, 'action' | 'actor' | 'target' | 'changes' | 'names'>;

/** What a sentence is built from: the entry, its actor and target in words. */
interface Said {
  entry: Entry;
  /** "Ada", an email, or "The system". */
  actor: string;
  /** "Bob", "bob@x.test", the role's or team's name. */
  target: string;
  /** "Bob's", or "their own" when the actor acts on themselves. */
  targetOwn: string;
  /** "Bob", or "themselves". */
  targetObject: string;
}

const PROVIDERS: Record<string, string> = {
  google: 'Google',
  microsoft: 'Microsoft',
  okta: 'Okta',
  password: 'a password',
};

/** The name an entry keeps for an id (or a system role's name); null when it has none. */
export function nameOf(entry: Pick<Entry, 'names'>, id: unknown): string | null {
  if (typeof id !== 'string') return null;
  return entry.names?.[id] ?? systemRoleById(id)?.name ?? null;
}

/**
 * "Ada" (the actor's member name, else email); "SCIM (Okta)" or "Service account Deploy bot" when
 * no member acted (issue 16); "The system" when no one is recorded.
 */
export function actorName(entry: Pick<Entry, 'actor' | 'names'>): string {
  const { kind, name } = entry.actor;
  if (kind === 'scim') return name ?? 'SCIM';
  if (kind === 'service_account') return `Service account ${name ?? ''}`.trim();
  return nameOf(entry, entry.actor.memberId) ?? entry.actor.email ?? 'The system';
}

/** The target's name, else its label, else what it is ("a member"). */
function targetName(entry: Pick<Entry, 'target' | 'names'>): string {
  return nameOf(entry, entry.target.id) ?? entry.target.label ?? `a ${entry.target.type}`;
}

/** The sentence for an action without one of its own (an action newer than this dashboard). */
export function fallbackSentence(entry: Entry): string {
  const label = ACTIVITY_ACTIONS[entry.action as ActivityAction] ?? entry.action;
  const target = entry.target.id || entry.target.label ? `: ${targetName(entry)}` : '';
  return `${actorName(entry)} — ${label}${target}`;
}

/** The entry in one sentence, with names. */
export function describeActivity(entry: Entry): string {
  const sentence = SENTENCES[entry.action as ActivityAction];
  if (!sentence) return fallbackSentence(entry);
  const actor = actorName(entry);
  const target = targetName(entry);
  const self = entry.actor.memberId !== null && entry.actor.memberId === entry.target.id;
  return sentence({
    entry,
    actor,
    target,
    targetOwn: self ? 'their own' : possessive(target),
    targetObject: self ? 'themselves' : target,
  });
}

// ── One sentence per action (a missing action fails to compile) ───────────────────────────

const SENTENCES: Record<ActivityAction, (said: Said) => string> = {
  'account.created': ({ entry, actor, target }) => {
    const plan = after(entry, 'plan');
    return `${actor} created the account ${text(after(entry, 'name')) ?? target}${plan ? ` on the ${capital(String(plan))} plan` : ''}`;
  },
  'account.updated': ({ entry, actor }) => {
    const parts = accountChanges(entry.changes ?? {});
    const ended = count(entry.changes?.['sessionsEnded']);
    return `${actor} ${parts.length ? list(parts) : 'changed the account settings'}${ended ? ` (${plural(ended, 'session')} ended)` : ''}`;
  },
  'account.validated': ({ entry, actor }) => {
    const phone = text(after(entry, 'phone'));
    return `${actor} validated the account${phone ? ` with the phone number ${phone}` : ''}`;
  },
  'account.plan_changed': ({ entry, actor }) => {
    const [from, to] = [text(before(entry, 'plan')), text(after(entry, 'plan'))];
    if (!to) return `${actor} changed the plan`;
    return `${actor} changed the plan ${from ? `from ${capital(from)} ` : ''}to ${capital(to)}`;
  },
  'ownership.transferred': ({ entry, actor, target }) => {
    const role = nameOf(entry, after(entry, 'roleId'));
    return `${actor} transferred ownership to ${target}${role ? ` (now ${role})` : ''}`;
  },
  'billing.transferred': ({ entry, actor, target }) => {
    const previous = nameOf(entry, before(entry, 'billingContactId'));
    return `${actor} made ${target} the billing contact${previous && previous !== target ? ` instead of ${previous}` : ''}`;
  },
  'user.invited': ({ entry, actor, target }) => {
    const role = nameOf(entry, after(entry, 'roleId'));
    const teams = names(entry, after(entry, 'teamIds'), 'team');
    return (
      `${actor} invited ${target}${role ? ` as ${role}` : ''}` +
      `${after(entry, 'agentAccess') === true ? ' with Talk access' : ''}` +
      `${teams ? ` (teams: ${teams})` : ''}` +
      `${entry.changes?.['csvImport'] ? ' from a CSV import' : ''}`
    );
  },
  'invitation.resent': ({ actor, target }) => `${actor} resent the invitation to ${target}`,
  'invitation.cancelled': ({ actor, target }) => `${actor} cancelled the invitation to ${target}`,
  'invitation.accepted': ({ entry, target }) => {
    const via = PROVIDERS[String(entry.changes?.['via'])];
    return `${target} accepted the invitation and joined${via ? ` (signed in with ${via})` : ''}`;
  },
  'user.role_changed': ({ entry, actor, targetOwn }) => {
    const from = nameOf(entry, before(entry, 'roleId')) ?? text(before(entry, 'role'));
    const to = nameOf(entry, after(entry, 'roleId')) ?? text(after(entry, 'role'));
    return `${actor} changed ${targetOwn} role${from ? ` from ${from}` : ''}${to ? ` to ${to}` : ''}`;
  },
  'user.agent_access_changed': ({ entry, actor, targetOwn }) =>
    `${actor} turned ${after(entry, 'agentAccess') ? 'on' : 'off'} ${targetOwn} Talk access`,
  'user.teams_changed': ({ entry, actor, targetObject, targetOwn }) => {
    const [was, now] = [ids(before(entry, 'teamIds')), ids(after(entry, 'teamIds'))];
    const added = names(
      entry,
      now.filter((id) => !was.includes(id)),
      'team',
    );
    const removed = names(
      entry,
      was.filter((id) => !now.includes(id)),
      'team',
    );
    const parts = [added && `added ${targetObject} to ${added}`, removed && `removed ${targetObject} from ${removed}`];
    const said = parts.filter(Boolean);
    return said.length ? `${actor} ${said.join(' and ')}` : `${actor} changed ${targetOwn} teams`;
  },
  'user.revoked': ({ actor, targetObject }) => `${actor} revoked ${targetObject}`,
  'user.reactivated': ({ actor, targetObject }) => `${actor} reactivated ${targetObject}`,
  'user.deleted': ({ actor, targetObject }) => `${actor} deleted ${targetObject}`,
  'user.provisioned': ({ actor, targetObject }) => `${actor} provisioned ${targetObject}`,
  'user.updated': ({ entry, actor, targetOwn }) => {
    const fields = Object.keys(entry.changes ?? {}).map((key) => (key === 'externalId' ? 'external id' : key));
    return `${actor} changed ${targetOwn} ${fields.length ? list(fields) : 'details'}`;
  },
  'scim.token_created': ({ entry, actor }) =>
    entry.changes?.['replaced']
      ? `${actor} made a new SCIM token (the old one stopped working)`
      : `${actor} turned on SCIM provisioning`,
  'scim.token_revoked': ({ actor }) => `${actor} turned off SCIM provisioning`,
  'webhook.created': ({ actor, target }) => `${actor} added the webhook endpoint ${target}`,
  'webhook.updated': ({ entry, actor, target }) => {
    const enabled = entry.changes?.['enabled'] as { after?: unknown } | undefined;
    if (enabled && Object.keys(entry.changes ?? {}).length === 1)
      return `${actor} ${enabled.after ? 'enabled' : 'paused'} the webhook endpoint ${target}`;
    return `${actor} changed the webhook endpoint ${target}`;
  },
  'webhook.deleted': ({ actor, target }) => `${actor} deleted the webhook endpoint ${target}`,
  'webhook.secret_rotated': ({ actor, target }) => `${actor} made a new signing secret for ${target}`,
  'webhook.retried': ({ actor, target }) => `${actor} retried deliveries to ${target}`,
  'webhook.disabled': ({ target }) => `The webhook endpoint ${target} was disabled after a day of failed deliveries`,
  'service_account.created': ({ entry, actor, target }) => {
    const role = nameOf(entry, entry.changes?.['roleId']);
    return `${actor} created the service account ${target}${role ? ` with the role ${role}` : ''}`;
  },
  'service_account.updated': ({ entry, actor, target }) => {
    const [from, to] = [nameOf(entry, before(entry, 'roleId')), nameOf(entry, after(entry, 'roleId'))];
    const [oldName, newName] = [text(before(entry, 'name')) ?? target, text(after(entry, 'name'))];
    const parts = [
      ...(newName ? [`renamed the service account ${oldName} to ${newName}`] : []),
      ...(to
        ? [
            `changed ${newName ? 'its' : `the service account ${oldName}'s`} role${from ? ` from ${from}` : ''} to ${to}`,
          ]
        : []),
    ];
    return `${actor} ${parts.length ? parts.join(' and ') : `changed the service account ${target}`}`;
  },
  'service_account.deleted': ({ actor, target }) =>
    `${actor} deleted the service account ${target} (its API keys stopped working)`,
  'service_account.key_created': ({ entry, actor, target }) => {
    const prefix = text(entry.changes?.['prefix']);
    const expires = text(entry.changes?.['expiresAt']);
    return `${actor} issued an API key${prefix ? ` ${prefix}…` : ''} for the service account ${target}${expires ? `, expiring ${expires.slice(0, 10)}` : ''}`;
  },
  'service_account.key_revoked': ({ entry, actor, target }) => {
    const prefix = text(entry.changes?.['prefix']);
    return `${actor} revoked the API key${prefix ? ` ${prefix}…` : ''} of the service account ${target}`;
  },
  'user.sessions_revoked': ({ entry, actor, targetObject }) => {
    const ended = count(entry.changes?.['sessionsEnded']);
    return `${actor} signed ${targetObject} out everywhere${ended ? ` (${plural(ended, 'session')} ended)` : ''}`;
  },
  'users.exported': ({ entry, actor }) => {
    const exported = count(entry.changes?.['count']);
    const filter = entry.changes?.['filter'];
    const filtered = filter !== null && typeof filter === 'object' && Object.keys(filter).some((key) => key !== 'sort');
    return `${actor} exported ${plural(exported, 'member')}${filtered ? ' matching a filter' : ''} as CSV`;
  },
  'role.created': ({ entry, actor, target }) => {
    const source = entry.changes?.['duplicatedFrom'] as { id?: unknown; name?: unknown } | undefined;
    const from = source ? (nameOf(entry, source.id) ?? text(source.name)) : null;
    return `${actor} created the role ${text(after(entry, 'name')) ?? target}${from ? ` as a copy of ${from}` : ''}`;
  },
  'role.previewed': ({ actor, target }) => `${actor} previewed the dashboard as ${target} (read-only)`,
  'role.updated': ({ entry, actor, target }) => {
    const [from, to] = [text(before(entry, 'name')), text(after(entry, 'name'))];
    const parts: string[] = [];
    const permissions = entry.changes?.['permissions'] as { added?: unknown; removed?: unknown } | undefined;
    const granted = permissionList(permissions?.added);
    const taken = permissionList(permissions?.removed);
    if (granted) parts.push(`granted ${granted}`);
    if (taken) parts.push(`removed ${taken}`);
    if (entry.changes?.['description']) parts.push('changed its description');
    if (entry.changes?.['icon']) parts.push('changed its icon');
    const head = from && to ? `${actor} renamed the role ${from} to ${to}` : `${actor} edited the role ${to ?? target}`;
    return parts.length ? `${head}: ${list(parts)}` : head;
  },
  'role.deleted': ({ entry, actor, target }) => {
    const moved = count(entry.changes?.['membersMoved']) + count(entry.changes?.['invitationsMoved']);
    const to = entry.changes?.['reassignedTo'] as { id?: unknown; name?: unknown } | null | undefined;
    const toName = text(to?.name) ?? nameOf(entry, to?.id);
    return `${actor} deleted the role ${text(before(entry, 'name')) ?? target}${moved && toName ? ` and moved ${plural(moved, 'member')} to ${toName}` : ''}`;
  },
  'roles.reordered': ({ entry, actor }) => {
    const order = ids(after(entry, 'roleIds')).map((id) => nameOf(entry, id));
    return order.length && order.every(Boolean)
      ? `${actor} reordered the roles: ${order.join(', ')}`
      : `${actor} reordered the roles`;
  },
  'team.created': ({ entry, actor, target }) => `${actor} created the team ${text(after(entry, 'name')) ?? target}`,
  'team.updated': ({ entry, actor, target }) => {
    const [from, to] = [text(before(entry, 'name')), text(after(entry, 'name'))];
    return from && to ? `${actor} renamed the team ${from} to ${to}` : `${actor} renamed the team ${target}`;
  },
  'team.deleted': ({ entry, actor, target }) => {
    const removed = count(entry.changes?.['membersRemoved']);
    return `${actor} deleted the team ${text(before(entry, 'name')) ?? target}${removed ? ` (${plural(removed, 'member')} left it)` : ''}`;
  },
  'session.signed_in': ({ entry, actor }) => {
    const method = PROVIDERS[String(entry.changes?.['method'])];
    if (entry.changes?.['breakGlass'])
      return `${actor} signed in with a password while single sign-on is enforced (the owner’s way back in)`;
    return `${actor} signed in${method ? ` with ${method}` : ''}`;
  },
  'session.signed_out': ({ entry, actor }) =>
    entry.changes?.['endedBy'] === 'self' ? `${actor} ended one of their sessions` : `${actor} signed out`,
  'person.renamed': ({ entry, actor }) => {
    const [was, now] = [text(before(entry, 'name')), text(side(entry, 'name', 'after'))];
    return was && now ? `${was} changed their name to ${now}` : `${actor} changed their name`;
  },
  'person.2fa_enabled': ({ actor }) => `${actor} turned on two-factor authentication`,
  'person.2fa_disabled': ({ actor }) => `${actor} turned off two-factor authentication`,
  'person.2fa_reset': ({ entry, actor, targetOwn, target }) =>
    `${actor} reset ${targetOwn} two-factor authentication${entry.changes?.['passwordResetRequired'] ? ` (${target} must also choose a new password)` : ''}`,
  'person.email_verified': ({ target }) => `${target} confirmed their email address`,
  'person.email_claimed': ({ entry, target }) => {
    const address = entry.target.label ?? 'the address';
    const ended = count(entry.changes?.['sessionsEnded']);
    return `Whoever holds the mailbox ${address} proved it and took over ${target === address ? 'its login' : `${possessive(target)} login`}${ended ? ` (${plural(ended, 'session')} ended)` : ''}`;
  },
  'person.password_reset': ({ entry, target }) => {
    const ended = count(entry.changes?.['sessionsEnded']);
    return `${target} reset their password with an emailed link${ended ? ` (${plural(ended, 'session')} ended)` : ''}`;
  },
};

// ── Helpers ─────────────────────────────────────────────────────────────────────────────────

function side(entry: Entry, key: string, which: 'before' | 'after'): unknown {
  const value = entry.changes?.[key];
  return value !== null && typeof value === 'object' && which in value
    ? (value as Record<string, unknown>)[which]
    : undefined;
}
const before = (entry: Entry, key: string) => side(entry, key, 'before');
const after = (entry: Entry, key: string) => side(entry, key, 'after');

const text = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);
const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const ids = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
const capital = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const possessive = (name: string) => `${name}'s`;

/** "A", "A and B", "A, B and C". */
function list(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** The names of ids as a list; ids without a kept name count as "a team" / "2 other teams". */
function names(entry: Entry, value: unknown, noun: string): string {
  const all = ids(value);
  const known = all.map((id) => nameOf(entry, id)).filter((name): name is string => name !== null);
  const unknown = all.length - known.length;
  if (unknown)
    known.push(known.length ? plural(unknown, `other ${noun}`) : unknown === 1 ? `a ${noun}` : plural(unknown, noun));
  return list(known);
}

/** "Reports: Export and Talk inbox: Reply" (at most three, then "and N more"). */
function permissionList(value: unknown): string {
  const keys = ids(value);
  const labels = keys.slice(0, 3).map((key) => {
    const [feature, action] = key.split('.') as [FeatureKey, ActionKey];
    return FEATURES[feature] && ACTION_LABELS[action] ? `${FEATURES[feature].label}: ${ACTION_LABELS[action]}` : key;
  });
  if (keys.length > 3) labels.push(`${keys.length - 3} more`);
  return list(labels);
}

const ACCOUNT_FIELDS: Record<string, (change: { before?: unknown; after?: unknown }) => string> = {
  name: ({ before: from, after: to }) =>
    `renamed the account${text(from) ? ` from ${text(from)}` : ''} to ${text(to) ?? 'a new name'}`,
  require2fa: ({ after: on }) =>
    on ? 'required two-factor authentication' : 'stopped requiring two-factor authentication',
  authEnforcement: ({ after: to }) =>
    to === 'any' || !to
      ? 'let members sign in any way'
      : `required sign-in with ${PROVIDERS[String(to)] ?? String(to)}`,
  teamsEnabled: ({ after: on }) => (on ? 'turned Talk teams on' : 'turned Talk teams off'),
  oktaIssuer: () => 'updated the Okta connection',
  oktaClientId: () => 'updated the Okta connection',
  oktaClientSecret: () => 'updated the Okta connection',
};

/** Each account setting that changed, in words (the Okta fields once). */
function accountChanges(changes: Record<string, unknown>): string[] {
  const parts = Object.entries(changes)
    .filter(([key]) => key !== 'sessionsEnded')
    .map(([key, value]) => {
      const change =
        value !== null && typeof value === 'object' ? (value as { before?: unknown; after?: unknown }) : {};
      return ACCOUNT_FIELDS[key]?.(change) ?? `changed ${key.replace(/([A-Z])/g, ' $1').toLowerCase()}`;
    });
  return [...new Set(parts)];
}
