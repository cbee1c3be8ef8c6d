/**
 * The dashboard's activity sentences (apps/web …/activity/sentence.ts, pure: run here in Node):
 * every action of ACTIVITY_ACTIONS reads as a sentence with names, not the raw fallback; names
 * come from the entry (its kept `names`, its labels); IPv4-mapped addresses read as IPv4.
 */
import { ACTIVITY_ACTIONS, type ActivityAction, type ActivityEntryDto } from '@rolecall/contracts';
import { describe, expect, it } from 'vitest';
import { describeActivity, fallbackSentence, plainIp } from '../../apps/web/src/lib/components/activity/sentence.js';
import { idsInChanges } from '../../apps/api/src/database/activity.service.js';
import { ROLE } from './support/factories.js';

const ADA = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';
const CAROL = '33333333-3333-4333-8333-333333333333';
const SUPPORT = '44444444-4444-4444-8444-444444444444';
const SALES = '55555555-5555-4555-8555-555555555555';
const TEAM_A = '66666666-6666-4666-8666-666666666666';
const TEAM_B = '77777777-7777-4777-8777-777777777777';
const PERSON = '88888888-8888-4888-8888-888888888888';
const SESSION = '99999999-9999-4999-8999-999999999999';

const NAMES = {
  [ADA]: 'Ada Admin',
  [BOB]: 'Bob Builder',
  [CAROL]: 'Carol Cash',
  [SUPPORT]: 'Support agent',
  [SALES]: 'Sales lead',
  [TEAM_A]: 'Tier 1',
  [TEAM_B]: 'Tier 2',
  [PERSON]: 'Bob Builder',
};

type Target = ActivityEntryDto['target'];
const member: Target = { type: 'member', id: BOB, label: 'bob@x.test' };
const account: Target = { type: 'account', id: 'acc', label: 'Acme' };

function entry(
  action: string,
  target: Target,
  changes: Record<string, unknown> | null,
  more: Partial<ActivityEntryDto> = {},
): ActivityEntryDto {
  return {
    seq: 7,
    at: '2030-01-01T00:00:00.000Z',
    actor: { memberId: ADA, email: 'ada@x.test' },
    action,
    target,
    changes,
    names: NAMES,
    ip: '::ffff:10.0.0.1',
    userAgent: null,
    hash: 'h',
    prevHash: 'p',
    ...more,
  };
}

/** One realistic entry per action, as the API writes it, and the sentence it must read as. */
const hook = { type: 'webhook', id: null, label: 'https://siem.example.com/in' };
const robot = { type: 'service_account', id: null, label: 'Deploy bot' };

const EXAMPLES: Record<ActivityAction, [ActivityEntryDto, string]> = {
  'account.created': [
    entry('account.created', account, { name: { after: 'Acme' }, plan: { after: 'business' } }),
    'Ada Admin created the account Acme on the Business plan',
  ],
  'account.updated': [
    entry('account.updated', account, {
      name: { before: 'Acme', after: 'Acme Inc' },
      require2fa: { before: false, after: true },
      sessionsEnded: 2,
    }),
    'Ada Admin renamed the account from Acme to Acme Inc and required two-factor authentication (2 sessions ended)',
  ],
  'account.validated': [
    entry('account.validated', account, { phone: { after: '+44…12' } }),
    'Ada Admin validated the account with the phone number +44…12',
  ],
  'account.plan_changed': [
    entry('account.plan_changed', account, { plan: { before: 'starter', after: 'business' } }),
    'Ada Admin changed the plan from Starter to Business',
  ],
  'ownership.transferred': [
    entry('ownership.transferred', member, {
      ownerId: { before: ADA, after: BOB },
      roleId: { before: ROLE.editor, after: ROLE.admin },
    }),
    'Ada Admin transferred ownership to Bob Builder (now Admin)',
  ],
  'billing.transferred': [
    entry('billing.transferred', member, { billingContactId: { before: CAROL, after: BOB } }),
    'Ada Admin made Bob Builder the billing contact instead of Carol Cash',
  ],
  'user.invited': [
    entry(
      'user.invited',
      member,
      { roleId: { after: ROLE.editor }, agentAccess: { after: true }, teamIds: { after: [TEAM_A] } },
      { names: { ...NAMES, [BOB]: 'bob@x.test' } },
    ),
    'Ada Admin invited bob@x.test as Editor with Talk access (teams: Tier 1)',
  ],
  'invitation.resent': [
    entry('invitation.resent', member, null, { names: { [ADA]: 'Ada Admin', [BOB]: 'bob@x.test' } }),
    'Ada Admin resent the invitation to bob@x.test',
  ],
  'invitation.cancelled': [
    entry(
      'invitation.cancelled',
      member,
      { status: { before: 'invited', after: null } },
      { names: { [ADA]: 'Ada Admin', [BOB]: 'bob@x.test' } },
    ),
    'Ada Admin cancelled the invitation to bob@x.test',
  ],
  'invitation.accepted': [
    entry(
      'invitation.accepted',
      member,
      { status: { before: 'invited', after: 'active' }, via: 'google' },
      { actor: { memberId: BOB, email: 'bob@x.test' } },
    ),
    'Bob Builder accepted the invitation and joined (signed in with Google)',
  ],
  'user.role_changed': [
    entry('user.role_changed', member, { roleId: { before: SUPPORT, after: SALES }, role: { after: 'Sales lead' } }),
    "Ada Admin changed Bob Builder's role from Support agent to Sales lead",
  ],
  'user.agent_access_changed': [
    entry('user.agent_access_changed', member, { agentAccess: { before: true, after: false } }),
    "Ada Admin turned off Bob Builder's Talk access",
  ],
  'user.teams_changed': [
    entry('user.teams_changed', member, { teamIds: { before: [TEAM_A], after: [TEAM_B] } }),
    'Ada Admin added Bob Builder to Tier 2 and removed Bob Builder from Tier 1',
  ],
  'user.revoked': [
    entry('user.revoked', member, { status: { before: 'active', after: 'revoked' }, sessionsEnded: 1 }),
    'Ada Admin revoked Bob Builder',
  ],
  'user.reactivated': [
    entry('user.reactivated', member, { status: { before: 'revoked', after: 'active' } }),
    'Ada Admin reactivated Bob Builder',
  ],
  'user.deleted': [
    entry('user.deleted', member, { status: { before: 'revoked', after: null } }),
    'Ada Admin deleted Bob Builder',
  ],
  'user.sessions_revoked': [
    entry('user.sessions_revoked', member, { sessionsEnded: 3 }),
    'Ada Admin signed Bob Builder out everywhere (3 sessions ended)',
  ],
  'users.exported': [
    entry('users.exported', account, { format: 'csv', count: 1234, filter: { status: 'invited', sort: 'name' } }),
    'Ada Admin exported 1234 members matching a filter as CSV',
  ],
  'role.created': [
    entry(
      'role.created',
      { type: 'role', id: SUPPORT, label: 'Support agent' },
      { name: { after: 'Support agent' }, permissions: { after: ['talk.view'] } },
    ),
    'Ada Admin created the role Support agent',
  ],
  'role.previewed': [
    entry('role.previewed', { type: 'role', id: SUPPORT, label: 'Support agent' }, null),
    'Ada Admin previewed the dashboard as Support agent (read-only)',
  ],
  'role.updated': [
    entry(
      'role.updated',
      { type: 'role', id: SUPPORT, label: 'Helpers' },
      { name: { before: 'Support agent', after: 'Helpers' }, permissions: { added: ['reports.export'], removed: [] } },
    ),
    'Ada Admin renamed the role Support agent to Helpers: granted Reports: Export',
  ],
  'role.deleted': [
    entry(
      'role.deleted',
      { type: 'role', id: SUPPORT, label: 'Support agent' },
      {
        name: { before: 'Support agent', after: null },
        reassignedTo: { id: ROLE.readonly, name: 'Read only' },
        membersMoved: 2,
        invitationsMoved: 1,
      },
    ),
    'Ada Admin deleted the role Support agent and moved 3 members to Read only',
  ],
  'roles.reordered': [
    entry('roles.reordered', account, { roleIds: { before: [SUPPORT, SALES], after: [SALES, SUPPORT] } }),
    'Ada Admin reordered the roles: Sales lead, Support agent',
  ],
  'team.created': [
    entry('team.created', { type: 'team', id: TEAM_A, label: 'Tier 1' }, { name: { after: 'Tier 1' } }),
    'Ada Admin created the team Tier 1',
  ],
  'team.updated': [
    entry(
      'team.updated',
      { type: 'team', id: TEAM_A, label: 'First line' },
      { name: { before: 'Tier 1', after: 'First line' } },
    ),
    'Ada Admin renamed the team Tier 1 to First line',
  ],
  'team.deleted': [
    entry(
      'team.deleted',
      { type: 'team', id: TEAM_A, label: 'Tier 1' },
      { name: { before: 'Tier 1', after: null }, membersRemoved: 2 },
    ),
    'Ada Admin deleted the team Tier 1 (2 members left it)',
  ],
  'session.signed_in': [
    entry('session.signed_in', { type: 'session', id: SESSION, label: 'ada@x.test' }, { method: 'okta', mfa: true }),
    'Ada Admin signed in with Okta',
  ],
  'session.signed_out': [
    entry('session.signed_out', { type: 'session', id: SESSION, label: 'ada@x.test' }, null),
    'Ada Admin signed out',
  ],
  'person.renamed': [
    entry(
      'person.renamed',
      { type: 'person', id: PERSON, label: 'ada@x.test' },
      { name: { before: 'Ada Byron', after: 'Ada Admin' } },
    ),
    'Ada Byron changed their name to Ada Admin',
  ],
  'person.2fa_enabled': [
    entry(
      'person.2fa_enabled',
      { type: 'person', id: PERSON, label: 'ada@x.test' },
      { twoFactorEnabled: { before: false, after: true } },
    ),
    'Ada Admin turned on two-factor authentication',
  ],
  'person.2fa_disabled': [
    entry(
      'person.2fa_disabled',
      { type: 'person', id: PERSON, label: 'ada@x.test' },
      { twoFactorEnabled: { before: true, after: false } },
    ),
    'Ada Admin turned off two-factor authentication',
  ],
  'person.2fa_reset': [
    entry('person.2fa_reset', member, {
      twoFactorEnabled: { before: true, after: false },
      sessionsEnded: 1,
      passwordResetRequired: true,
    }),
    "Ada Admin reset Bob Builder's two-factor authentication (Bob Builder must also choose a new password)",
  ],
  'person.email_verified': [
    entry(
      'person.email_verified',
      { type: 'person', id: PERSON, label: 'bob@x.test' },
      { via: 'verify_email' },
      { actor: { memberId: BOB, email: 'bob@x.test' } },
    ),
    'Bob Builder confirmed their email address',
  ],
  'person.email_claimed': [
    entry(
      'person.email_claimed',
      { type: 'person', id: PERSON, label: 'bob@x.test' },
      { via: 'invitation', sessionsEnded: 2, passwordRemoved: true },
      { actor: { memberId: null, email: 'bob@x.test' } },
    ),
    "Whoever holds the mailbox bob@x.test proved it and took over Bob Builder's login (2 sessions ended)",
  ],
  'person.password_reset': [
    entry(
      'person.password_reset',
      { type: 'person', id: PERSON, label: 'bob@x.test' },
      { sessionsEnded: 1 },
      { actor: { memberId: BOB, email: 'bob@x.test' } },
    ),
    'Bob Builder reset their password with an emailed link (1 session ended)',
  ],
  'user.provisioned': [
    entry(
      'user.provisioned',
      member,
      { roleId: { after: ROLE.readonly } },
      { actor: { memberId: null, email: null, kind: 'scim', name: 'SCIM (Entra)' } },
    ),
    'SCIM (Entra) provisioned Bob Builder',
  ],
  'user.updated': [
    entry(
      'user.updated',
      member,
      { externalId: { before: null, after: 'e-1' } },
      { actor: { memberId: null, email: null, kind: 'scim', name: 'SCIM (Okta)' } },
    ),
    "SCIM (Okta) changed Bob Builder's external id",
  ],
  'scim.token_created': [
    entry('scim.token_created', { type: 'account', id: null, label: 'Acme' }, { replaced: true }),
    'Ada Admin made a new SCIM token (the old one stopped working)',
  ],
  'scim.token_revoked': [
    entry('scim.token_revoked', { type: 'account', id: null, label: 'Acme' }, null),
    'Ada Admin turned off SCIM provisioning',
  ],
  'webhook.created': [
    entry('webhook.created', hook, null),
    'Ada Admin added the webhook endpoint https://siem.example.com/in',
  ],
  'webhook.updated': [
    entry('webhook.updated', hook, { enabled: { before: true, after: false } }),
    'Ada Admin paused the webhook endpoint https://siem.example.com/in',
  ],
  'webhook.deleted': [
    entry('webhook.deleted', hook, null),
    'Ada Admin deleted the webhook endpoint https://siem.example.com/in',
  ],
  'webhook.secret_rotated': [
    entry('webhook.secret_rotated', hook, null),
    'Ada Admin made a new signing secret for https://siem.example.com/in',
  ],
  'webhook.retried': [
    entry('webhook.retried', hook, null),
    'Ada Admin retried deliveries to https://siem.example.com/in',
  ],
  'service_account.created': [
    entry('service_account.created', robot, { name: 'Deploy bot', roleId: ROLE.editor }),
    'Ada Admin created the service account Deploy bot with the role Editor',
  ],
  'service_account.updated': [
    entry('service_account.updated', robot, { roleId: { before: ROLE.editor, after: ROLE.readonly } }),
    "Ada Admin changed the service account Deploy bot's role from Editor to Read only",
  ],
  'service_account.deleted': [
    entry('service_account.deleted', robot, null),
    'Ada Admin deleted the service account Deploy bot (its API keys stopped working)',
  ],
  'service_account.key_created': [
    entry('service_account.key_created', robot, {
      keyId: 'k',
      prefix: 'rck_ab12',
      expiresAt: '2031-01-31T00:00:00.000Z',
    }),
    'Ada Admin issued an API key rck_ab12… for the service account Deploy bot, expiring 2031-01-31',
  ],
  'service_account.key_revoked': [
    entry('service_account.key_revoked', robot, { keyId: 'k', prefix: 'rck_ab12' }),
    'Ada Admin revoked the API key rck_ab12… of the service account Deploy bot',
  ],
  'webhook.disabled': [
    entry('webhook.disabled', hook, null, { actor: { memberId: null, email: null } }),
    'The webhook endpoint https://siem.example.com/in was disabled after a day of failed deliveries',
  ],
};

describe('describeActivity', () => {
  it('has a sentence with names for every action of ACTIVITY_ACTIONS, none of them the raw fallback', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual(Object.keys(ACTIVITY_ACTIONS).sort());
    for (const [action, [example, sentence]] of Object.entries(EXAMPLES)) {
      expect(example.action).toBe(action);
      const said = describeActivity(example);
      expect(said, action).toBe(sentence);
      expect(said, action).not.toBe(fallbackSentence(example));
      expect(said, action).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    }
  });

  it('falls back to the label and names for an action it does not know', () => {
    const unknown = entry('widget.frobbed', member, { x: 1 });
    expect(describeActivity(unknown)).toBe('Ada Admin — widget.frobbed: Bob Builder');
    expect(describeActivity(unknown)).toBe(fallbackSentence(unknown));
  });

  it('reads entries written before names were kept: system roles by id, then labels and emails', () => {
    const old = entry(
      'user.role_changed',
      member,
      { roleId: { before: ROLE.editor, after: SUPPORT }, role: { after: 'Support agent' } },
      { names: undefined },
    );
    expect(describeActivity(old)).toBe("ada@x.test changed bob@x.test's role from Editor to Support agent");
    const oldTeams = entry(
      'user.teams_changed',
      member,
      { teamIds: { before: [], after: [TEAM_A, TEAM_B] } },
      { names: undefined },
    );
    expect(describeActivity(oldTeams)).toBe('ada@x.test added bob@x.test to 2 teams');
  });

  it('says when an invitation came from a CSV import and when an export was not filtered', () => {
    const imported = entry('user.invited', member, {
      roleId: { after: ROLE.readonly },
      agentAccess: { after: false },
      teamIds: { after: [] },
      csvImport: { id: 'i', line: 2 },
    });
    expect(describeActivity(imported)).toBe('Ada Admin invited Bob Builder as Read only from a CSV import');
    const everyone = entry('users.exported', account, { format: 'csv', count: 1, filter: { sort: '-name' } });
    expect(describeActivity(everyone)).toBe('Ada Admin exported 1 member as CSV');
  });

  it('says which role a duplicated role was copied from', () => {
    const copied = entry(
      'role.created',
      { type: 'role', id: SALES, label: 'Editor (copy)' },
      {
        name: { after: 'Editor (copy)' },
        permissions: { after: ['people.view'] },
        duplicatedFrom: { id: ROLE.editor, name: 'Editor' },
      },
      { names: {} },
    );
    expect(describeActivity(copied)).toBe('ada@x.test created the role Editor (copy) as a copy of Editor');
  });

  it('reads the system, SSO and self actions naturally', () => {
    const bySystem = entry('user.revoked', member, null, { actor: { memberId: null, email: null } });
    expect(describeActivity(bySystem)).toBe('The system revoked Bob Builder');
    const byScim = entry('user.revoked', member, null, {
      actor: { memberId: null, email: null, kind: 'scim', name: 'SCIM (Okta)' },
    });
    expect(describeActivity(byScim)).toBe('SCIM (Okta) revoked Bob Builder');
    const byKey = entry('user.revoked', member, null, {
      actor: { memberId: null, email: null, kind: 'service_account', name: 'Deploy bot' },
    });
    expect(describeActivity(byKey)).toBe('Service account Deploy bot revoked Bob Builder');
    expect(
      describeActivity(entry('scim.token_created', { type: 'account', id: null, label: 'Acme' }, { replaced: false })),
    ).toBe('Ada Admin turned on SCIM provisioning');
    const sso = entry(
      'session.signed_in',
      { type: 'session', id: SESSION, label: 'bob@x.test' },
      { method: 'google', mfa: false, identityLinked: true },
      { actor: { memberId: BOB, email: 'bob@x.test' } },
    );
    expect(describeActivity(sso)).toBe('Bob Builder signed in with Google');
    const breakGlass = entry(
      'session.signed_in',
      { type: 'session', id: SESSION, label: 'ada@x.test' },
      { method: 'password', breakGlass: true },
    );
    expect(describeActivity(breakGlass)).toMatch(
      /^Ada Admin signed in with a password while single sign-on is enforced/,
    );
    const own = entry(
      'user.role_changed',
      { type: 'member', id: ADA, label: 'ada@x.test' },
      { roleId: { before: ROLE.admin, after: ROLE.editor } },
    );
    expect(describeActivity(own)).toBe('Ada Admin changed their own role from Admin to Editor');
    const notMember = entry(
      'person.email_verified',
      { type: 'person', id: PERSON, label: 'bob@x.test' },
      { via: 'invitation' },
      { actor: { memberId: null, email: 'bob@x.test' }, names: {} },
    );
    expect(describeActivity(notMember)).toBe('bob@x.test confirmed their email address');
  });
});

describe('plainIp', () => {
  it('shows an IPv4-mapped IPv6 address as IPv4 and leaves others alone', () => {
    expect(plainIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(plainIp('::FFFF:203.0.113.9')).toBe('203.0.113.9');
    expect(plainIp('203.0.113.9')).toBe('203.0.113.9');
    expect(plainIp('2001:db8::1')).toBe('2001:db8::1');
    expect(plainIp('::ffff:7f00:1')).toBe('::ffff:7f00:1');
    expect(plainIp(null)).toBeNull();
  });
});

describe('idsInChanges', () => {
  it('finds the ids under keys ending in Id/Ids, by the table that holds them', () => {
    expect(
      idsInChanges({
        roleId: { before: ROLE.editor, after: SUPPORT },
        teamIds: { before: [TEAM_A], after: [TEAM_A, TEAM_B] },
        ownerId: { before: ADA, after: BOB },
        roleIds: { after: [SALES] },
        status: { before: 'active', after: 'revoked' },
        sessionId: 'not-an-id',
      }),
    ).toEqual({ members: [ADA, BOB], roles: [ROLE.editor, SUPPORT, SALES], teams: [TEAM_A, TEAM_B] });
    expect(idsInChanges(null)).toEqual({ members: [], roles: [], teams: [] });
  });
});
