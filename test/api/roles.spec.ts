import {
  SYSTEM_ROLES,
  type MeDto,
  type PermissionCatalogueDto,
  type RoleDto,
  type RoleImpactDto,
  type RoleListDto,
} from '@rolecall/contracts';
import { effectivePermissions } from '@rolecall/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { activityActions } from './support/db.js';
import {
  createAccount,
  ifMatch,
  invite,
  inviteAndAccept,
  ROLE,
  uniqueEmail,
  type SignedUp,
} from './support/factories.js';
import { client, type Client } from './support/http.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

const business = () => createAccount(api, { plan: 'business' });
const join = (owner: SignedUp, input: Parameters<typeof inviteAndAccept>[3] = {}) =>
  inviteAndAccept(api, app.config.dataDir, owner, input);
const createRole = (owner: { token: string }, body: Record<string, unknown>) =>
  api.post<RoleDto>(
    '/roles',
    { name: `Role ${uniqueEmail().slice(7, 15)}`, description: '', icon: 'star', permissions: [], ...body },
    { token: owner.token },
  );
const me = async (session: { token: string }) => (await api.get<MeDto>('/me', { token: session.token })).body;
const rolesVersion = async (owner: SignedUp) =>
  (await api.get<RoleListDto>('/roles', { token: owner.token })).body.rolesVersion;

/** The member's permissions as libs/domain computes them from the role's stored keys. */
async function expectedKeys(owner: SignedUp, memberId: string) {
  const member = (
    await api.get<{ status: 'active'; agentAccess: boolean; isBillingContact: boolean; role: { id: string } }>(
      `/users/${memberId}`,
      { token: owner.token },
    )
  ).body;
  const role = (await api.get<RoleDto>(`/roles/${member.role.id}`, { token: owner.token })).body;
  return effectivePermissions(member, role.permissions);
}

describe('GET /permissions', () => {
  it('answers the catalogue with labels, admin-only flags and icons', async () => {
    const owner = await business();
    const reply = await api.get<PermissionCatalogueDto>('/permissions', { token: owner.token });
    expect(reply.status).toBe(200);
    expect(reply.body.features).toHaveLength(14);
    expect(reply.body.features[0]).toEqual({
      key: 'people',
      label: 'People & organizations',
      actions: ['view', 'create', 'edit', 'delete', 'import', 'export'].map((a) => ({
        key: `people.${a}`,
        label: a[0]!.toUpperCase() + a.slice(1),
        adminOnly: false,
      })),
    });
    const adminOnly = reply.body.features.flatMap((f) => f.actions.filter((a) => a.adminOnly).map((a) => a.key));
    expect(adminOnly).toEqual(['users.manage', 'roles.manage', 'account.manage', 'billing.manage']);
    expect(reply.body.icons).toContain('shield');
    expect((await api.get('/permissions')).status).toBe(401);
  });
});

describe('GET /roles', () => {
  it('lists system roles first, then custom roles in saved order, with active members only', async () => {
    const owner = await business();
    const a = (await createRole(owner, { name: 'Analysts', permissions: ['reports.export'] })).body;
    const b = (await createRole(owner, { name: 'Agents', permissions: ['talk.reply'] })).body;
    const joined = await join(owner, { roleId: a.id, name: 'Ana Lyst' });
    await invite(api, owner, [uniqueEmail()], { roleId: a.id });
    const reply = await api.get<RoleListDto>('/roles', { token: owner.token });
    expect(reply.status).toBe(200);
    expect(reply.body.items.map((r) => r.name)).toEqual(['Admin', 'Editor', 'Read only', 'Analysts', 'Agents']);
    expect(reply.body.items.map((r) => r.system)).toEqual([true, true, true, false, false]);
    const analysts = reply.body.items[3]!;
    expect(analysts).toMatchObject({
      memberCount: 1,
      invitedCount: 1,
      members: [{ id: joined.member.id, name: 'Ana Lyst', avatarUrl: null }],
      permissions: ['reports.view', 'reports.export'],
    });
    expect(reply.body.items[0]!.members.map((m) => m.id)).toEqual([owner.member.id]);
    expect(reply.headers.get('etag')).toBe(`"${reply.body.rolesVersion}"`);
    const one = await api.get<RoleDto>(`/roles/${b.id}`, { token: owner.token });
    expect(one.body).toMatchObject({ name: 'Agents', position: 4, permissions: ['talk.view', 'talk.reply'] });
    expect(one.headers.get('etag')).toBe(`"${one.body.version}"`);
  });

  it('is readable with users.view, but a single role needs roles.view; other accounts’ roles are 404', async () => {
    const owner = await business();
    const role = (await createRole(owner, {})).body;
    const other = await business();
    expect((await api.get(`/roles/${role.id}`, { token: other.token })).status).toBe(404);
    const editor = await join(owner, { roleId: ROLE.editor });
    expect((await api.get('/roles', { token: editor.token })).status).toBe(403);
  });
});

describe('POST /roles', () => {
  it('stores the implied views and records the creation', async () => {
    const owner = await business();
    const reply = await createRole(owner, {
      name: 'Publishers',
      description: 'Ship campaigns',
      icon: 'megaphone',
      permissions: ['campaigns.publish', 'templates.publish'],
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({
      name: 'Publishers',
      description: 'Ship campaigns',
      icon: 'megaphone',
      system: false,
      version: 1,
    });
    expect(reply.body.permissions).toEqual([
      'campaigns.view',
      'campaigns.publish',
      'templates.view',
      'templates.publish',
    ]);
    expect((await activityActions(app, owner.account.id)).at(-1)).toBe('role.created');
  });

  it('refuses Admin-only keys, unknown keys, bad icons, long names and duplicate names', async () => {
    const owner = await business();
    const adminOnly = await createRole(owner, { permissions: ['users.view', 'users.manage'] });
    expect(adminOnly.status).toBe(400);
    expect(adminOnly.body).toMatchObject({
      error: { code: 'ADMIN_ONLY_PERMISSION', details: { keys: ['users.manage'] } },
    });
    const unknown = await createRole(owner, { permissions: ['people.fly'] });
    expect(unknown.body).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: { fields: { permissions: ['Unknown permission: people.fly'] } } },
    });
    expect((await createRole(owner, { icon: 'skull' })).status).toBe(400);
    expect((await createRole(owner, { name: 'x'.repeat(61) })).status).toBe(400);
    expect((await createRole(owner, { description: 'x'.repeat(281) })).status).toBe(400);
    expect((await createRole(owner, { name: 'Support' })).status).toBe(201);
    const dup = await createRole(owner, { name: '  SUPPORT ' });
    expect(dup.status).toBe(400);
    expect(dup.body).toMatchObject({
      error: { details: { fields: { name: ['A role with this name already exists'] } } },
    });
    expect((await createRole(owner, { name: 'admin' })).status).toBe(400);
  });

  it('is gated by plan: none on free and starter, 20 on business', async () => {
    for (const plan of ['free', 'starter']) {
      const owner = await createAccount(api, { plan });
      const reply = await createRole(owner, {});
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ error: { code: 'PLAN_FEATURE_UNAVAILABLE' } });
    }
    const owner = await business();
    for (let i = 0; i < 20; i += 1) expect((await createRole(owner, { name: `R${i}` })).status).toBe(201);
    const over = await createRole(owner, { name: 'R20' });
    expect(over.body).toMatchObject({ error: { code: 'PLAN_FEATURE_UNAVAILABLE', details: { limit: 20 } } });
  });
});

describe('PATCH /roles/:id', () => {
  it('refuses system roles', async () => {
    const owner = await business();
    for (const role of SYSTEM_ROLES) {
      const reply = await api.patch(`/roles/${role.id}`, { name: 'Mine' }, { token: owner.token, headers: ifMatch(1) });
      expect(reply.status).toBe(409);
      expect(reply.body).toMatchObject({ error: { code: 'SYSTEM_ROLE_READONLY' } });
      expect(
        (await api.delete(`/roles/${role.id}`, undefined, { token: owner.token, headers: ifMatch(1) })).body,
      ).toMatchObject({ error: { code: 'SYSTEM_ROLE_READONLY' } });
    }
  });

  it('previews the impact with ?dryRun=true without writing', async () => {
    const owner = await business();
    const role = (await createRole(owner, { permissions: ['reports.view', 'talk.reply'] })).body;
    const agent = await join(owner, { roleId: role.id, agentAccess: true, name: 'Agent A' });
    const plain = await join(owner, { roleId: role.id, agentAccess: false, name: 'Plain P' });
    const invited = (await invite(api, owner, [uniqueEmail()], { roleId: role.id })).body.items[0]!;
    const reply = await api.patch<RoleImpactDto>(
      `/roles/${role.id}?dryRun=true`,
      { permissions: ['reports.export', 'talk.view'] },
      { token: owner.token, headers: ifMatch(role.version) },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.added).toEqual(['reports.export']);
    expect(reply.body.removed).toEqual(['talk.reply']);
    const byId = new Map(reply.body.affectedMembers.map((m) => [m.id, m]));
    expect(byId.get(agent.member.id)).toEqual({
      id: agent.member.id,
      name: 'Agent A',
      email: agent.email,
      added: ['reports.export'],
      removed: ['talk.reply'],
      remaining: 3, // reports.view, reports.export, talk.view
      agentAccess: true,
    });
    expect(byId.get(plain.member.id)).toEqual({
      id: plain.member.id,
      name: 'Plain P',
      email: plain.email,
      added: ['reports.export'],
      removed: [],
      remaining: 2,
      agentAccess: false,
    });
    expect(byId.has(invited.id)).toBe(false);
    const after = await api.get<RoleDto>(`/roles/${role.id}`, { token: owner.token });
    expect(after.body.version).toBe(role.version);
    expect(after.body.permissions).toEqual(role.permissions);
  });

  it('applies an edit: holders’ permissions change on their very next call and equal what libs/domain computes', async () => {
    const owner = await business();
    const role = (await createRole(owner, { permissions: ['people.view'] })).body;
    const member = await join(owner, { roleId: role.id, agentAccess: true });
    const before = await me(member);
    expect(before.permissions.keys).toEqual(await expectedKeys(owner, member.member.id));
    const reply = await api.patch<RoleDto>(
      `/roles/${role.id}`,
      { permissions: ['people.edit', 'talk.assign'], name: 'Renamed' },
      { token: owner.token, headers: ifMatch(role.version) },
    );
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      name: 'Renamed',
      version: 2,
      permissions: ['people.view', 'people.edit', 'talk.view', 'talk.assign'],
    });
    const after = await me(member);
    expect(after.permissions.keys).toEqual(['people.view', 'people.edit', 'talk.view', 'talk.assign']);
    expect(after.permissions.keys).toEqual(await expectedKeys(owner, member.member.id));
    expect(after.permissions.version).toBeGreaterThan(before.permissions.version);
    const stale = await api.patch(
      `/roles/${role.id}`,
      { name: 'Again' },
      { token: owner.token, headers: ifMatch(role.version) },
    );
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({
      error: { code: 'VERSION_MISMATCH', details: { current: { name: 'Renamed', version: 2 } } },
    });
    const entry = (
      await api.get<{ items: { action: string; changes: unknown }[] }>('/activity?action=role.updated', {
        token: owner.token,
      })
    ).body.items[0]!;
    expect(entry.changes).toMatchObject({
      permissions: { added: ['people.edit', 'talk.view', 'talk.assign'], removed: [] },
      name: { before: role.name, after: 'Renamed' },
    });
  });

  it('follows every kind of role change in GET /me exactly as libs/domain computes it', async () => {
    const owner = await business();
    const custom = (await createRole(owner, { permissions: ['dashboards.edit', 'talk.reply'] })).body;
    const member = await join(owner, { roleId: ROLE.readonly });
    const check = async () =>
      expect((await me(member)).permissions.keys).toEqual(await expectedKeys(owner, member.member.id));
    await check();
    let version = (await api.get<{ version: number }>(`/users/${member.member.id}`, { token: owner.token })).body
      .version;
    const patch = async (body: Record<string, unknown>) => {
      const reply = await api.patch<{ version: number }>(`/users/${member.member.id}`, body, {
        token: owner.token,
        headers: ifMatch(version),
      });
      expect(reply.status).toBe(200);
      version = reply.body.version;
      await check();
    };
    await patch({ roleId: custom.id });
    await patch({ agentAccess: true });
    expect((await me(member)).permissions.keys).toContain('talk.reply');
    await patch({ roleId: ROLE.editor });
    await patch({ agentAccess: false });
    await patch({ roleId: custom.id });
    const account = await api.get<{ version: number }>('/account', { token: owner.token });
    expect(
      (
        await api.post(
          '/account/transfer-billing',
          { memberId: member.member.id },
          { token: owner.token, headers: ifMatch(account.body.version) },
        )
      ).status,
    ).toBe(200);
    await check();
    expect((await me(member)).permissions.keys).toContain('billing.view');
  });
});

describe('DELETE /roles/:id', () => {
  it('refuses a role in use without reassignTo, naming how many members and invitations hold it', async () => {
    const owner = await business();
    const role = (await createRole(owner, {})).body;
    await join(owner, { roleId: role.id });
    await invite(api, owner, [uniqueEmail(), uniqueEmail()], { roleId: role.id });
    const reply = await api.delete(`/roles/${role.id}`, undefined, {
      token: owner.token,
      headers: ifMatch(role.version),
    });
    expect(reply.status).toBe(409);
    expect(reply.body).toMatchObject({ error: { code: 'ROLE_IN_USE', details: { members: 1, invitations: 2 } } });
  });

  it('previews and then moves members and pending invitations to reassignTo in one go', async () => {
    const owner = await business();
    const role = (await createRole(owner, { permissions: ['reports.export'] })).body;
    const member = await join(owner, { roleId: role.id });
    const pending = (await invite(api, owner, [uniqueEmail()], { roleId: role.id })).body.items[0]!;
    const preview = await api.delete<RoleImpactDto>(
      `/roles/${role.id}?reassignTo=${ROLE.readonly}&dryRun=true`,
      undefined,
      { token: owner.token, headers: ifMatch(role.version) },
    );
    expect(preview.status).toBe(200);
    expect(preview.body.affectedMembers.map((m) => m.id)).toEqual([member.member.id]);
    expect(preview.body.removed).toEqual(['reports.export']);
    expect((await api.get(`/roles/${role.id}`, { token: owner.token })).status).toBe(200);
    const versionBefore = await rolesVersion(owner);
    const reply = await api.delete(`/roles/${role.id}?reassignTo=${ROLE.readonly}`, undefined, {
      token: owner.token,
      headers: ifMatch(role.version),
    });
    expect(reply.status).toBe(204);
    expect((await api.get(`/roles/${role.id}`, { token: owner.token })).status).toBe(404);
    expect(
      (await api.get<{ role: { id: string } }>(`/users/${member.member.id}`, { token: owner.token })).body.role.id,
    ).toBe(ROLE.readonly);
    expect((await api.get<{ role: { id: string } }>(`/users/${pending.id}`, { token: owner.token })).body.role.id).toBe(
      ROLE.readonly,
    );
    expect((await me(member)).permissions.keys).toEqual(await expectedKeys(owner, member.member.id));
    expect(await rolesVersion(owner)).toBe(versionBefore + 1);
    const entry = (
      await api.get<{ items: { changes: unknown }[] }>('/activity?action=role.deleted', { token: owner.token })
    ).body.items[0]!;
    expect(entry.changes).toMatchObject({
      reassignedTo: { id: ROLE.readonly, name: 'Read only' },
      membersMoved: 1,
      invitationsMoved: 1,
    });
  });

  it('previews a move to a Talk-only role: a member without agent access is left with no permissions, and the preview says so', async () => {
    const owner = await business();
    const role = (await createRole(owner, { permissions: ['campaigns.view'] })).body;
    const support = (
      await createRole(owner, {
        name: `Support ${uniqueEmail().slice(7, 13)}`,
        permissions: ['talk.view', 'talk.reply'],
      })
    ).body;
    const carol = await join(owner, { roleId: role.id, agentAccess: false });
    const agent = await join(owner, { roleId: role.id, agentAccess: true });
    const preview = await api.delete<RoleImpactDto>(
      `/roles/${role.id}?reassignTo=${support.id}&dryRun=true`,
      undefined,
      { token: owner.token, headers: ifMatch(role.version) },
    );
    expect(preview.status).toBe(200);
    const byId = new Map(preview.body.affectedMembers.map((m) => [m.id, m]));
    expect(byId.get(carol.member.id)).toMatchObject({
      added: [],
      removed: ['campaigns.view'],
      remaining: 0,
      agentAccess: false,
    });
    expect(byId.get(agent.member.id)).toMatchObject({
      added: ['talk.view', 'talk.reply'],
      removed: ['campaigns.view'],
      remaining: 2,
      agentAccess: true,
    });
  });

  it('deletes an unused role without reassignTo; refuses reassigning to itself or to a role of another account', async () => {
    const owner = await business();
    const role = (await createRole(owner, {})).body;
    const other = await business();
    const foreign = (await createRole(other, {})).body;
    await join(owner, { roleId: role.id });
    expect(
      (
        await api.delete(`/roles/${role.id}?reassignTo=${role.id}`, undefined, {
          token: owner.token,
          headers: ifMatch(1),
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await api.delete(`/roles/${role.id}?reassignTo=${foreign.id}`, undefined, {
          token: owner.token,
          headers: ifMatch(1),
        })
      ).status,
    ).toBe(400);
    const unused = (await createRole(owner, {})).body;
    expect(
      (await api.delete(`/roles/${unused.id}`, undefined, { token: owner.token, headers: ifMatch(1) })).status,
    ).toBe(204);
  });
});

describe('PUT /roles/order', () => {
  it('reorders custom roles with If-Match on rolesVersion', async () => {
    const owner = await business();
    const [a, b, c] = [
      (await createRole(owner, { name: 'A' })).body,
      (await createRole(owner, { name: 'B' })).body,
      (await createRole(owner, { name: 'C' })).body,
    ];
    const version = await rolesVersion(owner);
    const missing = await api.put('/roles/order', { roleIds: [c!.id, a!.id, b!.id] }, { token: owner.token });
    expect(missing.status).toBe(428);
    const reply = await api.put<RoleListDto>(
      '/roles/order',
      { roleIds: [c!.id, a!.id, b!.id] },
      { token: owner.token, headers: ifMatch(version) },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.items.map((r) => r.name)).toEqual(['Admin', 'Editor', 'Read only', 'C', 'A', 'B']);
    expect(reply.body.rolesVersion).toBe(version + 1);
    expect(reply.headers.get('etag')).toBe(`"${version + 1}"`);
    const list = await api.get<RoleListDto>('/roles', { token: owner.token });
    expect(list.body.items.map((r) => r.name)).toEqual(['Admin', 'Editor', 'Read only', 'C', 'A', 'B']);
    const stale = await api.put(
      '/roles/order',
      { roleIds: [a!.id, b!.id, c!.id] },
      { token: owner.token, headers: ifMatch(version) },
    );
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({
      error: { code: 'VERSION_MISMATCH', details: { current: { rolesVersion: version + 1 } } },
    });
    expect((await activityActions(app, owner.account.id)).at(-1)).toBe('roles.reordered');
  });

  it('answers 400 when the list is not exactly the custom roles', async () => {
    const owner = await business();
    const a = (await createRole(owner, { name: 'A' })).body;
    const b = (await createRole(owner, { name: 'B' })).body;
    const version = await rolesVersion(owner);
    for (const roleIds of [
      [a.id],
      [a.id, b.id, b.id],
      [a.id, b.id, ROLE.admin],
      [a.id, '00000000-0000-4000-8000-0000000000aa'],
    ]) {
      const reply = await api.put('/roles/order', { roleIds }, { token: owner.token, headers: ifMatch(version) });
      expect(reply.status).toBe(400);
    }
  });
});

describe('races', () => {
  it('two admins editing the same role: exactly one wins, the other gets 412', async () => {
    const owner = await business();
    const admin = await join(owner, { roleId: ROLE.admin });
    const role = (await createRole(owner, {})).body;
    for (let round = 0; round < 10; round += 1) {
      const current = (await api.get<RoleDto>(`/roles/${role.id}`, { token: owner.token })).body;
      const replies = await Promise.all([
        api.patch(
          `/roles/${role.id}`,
          { description: `owner ${round}` },
          { token: owner.token, headers: ifMatch(current.version) },
        ),
        api.patch(
          `/roles/${role.id}`,
          { description: `admin ${round}` },
          { token: admin.token, headers: ifMatch(current.version) },
        ),
      ]);
      expect(replies.map((r) => r.status).sort()).toEqual([200, 412]);
      const after = (await api.get<RoleDto>(`/roles/${role.id}`, { token: owner.token })).body;
      expect(after.version).toBe(current.version + 1);
      const winner = replies.find((r) => r.status === 200)!.body as RoleDto;
      expect(after.description).toBe(winner.description);
    }
  });

  it('a reorder racing a role creation never loses the new role', async () => {
    const owner = await business();
    const admin = await join(owner, { roleId: ROLE.admin });
    await createRole(owner, { name: 'A' });
    await createRole(owner, { name: 'B' });
    for (let round = 0; round < 5; round += 1) {
      const list = (await api.get<RoleListDto>('/roles', { token: owner.token })).body;
      const custom = list.items.filter((r) => !r.system).map((r) => r.id);
      const [reorder, create] = await Promise.all([
        api.put(
          '/roles/order',
          { roleIds: [...custom].reverse() },
          { token: owner.token, headers: ifMatch(list.rolesVersion) },
        ),
        createRole(admin, { name: `New ${round}` }),
      ]);
      expect(create.status).toBe(201);
      expect([200, 400, 412]).toContain(reorder.status);
      const after = (await api.get<RoleListDto>('/roles', { token: owner.token })).body.items.filter((r) => !r.system);
      expect(after.map((r) => r.id)).toContain(create.body.id);
      expect(after).toHaveLength(custom.length + 1);
      expect(new Set(after.map((r) => r.position)).size).toBe(after.length);
    }
  });
});
