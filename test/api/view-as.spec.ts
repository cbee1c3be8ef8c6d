/**
 * "View as" (issue 17 §4) over real HTTP: `GET /users/:id/permissions` answers exactly the keys the
 * API enforces for that member (compared with the member's own `GET /me`), with where each comes
 * from; `POST /roles/:id/preview` logs `role.previewed`, answers the role's keys, makes no session
 * and changes nothing else. SQLite, and PostgreSQL with DATABASE_URL.
 */
import type {
  ActivityEntryDto,
  MeDto,
  MemberDto,
  MemberPermissionsDto,
  RoleDto,
  RolePreviewDto,
} from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { activityActions, query } from './support/db.js';
import { createAccount, ifMatch, invite, inviteAndAccept, ROLE, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';

let app: TestApp;
let api: Client;
let owner: SignedUp;
let support: RoleDto;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
  owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
  support = (
    await api.post<RoleDto>(
      '/roles',
      {
        name: 'Support agent',
        description: 'Answers the inbox',
        icon: 'star',
        permissions: ['talk.reply', 'people.view'],
      },
      { token: owner.token },
    )
  ).body;
});
afterAll(() => app.close());

const join = (input: Parameters<typeof inviteAndAccept>[3] = {}) =>
  inviteAndAccept(api, app.config.dataDir, owner, input);
const permissionsOf = (memberId: string, token = owner.token) =>
  api.get<MemberPermissionsDto>(`/users/${memberId}/permissions`, { token });
const myKeys = async (token: string) => (await api.get<MeDto>('/me', { token })).body.permissions.keys;
const kinds = (body: MemberPermissionsDto, key: string) =>
  (body.sources[key as keyof typeof body.sources] ?? []).map((s) => s.kind);
const memberVersion = async (id: string) =>
  (await api.get<MemberDto>(`/users/${id}`, { token: owner.token })).body.version;

describe('GET /users/:id/permissions', () => {
  it('answers an admin the keys they hold, each from the Admin role', async () => {
    const admin = await join({ roleId: ROLE.admin, name: 'Ada Admin' });
    const reply = await permissionsOf(admin.member.id);
    expect(reply.status).toBe(200);
    expect(reply.body.keys).toEqual(await myKeys(admin.token));
    expect(reply.body.keys).toContain('users.manage');
    expect(reply.body.role).toMatchObject({ id: ROLE.admin, name: 'Admin' });
    expect(kinds(reply.body, 'users.manage')).toEqual(['role']);
    expect(reply.body.sources['users.manage']![0]!.label).toBe('Admin');
    // No agent access: the Admin role's Talk keys are withheld, with why.
    expect(reply.body.keys.some((k) => k.startsWith('talk.'))).toBe(false);
    expect(reply.body.withheld.map((w) => w.key)).toEqual(['talk.view', 'talk.reply', 'talk.assign', 'talk.manage']);
    expect(reply.body.withheld.every((w) => w.reason === 'noAgentAccess')).toBe(true);
    expect(reply.body.extras).toEqual([]);
  });

  it('a support agent with agent access holds the Talk keys from the role and agent access; without it they are withheld', async () => {
    const agent = await join({ roleId: support.id, agentAccess: true, name: 'Sam Support' });
    const withAccess = await permissionsOf(agent.member.id);
    expect(withAccess.body.keys).toEqual(await myKeys(agent.token));
    expect(withAccess.body.keys).toEqual(['people.view', 'talk.view', 'talk.reply']);
    expect(kinds(withAccess.body, 'talk.reply')).toEqual(['role', 'agentAccess']);
    expect(kinds(withAccess.body, 'people.view')).toEqual(['role']);
    expect(withAccess.body.sources['talk.reply']![0]!.label).toBe('Support agent');
    expect(withAccess.body.withheld).toEqual([]);

    const off = await api.patch(
      `/users/${agent.member.id}`,
      { agentAccess: false },
      { token: owner.token, headers: ifMatch(await memberVersion(agent.member.id)) },
    );
    expect(off.status).toBe(200);
    const without = await permissionsOf(agent.member.id);
    expect(without.body.keys).toEqual(await myKeys(agent.token));
    expect(without.body.keys).toEqual(['people.view']);
    expect(without.body.withheld).toEqual([
      { key: 'talk.view', reason: 'noAgentAccess', label: 'Needs Talk agent access' },
      { key: 'talk.reply', reason: 'noAgentAccess', label: 'Needs Talk agent access' },
    ]);
    expect(without.body.version).toBeGreaterThan(withAccess.body.version);
  });

  it('names the owner’s extras and the billing contact’s billing.view', async () => {
    const own = await permissionsOf(owner.member.id);
    expect(own.body.keys).toEqual(await myKeys(owner.token));
    expect(own.body.extras.filter((e) => e.kind === 'owner').map((e) => e.label)).toEqual([
      'Change the plan',
      'Validate the account',
      'Transfer ownership',
      'Transfer the billing contact',
    ]);
    // The owner is also the billing contact (signup): billing.view comes from both.
    expect(kinds(own.body, 'billing.view')).toEqual(['role', 'billingContact']);

    const payer = await createAccount(api, { plan: 'business' });
    const editor = await inviteAndAccept(api, app.config.dataDir, payer, { roleId: ROLE.editor, name: 'Bill Payer' });
    const account = (await api.get<{ version: number }>('/account', { token: payer.token })).body;
    expect(
      (
        await api.post(
          '/account/transfer-billing',
          { memberId: editor.member.id },
          { token: payer.token, headers: ifMatch(account.version) },
        )
      ).status,
    ).toBe(200);
    const billing = await permissionsOf(editor.member.id, payer.token);
    expect(billing.body.keys).toEqual(await myKeys(editor.token));
    expect(billing.body.keys).toContain('billing.view');
    expect(kinds(billing.body, 'billing.view')).toEqual(['billingContact']);
    expect(kinds(billing.body, 'people.edit')).toEqual(['role']);
    expect(billing.body.extras).toEqual([{ kind: 'billingContact', label: 'Receives the billing mail' }]);
  });

  it('answers a revoked member nothing, every key of the role withheld as not active', async () => {
    const gone = await join({ roleId: ROLE.editor });
    const revoked = await api.post(`/users/${gone.member.id}/revoke`, undefined, {
      token: owner.token,
      headers: ifMatch(gone.member.version),
    });
    expect(revoked.status).toBe(200);
    const reply = await permissionsOf(gone.member.id);
    expect(reply.body.status).toBe('revoked');
    expect(reply.body.keys).toEqual([]);
    expect(reply.body.sources).toEqual({});
    expect(reply.body.withheld.length).toBeGreaterThan(10);
    expect(reply.body.withheld.every((w) => w.reason === 'notActive' && w.label === 'Access revoked')).toBe(true);

    const invited = (await invite(api, owner, ['pending.member@example.com'])).body.items[0]!;
    const pending = await permissionsOf(invited.id);
    expect(pending.body.keys).toEqual([]);
    expect(pending.body.withheld[0]!.label).toBe('Has not accepted the invitation yet');
  });

  it('follows an edit of the member’s custom role at once', async () => {
    const role = (
      await api.post<RoleDto>(
        '/roles',
        { name: 'Reporter', description: '', icon: 'star', permissions: ['reports.view'] },
        { token: owner.token },
      )
    ).body;
    const member = await join({ roleId: role.id });
    expect((await permissionsOf(member.member.id)).body.keys).toEqual(['reports.view']);
    const edited = await api.patch(
      `/roles/${role.id}`,
      { permissions: ['reports.export'] },
      { token: owner.token, headers: ifMatch(role.version) },
    );
    expect(edited.status).toBe(200);
    const after = await permissionsOf(member.member.id);
    expect(after.body.keys).toEqual(['reports.view', 'reports.export']);
    expect(after.body.keys).toEqual(await myKeys(member.token));
    expect(kinds(after.body, 'reports.export')).toEqual(['role']);
  });

  it('keeps tenants apart and needs users.view', async () => {
    const other = await createAccount(api, { plan: 'business' });
    const elsewhere = await permissionsOf(owner.member.id, other.token);
    expect(elsewhere.status).toBe(404);
    expect(JSON.stringify(elsewhere.body)).not.toContain('Olive');
    const reader = await join({ roleId: ROLE.readonly });
    expect((await permissionsOf(owner.member.id, reader.token)).status).toBe(403);
    expect((await api.get('/users/not-a-uuid/permissions', { token: owner.token })).status).toBe(400);
  });
});

describe('POST /roles/:id/preview', () => {
  it('logs role.previewed, answers the role’s keys, and makes no session', async () => {
    const sessions = async () =>
      Number((await query<{ n: number | string }>(app, 'SELECT COUNT(*) AS n FROM sessions'))[0]!.n);
    const before = await sessions();
    const beforeActions = await activityActions(app, owner.account.id);
    const reply = await api.post<RolePreviewDto>(`/roles/${ROLE.editor}/preview`, undefined, { token: owner.token });
    expect(reply.status).toBe(200);
    expect(reply.body.role).toMatchObject({ id: ROLE.editor, name: 'Editor', system: true });
    expect(reply.body.keys).toContain('people.edit');
    expect(reply.body.keys).toContain('talk.reply'); // a holder with agent access
    expect(reply.body.keys).not.toContain('users.view');
    expect(await sessions()).toBe(before);
    const actions = await activityActions(app, owner.account.id);
    expect(actions).toEqual([...beforeActions, 'role.previewed']);
    const entries = (
      await api.get<{ items: ActivityEntryDto[] }>('/activity?action=role.previewed', { token: owner.token })
    ).body.items;
    expect(entries[0]).toMatchObject({
      action: 'role.previewed',
      target: { type: 'role', id: ROLE.editor, label: 'Editor' },
    });
    expect((await api.get<{ ok: boolean }>('/activity/verify', { token: owner.token })).body.ok).toBe(true);
  });

  it('answers a custom role’s keys with the implied views', async () => {
    const reply = await api.post<RolePreviewDto>(`/roles/${support.id}/preview`, undefined, { token: owner.token });
    expect(reply.status).toBe(200);
    expect(reply.body.keys).toEqual(['people.view', 'talk.view', 'talk.reply']);
    expect(reply.body.role).toMatchObject({ name: 'Support agent', system: false });
  });

  it('keeps tenants apart and needs roles.view', async () => {
    const other = await createAccount(api, { plan: 'business' });
    const before = await activityActions(app, other.account.id);
    const elsewhere = await api.post(`/roles/${support.id}/preview`, undefined, { token: other.token });
    expect(elsewhere.status).toBe(404);
    expect(JSON.stringify(elsewhere.body)).not.toContain('Support agent');
    expect(await activityActions(app, other.account.id)).toEqual(before);
    const editor = await join({ roleId: ROLE.editor });
    expect((await api.post(`/roles/${support.id}/preview`, undefined, { token: editor.token })).status).toBe(403);
  });
});
