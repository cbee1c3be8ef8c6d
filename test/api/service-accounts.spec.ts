import { RolecallClient } from '@rolecall/client';
import {
  ADMIN_ROLE_ID,
  EDITOR_ROLE_ID,
  READONLY_ROLE_ID,
  type AccountDto,
  type ActivityEntryDto,
  type ApiKeyWithSecretDto,
  type PageDto,
  type RoleDto,
  type ServiceAccountDto,
  type ServiceAccountSelfDto,
} from '@rolecall/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AccountMutations } from '../../apps/api/src/database/account-mutation.js';
import type { RequestAuth } from '../../apps/api/src/database/request-auth.js';
import { ServiceAccountsService } from '../../apps/api/src/service-accounts/service-accounts.service.js';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, ifMatch, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { disconnected, next, open, sleep, type TestSocket } from './support/live.js';

let app: TestApp;
let api: Client;
let owner: SignedUp;
const sockets: TestSocket[] = [];
const sdks: RolecallClient[] = [];

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
  owner = await createAccount(api, { plan: 'business', accountName: 'Keys Inc' });
});
afterEach(() => {
  sockets.splice(0).forEach((s) => s.disconnect());
  sdks.splice(0).forEach((c) => c.live.disconnect());
});
afterAll(() => app.close());

async function serviceAccount(roleId: string, name = 'CI bot', token = owner.token): Promise<ServiceAccountDto> {
  const reply = await api.post<ServiceAccountDto>('/service-accounts', { name, roleId }, { token });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

async function issue(
  id: string,
  body: Record<string, unknown> = {},
  token = owner.token,
): Promise<ApiKeyWithSecretDto> {
  const reply = await api.post<ApiKeyWithSecretDto>(`/service-accounts/${id}/keys`, body, { token });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

async function customRole(permissions: string[], token = owner.token): Promise<RoleDto> {
  const body = { name: `Role ${Math.random().toString(36).slice(2, 8)}`, description: '', icon: 'star', permissions };
  const reply = await api.post<RoleDto>('/roles', body, { token });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

const seatsUsed = async (): Promise<unknown> =>
  (await api.get<AccountDto>('/account', { token: owner.token })).body.seats;

describe('service accounts: management', () => {
  it('creates, lists, reads, renames with If-Match (412 when stale), changes role and deletes; no seat taken', async () => {
    const before = await seatsUsed();
    const created = await serviceAccount(READONLY_ROLE_ID, 'Exporter');
    expect(created).toMatchObject({ name: 'Exporter', role: { id: READONLY_ROLE_ID }, version: 1, keys: [] });
    expect(await seatsUsed()).toEqual(before);

    const list = await api.get<{ items: ServiceAccountDto[] }>('/service-accounts', { token: owner.token });
    expect(list.status).toBe(200);
    expect(list.body.items.map((s) => s.id)).toContain(created.id);
    expect((await api.get(`/service-accounts/${created.id}`, { token: owner.token })).status).toBe(200);

    expect(
      (await api.patch(`/service-accounts/${created.id}`, { name: 'Renamed' }, { token: owner.token })).status,
    ).toBe(428);
    const renamed = await api.patch<ServiceAccountDto>(
      `/service-accounts/${created.id}`,
      { name: 'Renamed' },
      { token: owner.token, headers: ifMatch(1) },
    );
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Renamed', version: 2 });
    const stale = await api.patch<{ error: { code: string } }>(
      `/service-accounts/${created.id}`,
      { roleId: EDITOR_ROLE_ID },
      { token: owner.token, headers: ifMatch(1) },
    );
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('VERSION_MISMATCH');
    const moved = await api.patch<ServiceAccountDto>(
      `/service-accounts/${created.id}`,
      { roleId: EDITOR_ROLE_ID },
      { token: owner.token, headers: ifMatch(2) },
    );
    expect(moved.body.role?.id).toBe(EDITOR_ROLE_ID);

    const key = await issue(created.id);
    expect(key.key.startsWith('rck_')).toBe(true);
    expect(key.prefix).toBe(key.key.slice(0, 12));
    const shown = (await api.get<ServiceAccountDto>(`/service-accounts/${created.id}`, { token: owner.token })).body;
    expect(shown.keys).toEqual([
      { id: key.id, prefix: key.prefix, createdAt: key.createdAt, expiresAt: null, lastUsedAt: null },
    ]);
    expect(JSON.stringify(shown)).not.toContain(key.key);

    expect((await api.delete(`/service-accounts/${created.id}`, undefined, { token: owner.token })).status).toBe(204);
    expect((await api.get(`/service-accounts/${created.id}`, { token: owner.token })).status).toBe(404);
    expect((await api.get('/users', { token: key.key })).status).toBe(401);

    const log = await api.get<PageDto<ActivityEntryDto>>('/activity?limit=20', { token: owner.token });
    const actions = log.body.items.map((e) => e.action);
    for (const action of [
      'service_account.created',
      'service_account.updated',
      'service_account.key_created',
      'service_account.deleted',
    ]) {
      expect(actions).toContain(action);
    }
  });

  it('needs users.manage: an Editor or a Read only member is refused, an Admin key may manage', async () => {
    const editorKey = await issue((await serviceAccount(EDITOR_ROLE_ID)).id);
    const refused = await api.post<{ error: { code: string } }>(
      '/service-accounts',
      { name: 'x', roleId: READONLY_ROLE_ID },
      { token: editorKey.key },
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect((await api.get('/service-accounts', { token: editorKey.key })).status).toBe(403);

    const adminKey = await issue((await serviceAccount(ADMIN_ROLE_ID, 'Admin bot')).id);
    const made = await api.post<ServiceAccountDto>(
      '/service-accounts',
      { name: 'Made by a key', roleId: READONLY_ROLE_ID },
      { token: adminKey.key },
    );
    expect(made.status).toBe(201);
    const entry = (await api.get<PageDto<ActivityEntryDto>>('/activity?limit=1', { token: owner.token })).body
      .items[0]!;
    expect(entry.action).toBe('service_account.created');
    expect(entry.actor).toMatchObject({ memberId: null, kind: 'service_account', name: 'Admin bot' });
  });

  it('refuses bad input with the error shape, never a 500', async () => {
    const sa = await serviceAccount(READONLY_ROLE_ID);
    const bodies: unknown[] = [
      {},
      { name: '', roleId: READONLY_ROLE_ID },
      { name: 'x'.repeat(101), roleId: READONLY_ROLE_ID },
      { name: 'a\u0000b', roleId: READONLY_ROLE_ID },
      { name: 'ok', roleId: 'not-a-uuid' },
      { name: 'ok', roleId: '00000000-0000-4000-8000-000000000000' },
      { name: 'ok', roleId: READONLY_ROLE_ID, extra: 1 },
      { name: 42, roleId: READONLY_ROLE_ID },
      [],
      'text',
    ];
    for (const body of bodies) {
      const reply = await api.post<{ error: { code: string } }>('/service-accounts', body, { token: owner.token });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error.code).toBe('VALIDATION_FAILED');
    }
    for (const expiresAt of ['2001-01-01T00:00:00Z', 'tomorrow', '2027-13-45T00:00:00Z', 12, '9999-01-01T00:00:00Z']) {
      const reply = await api.post<{ error: { code: string } }>(
        `/service-accounts/${sa.id}/keys`,
        { expiresAt },
        { token: owner.token },
      );
      expect(reply.status, String(expiresAt)).toBe(400);
      expect(reply.body.error.code).toBe('VALIDATION_FAILED');
    }
    for (const path of ['/service-accounts/nope', `/service-accounts/${sa.id}/keys/nope`]) {
      expect((await api.get(path, { token: owner.token })).status).toBeLessThan(500);
      expect((await api.delete(path, undefined, { token: owner.token })).status).toBe(400);
    }
    expect(
      (
        await api.delete(`/service-accounts/${sa.id}/keys/00000000-0000-4000-8000-000000000000`, undefined, {
          token: owner.token,
        })
      ).status,
    ).toBe(404);
    expect(
      (await api.patch(`/service-accounts/${sa.id}`, {}, { token: owner.token, headers: ifMatch(1) })).status,
    ).toBe(400);
    for (const bearer of ['rck_', 'rck_' + 'A'.repeat(43), 'rck_../../etc']) {
      expect((await api.get('/users', { token: bearer })).status).toBe(401);
    }
  });
});

describe('API keys: authentication and permissions', () => {
  it('a custom-role key can do exactly what its role allows; person-only routes refuse it', async () => {
    const role = await customRole(['users.view']);
    const sa = await serviceAccount(role.id, 'Directory sync');
    const key = await issue(sa.id);
    expect((await api.get('/users', { token: key.key })).status).toBe(200);
    expect((await api.get(`/roles/${role.id}`, { token: key.key })).status).toBe(403);
    expect((await api.post('/teams', { name: 'Nope' }, { token: key.key })).status).toBe(403);
    for (const [method, path] of [
      ['get', '/me'],
      ['get', '/me/sessions'],
      ['post', '/me/2fa/setup'],
      ['post', '/auth/sign-out'],
    ] as const) {
      const reply = await (method === 'get'
        ? api.get<{ error: { code: string; details?: { reason?: string } } }>(path, { token: key.key })
        : api.post<{ error: { code: string; details?: { reason?: string } } }>(path, {}, { token: key.key }));
      expect(reply.status, path).toBe(403);
      expect(reply.body.error.details?.reason, path).toBe('service_account');
    }
    const self = await api.get<ServiceAccountSelfDto>('/service-accounts/self', { token: key.key });
    expect(self.status).toBe(200);
    expect(self.body.serviceAccount.id).toBe(sa.id);
    expect(self.body.permissions.keys.sort()).toEqual(['users.view']);
    expect((await api.get('/service-accounts/self', { token: owner.token })).status).toBe(403);
    // last used is written on use
    const listed = (await api.get<ServiceAccountDto>(`/service-accounts/${sa.id}`, { token: owner.token })).body;
    expect(listed.keys[0]!.lastUsedAt).not.toBeNull();
  });

  it('last used is written at most once a minute', async () => {
    const sa = await serviceAccount(EDITOR_ROLE_ID, 'Poller');
    const key = await issue(sa.id);
    const lastUsed = async () =>
      (await api.get<ServiceAccountDto>(`/service-accounts/${sa.id}`, { token: owner.token })).body.keys[0]!.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    expect((await api.get('/account', { token: key.key })).status).toBe(200);
    const first = await lastUsed();
    expect(first).not.toBeNull();
    let advanced = 0;
    try {
      app.clock.advance(30_000);
      advanced += 30_000;
      expect((await api.get('/account', { token: key.key })).status).toBe(200);
      expect(await lastUsed()).toBe(first);
      app.clock.advance(31_000);
      advanced += 31_000;
      expect((await api.get('/account', { token: key.key })).status).toBe(200);
      const second = await lastUsed();
      expect(Date.parse(second!) - Date.parse(first!)).toBeGreaterThanOrEqual(60_000);
    } finally {
      app.clock.advance(-advanced);
    }
  });

  it('a key never gets talk.* (no agent access) even with the Admin role', async () => {
    const key = await issue((await serviceAccount(ADMIN_ROLE_ID)).id);
    const self = (await api.get<ServiceAccountSelfDto>('/service-accounts/self', { token: key.key })).body;
    expect(self.permissions.keys.some((k) => k.startsWith('talk.'))).toBe(false);
    expect(self.permissions.keys).toContain('users.manage');
  });

  it('revoking a key: the next request is 401 and its socket gets me.revoked and is closed', async () => {
    const sa = await serviceAccount(EDITOR_ROLE_ID);
    const key = await issue(sa.id);
    const other = await issue(sa.id);
    const socket = await open(app.url, key.key);
    sockets.push(socket);
    const revoked = next(socket, 'me.revoked');
    const closed = disconnected(socket);
    expect(
      (await api.delete(`/service-accounts/${sa.id}/keys/${key.id}`, undefined, { token: owner.token })).status,
    ).toBe(204);
    expect(await revoked).toEqual({ reason: 'key_revoked' });
    await closed;
    const after = await api.get<{ error: { code: string } }>('/account', { token: key.key });
    expect(after.status).toBe(401);
    expect((await api.get('/account', { token: other.key })).status).toBe(200);
    await expect(open(app.url, key.key)).rejects.toThrow();
  });

  it('deleting the service account ends every key and its sockets', async () => {
    const sa = await serviceAccount(EDITOR_ROLE_ID);
    const [a, b] = [await issue(sa.id), await issue(sa.id)];
    const socket = await open(app.url, a.key);
    sockets.push(socket);
    const revoked = next(socket, 'me.revoked');
    expect((await api.delete(`/service-accounts/${sa.id}`, undefined, { token: owner.token })).status).toBe(204);
    expect(await revoked).toEqual({ reason: 'service_account_deleted' });
    expect((await api.get('/account', { token: a.key })).status).toBe(401);
    expect((await api.get('/account', { token: b.key })).status).toBe(401);
  });

  it('a role change is live (me.permissions) and the next request is judged by the new role', async () => {
    const sa = await serviceAccount(READONLY_ROLE_ID);
    const key = await issue(sa.id);
    const socket = await open(app.url, key.key);
    sockets.push(socket);
    expect((await api.post('/teams', { name: `T ${sa.id.slice(0, 6)}` }, { token: key.key })).status).toBe(403);
    const pushed = next(socket, 'me.permissions');
    expect(
      (
        await api.patch(
          `/service-accounts/${sa.id}`,
          { roleId: ADMIN_ROLE_ID },
          { token: owner.token, headers: ifMatch(1) },
        )
      ).status,
    ).toBe(200);
    const event = await pushed;
    expect(event).toMatchObject({ roleId: ADMIN_ROLE_ID, reason: 'role_changed', version: 2 });
    expect(event.keys).toContain('users.manage');
    expect((await api.get('/service-accounts', { token: key.key })).status).toBe(200);
    const back = next(socket, 'me.permissions');
    expect(
      (
        await api.patch(
          `/service-accounts/${sa.id}`,
          { roleId: READONLY_ROLE_ID },
          { token: owner.token, headers: ifMatch(2) },
        )
      ).status,
    ).toBe(200);
    expect((await back).keys).not.toContain('users.manage');
    expect((await api.get('/service-accounts', { token: key.key })).status).toBe(403);
  });

  it('an edit of its custom role is live too (role_edited) and takes effect at once', async () => {
    const role = await customRole(['users.view']);
    const sa = await serviceAccount(role.id);
    const key = await issue(sa.id);
    const socket = await open(app.url, key.key);
    sockets.push(socket);
    expect((await api.get(`/roles/${role.id}`, { token: key.key })).status).toBe(403);
    const pushed = next(socket, 'me.permissions');
    const edited = await api.patch(
      `/roles/${role.id}`,
      { permissions: ['users.view', 'roles.view'] },
      { token: owner.token, headers: ifMatch(role.version) },
    );
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    const event = await pushed;
    expect(event.reason).toBe('role_edited');
    expect(event.keys).toContain('roles.view');
    expect((await api.get(`/roles/${role.id}`, { token: key.key })).status).toBe(200);
  });

  it('an edit or deletion of its custom role binds the very next request (no socket open, nothing awaited)', async () => {
    // SPEC §6: a change is visible to the very next request. The key's set is cached by the service
    // account's permission version, so that version must move in the role edit's own transaction.
    const role = await customRole(['users.view', 'roles.view']);
    const sa = await serviceAccount(role.id);
    const key = await issue(sa.id);
    expect((await api.get(`/roles/${role.id}`, { token: key.key })).status).toBe(200);
    const edited = await api.patch<RoleDto>(
      `/roles/${role.id}`,
      { permissions: ['users.view'] },
      { token: owner.token, headers: ifMatch(role.version) },
    );
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect((await api.get(`/roles/${role.id}`, { token: key.key })).status).toBe(403);
    expect((await api.get('/users', { token: key.key })).status).toBe(200);
    const deleted = await api.delete(`/roles/${role.id}`, undefined, {
      token: owner.token,
      headers: ifMatch(edited.body.version),
    });
    expect(deleted.status).toBe(204);
    expect((await api.get('/users', { token: key.key })).status).toBe(403);
  });

  it('an expired key is 401; a key with a future expiry works until then', async () => {
    const sa = await serviceAccount(EDITOR_ROLE_ID);
    const expiresAt = new Date(app.clock.now().getTime() + 3600_000).toISOString();
    const key = await issue(sa.id, { expiresAt });
    expect(key.expiresAt).toBe(expiresAt);
    expect((await api.get('/account', { token: key.key })).status).toBe(200);
    app.clock.advance(2 * 3600_000);
    try {
      const reply = await api.get<{ error: { code: string } }>('/account', { token: key.key });
      expect(reply.status).toBe(401);
      expect(reply.body.error.code).toBe('UNAUTHENTICATED');
      await expect(open(app.url, key.key)).rejects.toThrow();
    } finally {
      app.clock.advance(-2 * 3600_000);
    }
  });

  it('a key expiring while its socket is open: me.revoked (key_expired) and the socket is closed', async () => {
    const sa = await serviceAccount(EDITOR_ROLE_ID);
    const key = await issue(sa.id, { expiresAt: new Date(app.clock.now().getTime() + 1500).toISOString() });
    const socket = await open(app.url, key.key);
    sockets.push(socket);
    const revoked = next(socket, 'me.revoked', () => true, 4000);
    const closed = disconnected(socket, 4000);
    expect(await revoked).toEqual({ reason: 'key_expired' });
    await closed;
    expect((await api.get('/account', { token: key.key })).status).toBe(401);
  });

  it('deleting its custom role leaves the service account with no permissions, live', async () => {
    const role = await customRole(['users.view']);
    const sa = await serviceAccount(role.id);
    const key = await issue(sa.id);
    const socket = await open(app.url, key.key);
    sockets.push(socket);
    const pushed = next(socket, 'me.permissions');
    const current = (await api.get<RoleDto>(`/roles/${role.id}`, { token: owner.token })).body;
    expect(
      (await api.delete(`/roles/${role.id}`, undefined, { token: owner.token, headers: ifMatch(current.version) }))
        .status,
    ).toBe(204);
    expect(await pushed).toMatchObject({ reason: 'role_deleted', keys: [] });
    expect((await api.get('/users', { token: key.key })).status).toBe(403);
    expect(
      (await api.get<ServiceAccountDto>(`/service-accounts/${sa.id}`, { token: owner.token })).body.role,
    ).toBeNull();
  });

  it('the re-check under the account lock refuses a key revoked, or a role demoted, after the guard let it in', async () => {
    const sa = await serviceAccount(ADMIN_ROLE_ID, 'Racer');
    const key = await issue(sa.id);
    const guarded = async (): Promise<RequestAuth> => ({
      ...(await app.app.get(ServiceAccountsService).authenticate(key.key)),
      required: ['users.manage'],
    });
    const actor = {
      memberId: null,
      email: null,
      ip: null,
      userAgent: null,
      kind: 'service_account' as const,
      name: 'Racer',
    };
    const attempt = async (auth: RequestAuth) => {
      try {
        await app.app.get(AccountMutations).run(auth, actor, async () => 'changed');
        return 'changed';
      } catch (error) {
        return (error as { code?: string }).code;
      }
    };
    // Judged with the Admin role, then demoted before the lock: refused.
    const beforeDemotion = await guarded();
    expect(
      (
        await api.patch(
          `/service-accounts/${sa.id}`,
          { roleId: READONLY_ROLE_ID },
          { token: owner.token, headers: ifMatch(1) },
        )
      ).status,
    ).toBe(200);
    expect(await attempt(beforeDemotion)).toBe('FORBIDDEN');
    expect(
      (
        await api.patch(
          `/service-accounts/${sa.id}`,
          { roleId: ADMIN_ROLE_ID },
          { token: owner.token, headers: ifMatch(2) },
        )
      ).status,
    ).toBe(200);
    const beforeRevocation = await guarded();
    expect(await attempt(beforeRevocation)).toBe('changed');
    expect(
      (await api.delete(`/service-accounts/${sa.id}/keys/${key.id}`, undefined, { token: owner.token })).status,
    ).toBe(204);
    expect(await attempt(beforeRevocation)).toBe('SESSION_REVOKED');
  });

  it('tenant isolation: a key reaches only its own account', async () => {
    const other = await createAccount(api, { plan: 'business', accountName: 'Other Inc' });
    const theirs = await serviceAccount(ADMIN_ROLE_ID, 'Theirs', other.token);
    const theirKey = await issue(theirs.id, {}, other.token);
    const ours = await serviceAccount(READONLY_ROLE_ID, 'Ours');
    expect((await api.get(`/service-accounts/${ours.id}`, { token: theirKey.key })).status).toBe(404);
    expect((await api.delete(`/service-accounts/${ours.id}`, undefined, { token: theirKey.key })).status).toBe(404);
    expect((await api.post(`/service-accounts/${ours.id}/keys`, {}, { token: theirKey.key })).status).toBe(404);
    expect((await api.get(`/service-accounts/${theirs.id}`, { token: owner.token })).status).toBe(404);
    const users = await api.get<{ items: { id: string }[] }>('/users', { token: theirKey.key });
    expect(users.body.items.map((u) => u.id)).not.toContain(owner.member.id);
    // A custom role of another account cannot be given.
    const theirRole = await customRole(['users.view'], other.token);
    expect(
      (await api.post('/service-accounts', { name: 'x', roleId: theirRole.id }, { token: owner.token })).status,
    ).toBe(400);
  });

  it('libs/client works with a key: connect, can(), live permission changes', async () => {
    const sa = await serviceAccount(READONLY_ROLE_ID, 'SDK bot');
    const key = await issue(sa.id);
    const rc = new RolecallClient({ baseUrl: app.url, token: key.key, transports: ['websocket'] });
    sdks.push(rc);
    await rc.connect();
    expect(rc.can('users.manage')).toBe(false);
    expect(
      (
        await api.patch(
          `/service-accounts/${sa.id}`,
          { roleId: ADMIN_ROLE_ID },
          { token: owner.token, headers: ifMatch(1) },
        )
      ).status,
    ).toBe(200);
    const deadline = Date.now() + 3000;
    while (!rc.can('users.manage') && Date.now() < deadline) await sleep(10);
    expect(rc.can('users.manage')).toBe(true);
  });
});
