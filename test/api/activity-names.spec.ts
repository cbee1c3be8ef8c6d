/**
 * Activity entries keep the names they need (issue 15): a role change still names the role as it
 * was after the role is renamed and deleted; a deleted member keeps their name; the names are part
 * of the hash chain; and the IP address of an IPv4 client is stored as plain IPv4.
 */
import type { ActivityEntryDto, ActivityVerifyDto, MemberDetailDto, PageDto, RoleDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { query } from './support/db.js';
import { createAccount, ifMatch, inviteAndAccept, ROLE, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

/** Requests come from 127.0.0.1, a trusted proxy: the client's address is the forwarded one. */
const FROM_MAPPED = { 'x-forwarded-for': '::ffff:203.0.113.9' };

async function entries(owner: SignedUp, action: string): Promise<ActivityEntryDto[]> {
  const reply = await api.get<PageDto<ActivityEntryDto>>(`/activity?action=${action}`, { token: owner.token });
  expect(reply.status).toBe(200);
  return reply.body.items;
}

async function verify(owner: SignedUp): Promise<ActivityVerifyDto> {
  const reply = await api.get<ActivityVerifyDto>('/activity/verify', { token: owner.token });
  expect(reply.status).toBe(200);
  return reply.body;
}

async function memberVersion(owner: SignedUp, id: string): Promise<number> {
  return (await api.get<MemberDetailDto>(`/users/${id}`, { token: owner.token })).body.version;
}

describe('activity entries keep their names', () => {
  it('a role change names the roles as they were, after the role is renamed and deleted; the IP is IPv4', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const bob = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Bob Builder', roleId: ROLE.editor });
    const created = await api.post<RoleDto>(
      '/roles',
      { name: 'Support agent', description: '', icon: 'star', permissions: ['reports.view'] },
      { token: owner.token },
    );
    expect(created.status).toBe(201);
    const role = created.body;

    const changed = await api.patch(
      `/users/${bob.member.id}`,
      { roleId: role.id },
      { token: owner.token, headers: { ...ifMatch(bob.member.version), ...FROM_MAPPED } },
    );
    expect(changed.status).toBe(200);
    const renamed = await api.patch<RoleDto>(
      `/roles/${role.id}`,
      { name: 'Helpers' },
      { token: owner.token, headers: ifMatch(role.version) },
    );
    expect(renamed.status).toBe(200);
    const deleted = await api.delete(`/roles/${role.id}?reassignTo=${ROLE.readonly}`, undefined, {
      token: owner.token,
      headers: ifMatch(renamed.body.version),
    });
    expect(deleted.status).toBe(204);
    expect((await api.get(`/roles/${role.id}`, { token: owner.token })).status).toBe(404);

    const [entry] = await entries(owner, 'user.role_changed');
    expect(entry).toBeDefined();
    expect(entry!.changes).toEqual({
      roleId: { before: ROLE.editor, after: role.id },
      role: { after: 'Support agent' },
    });
    expect(entry!.names).toEqual({
      [owner.member.id]: 'Olive Owner',
      [bob.member.id]: 'Bob Builder',
      [ROLE.editor]: 'Editor',
      [role.id]: 'Support agent',
    });
    expect(entry!.ip).toBe('203.0.113.9');

    // The rename names the role by its new name; the deletion (written after the row went) by its label.
    expect((await entries(owner, 'role.updated'))[0]!.names?.[role.id]).toBe('Helpers');
    const removal = (await entries(owner, 'role.deleted'))[0]!;
    expect(removal.names?.[role.id]).toBe('Helpers');
    expect(removal.changes).not.toHaveProperty('names');
    expect(await verify(owner)).toEqual({ ok: true, checked: expect.any(Number), firstBadSeq: null });
  });

  it('a deleted member keeps their name', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const bob = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Bob Builder', roleId: ROLE.editor });
    const revoked = await api.post(`/users/${bob.member.id}/revoke`, undefined, {
      token: owner.token,
      headers: ifMatch(bob.member.version),
    });
    expect(revoked.status).toBe(200);
    const gone = await api.delete(`/users/${bob.member.id}`, undefined, {
      token: owner.token,
      headers: ifMatch(await memberVersion(owner, bob.member.id)),
    });
    expect(gone.status).toBe(204);
    const [entry] = await entries(owner, 'user.deleted');
    expect(entry!.names?.[bob.member.id]).toBe('Bob Builder');
    expect(entry!.changes).toEqual({ status: { before: 'revoked', after: null } });
    expect((await verify(owner)).ok).toBe(true);
  });

  it('the names are sealed by the hash chain: altering one breaks verify at that entry', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const bob = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Bob Builder', roleId: ROLE.editor });
    await api.patch(
      `/users/${bob.member.id}`,
      { roleId: ROLE.readonly },
      { token: owner.token, headers: ifMatch(bob.member.version) },
    );
    const [entry] = await entries(owner, 'user.role_changed');
    const before = await verify(owner);
    expect(before.ok).toBe(true);
    const [row] = await query<{ changes: string }>(
      app,
      'SELECT changes FROM activity WHERE account_id = ? AND seq = ?',
      [owner.account.id, entry!.seq],
    );
    const stored = JSON.parse(row!.changes) as { names: Record<string, string> };
    expect(stored.names[ROLE.readonly]).toBe('Read only');
    stored.names[ROLE.readonly] = 'Admin';
    await query(app, 'UPDATE activity SET changes = ? WHERE account_id = ? AND seq = ?', [
      JSON.stringify(stored),
      owner.account.id,
      entry!.seq,
    ]);
    expect(await verify(owner)).toEqual({ ok: false, checked: entry!.seq - 1, firstBadSeq: entry!.seq });
  });

  it('a session signed in from an IPv4-mapped address lists plain IPv4 on My account too', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const signedIn = await api.post<{ token: string }>(
      '/auth/sign-in',
      { email: owner.email, password: owner.password },
      { headers: FROM_MAPPED },
    );
    expect(signedIn.status).toBe(200);
    const mine = await api.get<{ items: { ip: string | null }[] }>('/me/sessions', { token: owner.token });
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((s) => s.ip)).toContain('203.0.113.9');
    expect(mine.body.items.some((s) => s.ip?.startsWith('::ffff:'))).toBe(false);
  });
});
