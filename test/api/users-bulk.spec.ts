import type {
  ActivityEntryDto,
  BulkPreviewDto,
  BulkResultDto,
  MemberDto,
  MemberPageDto,
  TeamDto,
} from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { query } from './support/db.js';
import {
  createAccount,
  ifMatch,
  invite,
  inviteAndAccept,
  ROLE,
  uniqueEmail,
  type Joined,
  type SignedUp,
} from './support/factories.js';
import { client, type Client } from './support/http.js';
import { disconnected, next, open, recorder, sleep, type TestSocket } from './support/live.js';

let app: TestApp;
let api: Client;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await app.close();
});

const join = (owner: SignedUp, input: Parameters<typeof inviteAndAccept>[3] = {}) =>
  inviteAndAccept(api, app.config.dataDir, owner, input);
const bulk = (token: string, body: unknown, dryRun = false) =>
  api.post<BulkResultDto>(`/users/bulk${dryRun ? '?dryRun=true' : ''}`, body, { token });
const preview = (token: string, body: unknown) => api.post<BulkPreviewDto>('/users/bulk?dryRun=true', body, { token });
const member = async (owner: SignedUp, id: string) =>
  (await api.get<MemberDto>(`/users/${id}`, { token: owner.token })).body;
const activityHead = async (accountId: string) =>
  Number(
    (await query<{ seq: number }>(app, 'SELECT activity_seq AS seq FROM accounts WHERE id = ?', [accountId]))[0]!.seq,
  );
const socket = async (token: string) => {
  const s = await open(app.url, token);
  sockets.push(s);
  return s;
};

async function enableTeams(owner: SignedUp, name: string): Promise<TeamDto> {
  const account = await api.get<{ version: number }>('/account', { token: owner.token });
  expect(
    (
      await api.patch(
        '/account',
        { teamsEnabled: true },
        { token: owner.token, headers: ifMatch(account.body.version) },
      )
    ).status,
  ).toBe(200);
  return (await api.post<TeamDto>('/teams', { name }, { token: owner.token })).body;
}

/** A business account: the owner (also billing contact), three editors, one read-only member, one invitation. */
async function team(): Promise<{ owner: SignedUp; editors: Joined[]; reader: Joined; invited: MemberDto }> {
  const owner = await createAccount(api, { plan: 'business' });
  const editors = [];
  for (let i = 0; i < 3; i++) editors.push(await join(owner, { name: `Edith ${i}`, roleId: ROLE.editor }));
  const reader = await join(owner, { name: 'Rory Reader', roleId: ROLE.readonly });
  const invited = (await invite(api, owner, [uniqueEmail('inv')], { roleId: ROLE.editor })).body.items[0]!;
  return { owner, editors, reader, invited };
}

describe('POST /users/bulk: role', () => {
  it('previews without writing (impact, cost, skips with reasons), then changes all in one go with one bulkId', async () => {
    const { owner, editors, reader } = await team();
    const other = await createAccount(api, { plan: 'business' });
    const stranger = await join(other, { roleId: ROLE.editor });
    const ids = [owner.member.id, ...editors.map((e) => e.member.id), reader.member.id, stranger.member.id];
    const head = await activityHead(owner.account.id);

    const dry = await preview(owner.token, { action: 'role', roleId: ROLE.readonly, ids });
    expect(dry.status).toBe(200);
    expect(dry.body.wouldFail).toBeNull();
    expect(dry.body.bulkId).toBeNull();
    expect(dry.body.changed.sort()).toEqual(editors.map((e) => e.member.id).sort());
    const reasons = Object.fromEntries(dry.body.skipped.map((s) => [s.id, s.reason]));
    expect(reasons).toEqual({
      [owner.member.id]: 'owner_protected',
      [reader.member.id]: 'already',
      [stranger.member.id]: 'not_found',
    });
    expect(dry.body.skipped.find((s) => s.id === owner.member.id)!.message).toMatch(/owner/);
    // Editors → Read only: each loses the editing keys, keeps the views.
    expect(dry.body.permissionChanges).toHaveLength(3);
    expect(dry.body.permissionChanges[0]!.removed).toContain('people.edit');
    expect(dry.body.permissionChanges[0]!.added).toEqual([]);
    expect(dry.body.seats.used).toBe(6);
    expect(dry.body.agentSeats.monthlyCost).toBe(dry.body.monthlyCostBefore);
    // Nothing was written.
    expect(await activityHead(owner.account.id)).toBe(head);
    expect((await member(owner, editors[0]!.member.id)).role.id).toBe(ROLE.editor);

    const done = await bulk(owner.token, { action: 'role', roleId: ROLE.readonly, ids });
    expect(done.status).toBe(200);
    expect(done.body.bulkId).toMatch(/^[0-9a-f-]{36}$/);
    expect(done.body.changed.sort()).toEqual(editors.map((e) => e.member.id).sort());
    expect(done.body.skipped.map((s) => s.reason).sort()).toEqual(['already', 'not_found', 'owner_protected']);
    for (const editor of editors) {
      const now = await member(owner, editor.member.id);
      expect(now.role.id).toBe(ROLE.readonly);
      expect(now.version).toBe(editor.member.version + 1);
      // The very next request of that member is judged by the new role.
      expect(
        (await api.post('/users/bulk', { action: 'resend', ids: [owner.member.id] }, { token: editor.token })).status,
      ).toBe(403);
    }
    // The stranger of the other account is untouched.
    expect((await api.get<MemberDto>(`/users/${stranger.member.id}`, { token: other.token })).body.role.id).toBe(
      ROLE.editor,
    );

    const log = await api.get<{ items: ActivityEntryDto[] }>('/activity?action=user.role_changed', {
      token: owner.token,
    });
    const entries = log.body.items.filter((e) => e.changes?.['bulkId'] === done.body.bulkId);
    expect(entries.map((e) => e.target.id).sort()).toEqual(done.body.changed.sort());
    expect(entries[0]!.changes?.['bulkAction']).toBe('role');
    expect(await activityHead(owner.account.id)).toBe(head + 3);
    expect(
      (await api.get<{ ok: boolean; checked: number }>('/activity/verify', { token: owner.token })).body,
    ).toMatchObject({ ok: true });
  });

  it('skips the acting admin (self) and selects by filter', async () => {
    const { owner, editors } = await team();
    const admin = await join(owner, { roleId: ROLE.admin, name: 'Ada Admin' });
    const done = await bulk(admin.token, { action: 'role', roleId: ROLE.editor, filter: { role: [ROLE.admin] } });
    expect(done.status).toBe(200);
    expect(done.body.changed).toEqual([]);
    expect(Object.fromEntries(done.body.skipped.map((s) => [s.id, s.reason]))).toEqual({
      [owner.member.id]: 'owner_protected',
      [admin.member.id]: 'self',
    });
    const demote = await bulk(admin.token, {
      action: 'role',
      roleId: ROLE.readonly,
      filter: { role: [ROLE.editor], status: 'active', q: 'edith' },
    });
    expect(demote.body.changed.sort()).toEqual(editors.map((e) => e.member.id).sort());
  });
});

describe('POST /users/bulk: all or nothing', () => {
  it('refuses the whole set past the agent seats (409, nothing changed); the dry run says so in wouldFail', async () => {
    const owner = await createAccount(api, { plan: 'starter' }); // 3 agent seats
    const members = [];
    for (let i = 0; i < 4; i++) members.push(await join(owner, { roleId: ROLE.editor }));
    const body = { action: 'agentAccess', agentAccess: true, filter: { role: [ROLE.editor] } };
    const dry = await preview(owner.token, body);
    expect(dry.status).toBe(200);
    expect(dry.body.wouldFail?.code).toBe('AGENT_SEAT_LIMIT_REACHED');
    expect(dry.body.agentSeats.used).toBe(4);
    // The first agent seat is free, each further one $19 a month.
    expect(dry.body.agentSeats.monthlyCost).toBe(57);
    expect(dry.body.monthlyCostBefore).toBe(0);
    const head = await activityHead(owner.account.id);
    const refused = await bulk(owner.token, body);
    expect(refused.status).toBe(409);
    expect((refused.body as unknown as { error: { code: string } }).error.code).toBe('AGENT_SEAT_LIMIT_REACHED');
    expect(await activityHead(owner.account.id)).toBe(head);
    for (const m of members) expect((await member(owner, m.member.id)).agentAccess).toBe(false);
    // Three fit.
    const three = await bulk(owner.token, {
      action: 'agentAccess',
      agentAccess: true,
      ids: members.slice(0, 3).map((m) => m.member.id),
    });
    expect(three.status).toBe(200);
    expect(three.body.changed).toHaveLength(3);
    const off = await preview(owner.token, { action: 'agentAccess', agentAccess: false, filter: { agent: true } });
    expect(off.body.changed).toHaveLength(3);
    expect(off.body.agentSeats.monthlyCost).toBe(0);
    expect(off.body.permissionChanges[0]!.removed.every((key) => key.startsWith('talk.'))).toBe(true);
  });

  it('rolls everything back when a write fails mid-way', async () => {
    const { owner, editors } = await team();
    const victim = editors[2]!.member.id;
    // A database that refuses the change of one member, after the others were written in the same statement set.
    if (app.database === 'postgres') {
      await query(
        app,
        `CREATE OR REPLACE FUNCTION bulk_fail() RETURNS trigger AS $$ BEGIN IF NEW.id = '${victim}' AND NEW.role_id <> OLD.role_id THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
      );
      await query(app, 'CREATE TRIGGER bulk_fail BEFORE UPDATE ON members FOR EACH ROW EXECUTE FUNCTION bulk_fail()');
    } else {
      await query(
        app,
        `CREATE TRIGGER bulk_fail BEFORE UPDATE OF role_id ON members WHEN NEW.id = '${victim}' BEGIN SELECT RAISE(ABORT, 'boom'); END`,
      );
    }
    const head = await activityHead(owner.account.id);
    try {
      const failed = await bulk(owner.token, {
        action: 'role',
        roleId: ROLE.readonly,
        ids: editors.map((e) => e.member.id),
      });
      expect(failed.status).toBeGreaterThanOrEqual(500);
    } finally {
      await query(app, app.database === 'postgres' ? 'DROP TRIGGER bulk_fail ON members' : 'DROP TRIGGER bulk_fail');
    }
    for (const editor of editors) expect((await member(owner, editor.member.id)).role.id).toBe(ROLE.editor);
    expect(await activityHead(owner.account.id)).toBe(head);
  });
});

describe('POST /users/bulk: revoke, teams, invitations', () => {
  it('revokes (owner, billing contact, self, invitations and the already revoked are skipped) and ends the sessions at once', async () => {
    const { owner, editors, reader, invited } = await team();
    const admin = await join(owner, { roleId: ROLE.admin });
    const account = await api.get<{ version: number }>('/account', { token: owner.token });
    expect(
      (
        await api.post(
          '/account/transfer-billing',
          { memberId: reader.member.id },
          { token: owner.token, headers: ifMatch(account.body.version) },
        )
      ).status,
    ).toBe(200);
    const target = editors[0]!;
    const targetSocket = await socket(target.token);
    const revokedEvent = next(targetSocket, 'me.revoked');
    const gone = disconnected(targetSocket, 5000);
    const ids = [owner.member.id, admin.member.id, reader.member.id, invited.id, target.member.id];
    const done = await bulk(admin.token, { action: 'revoke', ids });
    expect(done.status).toBe(200);
    expect(done.body.changed).toEqual([target.member.id]);
    expect(Object.fromEntries(done.body.skipped.map((s) => [s.id, s.reason]))).toEqual({
      [owner.member.id]: 'owner_protected',
      [admin.member.id]: 'self',
      [reader.member.id]: 'billing_contact_protected',
      [invited.id]: 'wrong_status',
    });
    expect((await revokedEvent).reason).toBe('member_revoked');
    await gone;
    expect((await api.get('/me', { token: target.token })).status).toBe(401);
    const again = await preview(admin.token, { action: 'revoke', ids: [target.member.id] });
    expect(again.body.skipped[0]!.reason).toBe('already');
    expect(again.body.seats.used).toBe(6); // 7 seated before, the revoked one freed its seat
  });

  it('adds to and removes from a team, skipping who is already (not) in it', async () => {
    const { owner, editors } = await team();
    const support = await enableTeams(owner, 'Support');
    const ids = editors.map((e) => e.member.id);
    const first = await bulk(owner.token, { action: 'addTeam', teamId: support.id, ids: ids.slice(0, 1) });
    expect(first.body.changed).toEqual(ids.slice(0, 1));
    const all = await bulk(owner.token, { action: 'addTeam', teamId: support.id, ids });
    expect(all.body.changed.sort()).toEqual(ids.slice(1).sort());
    expect(all.body.skipped).toMatchObject([{ id: ids[0], reason: 'already' }]);
    const inTeam = await api.get<MemberPageDto>(`/users?team=${support.id}`, { token: owner.token });
    expect(inTeam.body.total).toBe(3);
    const removed = await bulk(owner.token, { action: 'removeTeam', teamId: support.id, filter: { team: support.id } });
    expect(removed.body.changed.sort()).toEqual([...ids].sort());
    expect((await api.get<MemberPageDto>(`/users?team=${support.id}`, { token: owner.token })).body.total).toBe(0);
    // A team of another account is bad input, as for PATCH /users/:id.
    const other = await createAccount(api, { plan: 'business' });
    const theirs = await enableTeams(other, 'Theirs');
    expect((await bulk(owner.token, { action: 'addTeam', teamId: theirs.id, ids })).status).toBe(400);
  });

  it('resends and cancels invitations only', async () => {
    const { owner, editors, invited } = await team();
    const more = (await invite(api, owner, [uniqueEmail('inv2')], { roleId: ROLE.readonly })).body.items[0]!;
    const ids = [invited.id, more.id, editors[0]!.member.id];
    const resent = await bulk(owner.token, { action: 'resend', ids });
    expect(resent.body.changed.sort()).toEqual([invited.id, more.id].sort());
    expect(resent.body.skipped).toMatchObject([{ id: editors[0]!.member.id, reason: 'wrong_status' }]);
    expect((await member(owner, invited.id)).version).toBe(invited.version + 1);
    const cancelled = await bulk(owner.token, { action: 'cancel', filter: { status: 'invited' } });
    expect(cancelled.body.changed.sort()).toEqual([invited.id, more.id].sort());
    expect((await api.get(`/users/${invited.id}`, { token: owner.token })).status).toBe(404);
    const log = await api.get<{ items: ActivityEntryDto[] }>('/activity?action=invitation.cancelled', {
      token: owner.token,
    });
    expect(log.body.items.filter((e) => e.changes?.['bulkId'] === cancelled.body.bulkId)).toHaveLength(2);
    expect((await api.get<{ ok: boolean }>('/activity/verify', { token: owner.token })).body.ok).toBe(true);
  });
});

describe('POST /users/bulk: bad input and permissions', () => {
  it('answers 400 with the fields named, 403 without users.manage', async () => {
    const { owner, editors } = await team();
    const id = editors[0]!.member.id;
    const cases: [unknown, string][] = [
      [{ action: 'role', roleId: ROLE.readonly }, 'ids'],
      [{ action: 'role', roleId: ROLE.readonly, ids: [id], filter: {} }, 'ids'],
      [{ action: 'role', ids: [id] }, 'roleId'],
      [{ action: 'revoke', ids: [id], roleId: ROLE.admin }, 'roleId'],
      [{ action: 'agentAccess', ids: [id], agentAccess: 'yes' }, 'agentAccess'],
      [{ action: 'explode', ids: [id] }, 'action'],
      [{ action: 'revoke', ids: [] }, 'ids'],
      [{ action: 'revoke', ids: Array.from({ length: 10_001 }, () => id) }, 'ids'],
      [{ action: 'revoke', filter: { agent: 'true' } }, 'filter.agent'],
      [{ action: 'role', roleId: '00000000-0000-4000-8000-00000000dead', ids: [id] }, 'roleId'],
    ];
    for (const [body, field] of cases) {
      const reply = await api.post<{ error: { code: string; details: { fields: Record<string, string[]> } } }>(
        '/users/bulk',
        body,
        { token: owner.token },
      );
      expect(reply.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(reply.body.error.code).toBe('VALIDATION_FAILED');
      expect(Object.keys(reply.body.error.details.fields)).toContain(field);
    }
    expect((await bulk(editors[1]!.token, { action: 'revoke', ids: [id] })).status).toBe(403);
  });
});

describe('POST /users/bulk: live', () => {
  it('sends the account room one users.bulk (not one event per member) and each member its me.permissions; sync replays it', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const admin = await join(owner, { roleId: ROLE.admin, name: 'Ada Admin' });
    const members: Joined[] = [];
    for (let i = 0; i < 6; i++) members.push(await join(owner, { roleId: ROLE.readonly }));
    const watcher = await socket(admin.token);
    const seen = recorder(watcher);
    const memberSockets = await Promise.all(members.map((m) => socket(m.token)));
    const pushes = memberSockets.map((s) => next(s, 'me.permissions', (d) => d.roleId === ROLE.editor));
    const headBefore = await activityHead(owner.account.id);
    const batch = next(watcher, 'users.bulk');
    const done = await bulk(owner.token, { action: 'role', roleId: ROLE.editor, filter: { role: [ROLE.readonly] } });
    expect(done.body.changed).toHaveLength(6);
    const event = await batch;
    expect(event).toMatchObject({
      bulkId: done.body.bulkId,
      action: 'role',
      total: 6,
      role: { id: ROLE.editor, name: 'Editor' },
      actor: { id: owner.member.id, name: 'Olive Owner' },
    });
    expect(event.fromSeq).toBe(headBefore + 1);
    expect(event.seq).toBe(headBefore + 6);
    expect(event.members.map((m) => m.role.id)).toEqual(Array(6).fill(ROLE.editor));
    for (const push of pushes) expect((await push).reason).toBe('role_changed');
    await sleep(200);
    // The six joins' own user.upserted (seq ≤ headBefore) may still be in flight over Redis when the
    // watcher connects; none after the bulk may arrive.
    expect(
      seen.events.filter((e) => e.event === 'user.upserted' && (e.data as { seq: number }).seq > headBefore),
    ).toHaveLength(0);
    expect(seen.events.filter((e) => e.event === 'users.bulk')).toHaveLength(1);

    // A client that missed it gets the same batch back from sync.
    const replay = await watcher.emitWithAck('sync', { afterSeq: headBefore });
    expect(replay.ok).toBe(true);
    if (!replay.ok || 'resync' in replay) throw new Error('expected events');
    expect(replay.events).toHaveLength(1);
    expect(replay.events[0]).toMatchObject({
      event: 'users.bulk',
      data: { bulkId: done.body.bulkId, fromSeq: headBefore + 1, seq: headBefore + 6, total: 6 },
    });
  });
});
