/** Every activity action of SPEC §4, with the words the dashboard shows for it. */
export const ACTIVITY_ACTIONS = {
  'account.created': 'Account created',
  'account.updated': 'Account settings changed',
  'account.validated': 'Account validated',
  'account.plan_changed': 'Plan changed',
  'ownership.transferred': 'Ownership transferred',
  'billing.transferred': 'Billing contact transferred',
  'user.invited': 'User invited',
  'invitation.resent': 'Invitation resent',
  'invitation.cancelled': 'Invitation cancelled',
  'invitation.accepted': 'Invitation accepted',
  'user.role_changed': 'Role changed',
  'user.agent_access_changed': 'Talk access changed',
  'user.teams_changed': 'Teams changed',
  'user.revoked': 'User revoked',
  'user.reactivated': 'User reactivated',
  'user.deleted': 'User deleted',
  'user.sessions_revoked': 'Sessions ended by an admin',
  'users.exported': 'Members exported (CSV)',
  'role.created': 'Role created',
  'role.updated': 'Role edited',
  'role.deleted': 'Role deleted',
  'roles.reordered': 'Roles reordered',
  'role.previewed': 'Dashboard previewed as a role',
  'team.created': 'Team created',
  'team.updated': 'Team renamed',
  'team.deleted': 'Team deleted',
  'session.signed_in': 'Signed in',
  'session.signed_out': 'Signed out',
  'person.renamed': 'Name changed',
  'person.2fa_enabled': 'Two-factor authentication turned on',
  'person.2fa_disabled': 'Two-factor authentication turned off',
  'person.2fa_reset': 'Two-factor authentication reset by an admin',
  'person.email_verified': 'Email address verified',
  'person.email_claimed': 'Email address claimed by its owner',
  'person.password_reset': 'Password reset',
  'user.provisioned': 'User provisioned (SCIM)',
  'user.updated': 'User details changed (SCIM)',
  'scim.token_created': 'SCIM token made',
  'scim.token_revoked': 'SCIM turned off',
  'webhook.created': 'Webhook endpoint added',
  'webhook.updated': 'Webhook endpoint changed',
  'webhook.deleted': 'Webhook endpoint deleted',
  'webhook.secret_rotated': 'Webhook secret rotated',
  'webhook.retried': 'Webhook delivery retried',
  'webhook.disabled': 'Webhook endpoint disabled after failures',
  'service_account.created': 'Service account created',
  'service_account.updated': 'Service account changed',
  'service_account.deleted': 'Service account deleted',
  'service_account.key_created': 'API key issued',
  'service_account.key_revoked': 'API key revoked',
} as const;

export type ActivityAction = keyof typeof ACTIVITY_ACTIONS;

/**
 * Display names kept with an activity entry (issue 15), so it still reads right after a member,
 * role or team is renamed or deleted: id → a member's name (else email), a role's or a team's
 * name, as they were when the entry was written. It covers every id the entry names — the actor's
 * member, the target, and the ids under change keys ending in `Id`/`Ids` (`roleId`, `ownerId`,
 * `billingContactId`, `teamIds`, `roleIds`), before and after.
 *
 * Stored inside the entry's `changes` JSON under `names`, so it is part of the hashed content
 * (`GET /activity/verify` covers it); the API answers it as `ActivityEntryDto.names` and leaves it
 * out of `changes`. Entries written before it have none: readers fall back to labels and emails.
 */
export type ActivityNames = Record<string, string>;

/** `::ffff:127.0.0.1` (an IPv4 address as an IPv4-mapped IPv6 one) → `127.0.0.1`; others unchanged. */
export function plainIp(ip: string): string;
export function plainIp(ip: string | null): string | null;
export function plainIp(ip: string | null): string | null {
  const mapped = ip && /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return mapped ? mapped[1]! : ip;
}
