/**
 * Duplicate a role (issue 17 §5) over real HTTP: "<name> (copy)", "(copy 2)"… within the name
 * limit, the same description, icon and permissions, placed last; the plan's custom-role limit;
 * Editor and Read only can be copied, Admin cannot; `role.created` noting the source; live
 * `role.upserted`. SQLite, and PostgreSQL with DATABASE_URL.
 */
import { SYSTEM_ROLES, type ActivityEntryDto, type RoleDto, type RoleListDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { activityActions } from './support/db.js';
import { createAccount, inviteAndAccept, ROLE, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { next, open } from './support/live.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

const business = () => createAccount(api, { plan: 'business' });
const createRole = (owner: SignedUp, body: Record<string, unknown>) =>
  api.post<RoleDto>('/roles', { description: '', icon: 'star', permissions: [], ...body }, { token: owner.token });
const duplicate = (owner: { token: string }, id: string) =>
  api.post<RoleDto>(`/roles/${id}/duplicate`, undefined, { token: owner.token });

describe('POST /roles/:id/duplicate', () => {
  it('copies name, description, icon and permissions into a new custom role placed last', async () => {
    const owner = await business();
    const source = (
      await createRole(owner, {
        name: 'Support agent',
        description: 'Answers the inbox',
        icon: 'headset',
        permissions: ['talk.reply', 'people.edit'],
      })
    ).body;
    const other = (await createRole(owner, { name: 'Later', permissions: ['reports.view'] })).body;
    const holder = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: source.id });
    const reply = await duplicate(owner, source.id);
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({
      name: 'Support agent (copy)',
      description: 'Answers the inbox',
      icon: 'headset',
      system: false,
      permissions: source.permissions,
      memberCount: 0,
      version: 1,
    });
    expect(reply.body.id).not.toBe(source.id);
    const list = (await api.get<RoleListDto>('/roles', { token: owner.token })).body.items;
    expect(list.map((r) => r.name)).toEqual([
      'Admin',
      'Editor',
      'Read only',
      'Support agent',
      'Later',
      'Support agent (copy)',
    ]);
    expect(list.at(-1)!.position).toBe(5);
    expect(reply.body.position).toBe(5);
    // The source and its holder are untouched.
    expect(list.find((r) => r.id === source.id)).toMatchObject({
      name: 'Support agent',
      memberCount: 1,
      version: source.version,
    });
    expect(
      (await api.get<{ role: { id: string } }>(`/users/${holder.member.id}`, { token: owner.token })).body.role.id,
    ).toBe(source.id);
    expect(other.id).toBeTruthy();
  });

  it('numbers further copies, case-insensitively, and keeps within the 60-character name limit', async () => {
    const owner = await business();
    const source = (await createRole(owner, { name: 'Sales', permissions: ['people.view'] })).body;
    await createRole(owner, { name: 'SALES (COPY)' });
    expect((await duplicate(owner, source.id)).body.name).toBe('Sales (copy 2)');
    expect((await duplicate(owner, source.id)).body.name).toBe('Sales (copy 3)');
    const copyOfCopy = await duplicate(owner, (await duplicate(owner, source.id)).body.id);
    expect(copyOfCopy.body.name).toBe('Sales (copy 4) (copy)');

    const long = (await createRole(owner, { name: 'L'.repeat(60) })).body;
    const first = await duplicate(owner, long.id);
    expect(first.status).toBe(201);
    expect(first.body.name).toBe(`${'L'.repeat(53)} (copy)`);
    expect(first.body.name.length).toBe(60);
    const second = await duplicate(owner, long.id);
    expect(second.body.name).toBe(`${'L'.repeat(51)} (copy 2)`);
    expect(second.body.name.length).toBe(60);
  });

  it('copies the Editor and Read only system roles into custom roles; refuses Admin (its keys are Admin-only)', async () => {
    const owner = await business();
    const editor = await duplicate(owner, ROLE.editor);
    expect(editor.status).toBe(201);
    const source = SYSTEM_ROLES.find((r) => r.id === ROLE.editor)!;
    expect(editor.body).toMatchObject({
      name: 'Editor (copy)',
      system: false,
      icon: source.icon,
      description: source.description,
    });
    expect(editor.body.permissions).toEqual([...source.permissions]);
    expect((await duplicate(owner, ROLE.readonly)).body.name).toBe('Read only (copy)');

    const admin = await duplicate(owner, ROLE.admin);
    expect(admin.status).toBe(400);
    expect(admin.body).toMatchObject({ error: { code: 'ADMIN_ONLY_PERMISSION' } });
    const names = (await api.get<RoleListDto>('/roles', { token: owner.token })).body.items.map((r) => r.name);
    expect(names).not.toContain('Admin (copy)');
  });

  it('applies the plan: no custom roles on Starter, at most 20 on Business — the same refusal as creating', async () => {
    const starter = await createAccount(api, { plan: 'starter' });
    const refused = await duplicate(starter, ROLE.editor);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'PLAN_FEATURE_UNAVAILABLE' } });

    const owner = await business();
    const source = (await createRole(owner, { name: 'Base', permissions: ['people.view'] })).body;
    for (let i = 0; i < 19; i++) expect((await duplicate(owner, source.id)).status).toBe(201);
    const over = await duplicate(owner, source.id);
    const create = await createRole(owner, { name: 'One too many' });
    expect(over.status).toBe(403);
    expect(over.body).toEqual(create.body);
    expect(over.body).toMatchObject({ error: { code: 'PLAN_FEATURE_UNAVAILABLE', details: { limit: 20, used: 20 } } });
  });

  it('writes role.created noting the source, and tells the account room role.upserted', async () => {
    const owner = await business();
    const source = (await createRole(owner, { name: 'Analyst', permissions: ['reports.export'] })).body;
    const socket = await open(app.url, owner.token);
    try {
      const upserted = next(socket, 'role.upserted', (data) => data.role.name === 'Analyst (copy)');
      const reply = await duplicate(owner, source.id);
      expect(reply.status).toBe(201);
      const event = await upserted;
      expect(event.role).toMatchObject({ id: reply.body.id, permissions: ['reports.view', 'reports.export'] });
      const entry = (
        await api.get<{ items: ActivityEntryDto[] }>('/activity?action=role.created', { token: owner.token })
      ).body.items[0]!;
      expect(entry).toMatchObject({
        seq: event.seq,
        target: { type: 'role', id: reply.body.id, label: 'Analyst (copy)' },
        changes: {
          duplicatedFrom: { id: source.id, name: 'Analyst' },
          permissions: { after: ['reports.view', 'reports.export'] },
        },
      });
      expect((await api.get<{ ok: boolean }>('/activity/verify', { token: owner.token })).body.ok).toBe(true);
    } finally {
      socket.disconnect();
    }
  });

  it('keeps tenants apart, needs roles.manage and writes nothing when refused', async () => {
    const owner = await business();
    const source = (await createRole(owner, { name: 'Private', permissions: ['people.view'] })).body;
    const other = await business();
    const before = await activityActions(app, other.account.id);
    const elsewhere = await duplicate(other, source.id);
    expect(elsewhere.status).toBe(404);
    expect(JSON.stringify(elsewhere.body)).not.toContain('Private');
    expect(await activityActions(app, other.account.id)).toEqual(before);
    const editor = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    expect((await duplicate(editor, source.id)).status).toBe(403);
    expect((await api.post('/roles/nope/duplicate', undefined, { token: owner.token })).status).toBe(400);
    const names = (await api.get<RoleListDto>('/roles', { token: owner.token })).body.items.map((r) => r.name);
    expect(names.filter((n) => n.startsWith('Private'))).toEqual(['Private']);
  });
});
