import type { AccountDto, ActivityEntryDto, MemberDto, MemberPageDto, PageDto, TeamDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityService } from '../../apps/api/src/database/activity.service.js';
import { startApp, type TestApp } from './support/app.js';
import { activityActions, query } from './support/db.js';
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

const join = (owner: SignedUp, input: Parameters<typeof inviteAndAccept>[3] = {}) =>
  inviteAndAccept(api, app.config.dataDir, owner, input);
const account = async (session: { token: string }) =>
  (await api.get<AccountDto>('/account', { token: session.token })).body;

describe('GET /account', () => {
  it('answers plan, seat and agent-seat usage with the monthly agent cost', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    await invite(api, owner, [uniqueEmail(), uniqueEmail(), uniqueEmail()], { agentAccess: true });
    const reply = await api.get<AccountDto>('/account', { token: owner.token });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('etag')).toBe(`"${reply.body.version}"`);
    expect(reply.body).toMatchObject({
      plan: 'starter',
      seats: { limit: 10, used: 4, invited: 3 },
      agentSeats: { limit: 3, used: 3, free: 1, billable: 2, monthlyCost: 38 },
      ownerId: owner.member.id,
      billingContactId: owner.member.id,
      authEnforcement: 'any',
      teamsEnabled: false,
      validated: false,
    });
  });

  it('shows seat usage as it is after every change, in GET /account and GET /me alike (usage is cached per activity seq)', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const usage = async () => {
      const [viaAccount, viaMe] = await Promise.all([
        account(owner),
        api.get<{ account: AccountDto }>('/me', { token: owner.token }),
      ]);
      expect(viaMe.body.account.seats).toEqual(viaAccount.seats);
      expect(viaMe.body.account.agentSeats).toEqual(viaAccount.agentSeats);
      return { used: viaAccount.seats.used, invited: viaAccount.seats.invited, agents: viaAccount.agentSeats.used };
    };
    expect(await usage()).toEqual({ used: 1, invited: 0, agents: 0 });
    const member = await join(owner);
    expect(await usage()).toEqual({ used: 2, invited: 0, agents: 0 });
    const invited = await invite(api, owner, [uniqueEmail()], { agentAccess: true });
    expect(await usage()).toEqual({ used: 3, invited: 1, agents: 1 });
    const agent = await api.patch<MemberDto>(
      `/users/${member.member.id}`,
      { agentAccess: true },
      { token: owner.token, headers: ifMatch(member.member.version) },
    );
    expect(agent.status).toBe(200);
    expect(await usage()).toEqual({ used: 3, invited: 1, agents: 2 });
    const revoked = await api.post<MemberDto>(`/users/${member.member.id}/revoke`, undefined, {
      token: owner.token,
      headers: ifMatch(agent.body.version),
    });
    expect(revoked.status).toBe(200);
    expect(await usage()).toEqual({ used: 2, invited: 1, agents: 1 });
    const cancelled = await api.delete(`/users/${invited.body.items[0]!.id}`, undefined, {
      token: owner.token,
      headers: ifMatch(invited.body.items[0]!.version),
    });
    expect(cancelled.status).toBe(204);
    expect(await usage()).toEqual({ used: 1, invited: 0, agents: 0 });
    const reactivated = await api.post(`/users/${member.member.id}/reactivate`, undefined, {
      token: owner.token,
      headers: ifMatch(revoked.body.version),
    });
    expect(reactivated.status).toBe(200);
    expect(await usage()).toEqual({ used: 2, invited: 0, agents: 1 });
  });
});

describe('PATCH /account', () => {
  it('renames and turns teams on, with If-Match and an activity entry', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const before = await account(owner);
    const reply = await api.patch<AccountDto>(
      '/account',
      { name: 'Renamed', teamsEnabled: true },
      { token: owner.token, headers: ifMatch(before.version) },
    );
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ name: 'Renamed', teamsEnabled: true, version: before.version + 1 });
    const stale = await api.patch(
      '/account',
      { name: 'Again' },
      { token: owner.token, headers: ifMatch(before.version) },
    );
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ error: { details: { current: { name: 'Renamed' } } } });
    expect((await activityActions(app, owner.account.id)).at(-1)).toBe('account.updated');
  });

  it('refuses features the plan does not have', async () => {
    const owner = await createAccount(api); // free
    const before = await account(owner);
    for (const body of [{ teamsEnabled: true }, { authEnforcement: 'microsoft' }, { authEnforcement: 'okta' }]) {
      const reply = await api.patch('/account', body, { token: owner.token, headers: ifMatch(before.version) });
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ error: { code: 'PLAN_FEATURE_UNAVAILABLE' } });
    }
    expect((await account(owner)).version).toBe(before.version);
  });

  it('is for account.manage holders only', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const editor = await join(owner, { roleId: ROLE.editor });
    expect((await api.get('/account', { token: editor.token })).status).toBe(200);
    const reply = await api.patch('/account', { name: 'x' }, { token: editor.token, headers: ifMatch(1) });
    expect(reply.status).toBe(403);
  });
});

describe('POST /account/plan', () => {
  it('lets only the owner change the plan, and refuses a plan below current usage', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const admin = await join(owner, { roleId: ROLE.admin });
    await invite(api, owner, [uniqueEmail(), uniqueEmail()]);
    const byAdmin = await api.post(
      '/account/plan',
      { plan: 'business' },
      { token: admin.token, headers: ifMatch((await account(owner)).version) },
    );
    expect(byAdmin.status).toBe(403);
    const down = await api.post(
      '/account/plan',
      { plan: 'free' },
      { token: owner.token, headers: ifMatch((await account(owner)).version) },
    );
    expect(down.status).toBe(409);
    expect(down.body).toMatchObject({ error: { code: 'SEAT_LIMIT_REACHED', details: { limit: 3, used: 4 } } });
    const up = await api.post<AccountDto>(
      '/account/plan',
      { plan: 'business' },
      { token: owner.token, headers: ifMatch((await account(owner)).version) },
    );
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ plan: 'business', seats: { limit: 50 } });
    expect((await activityActions(app, owner.account.id)).at(-1)).toBe('account.plan_changed');
  });
});

describe('POST /account/validation', () => {
  it('takes the owner’s phone in E.164 and marks the account validated', async () => {
    const owner = await createAccount(api);
    const admin = await join(owner, { roleId: ROLE.admin });
    const bad = await api.post(
      '/account/validation',
      { phone: '555-1234' },
      { token: owner.token, headers: ifMatch((await account(owner)).version) },
    );
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { details: { fields: { phone: expect.any(Array) } } } });
    const notOwner = await api.post(
      '/account/validation',
      { phone: '+14155550123' },
      { token: admin.token, headers: ifMatch((await account(owner)).version) },
    );
    expect(notOwner.status).toBe(403);
    const ok = await api.post<AccountDto>(
      '/account/validation',
      { phone: '+1 (415) 555-0123' },
      { token: owner.token, headers: ifMatch((await account(owner)).version) },
    );
    expect(ok.status).toBe(200);
    expect(ok.body.validated).toBe(true);
    const rows = await query<{ validated_phone: string }>(app, 'SELECT validated_phone FROM accounts WHERE id = ?', [
      owner.account.id,
    ]);
    expect(rows[0]!.validated_phone).toBe('+14155550123');
  });
});

describe('transfers', () => {
  it('transfers ownership to an active member who becomes Admin; the old owner stays Admin', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const editor = await join(owner, { roleId: ROLE.editor });
    const reply = await api.post<AccountDto>(
      '/account/transfer-ownership',
      { memberId: editor.member.id },
      { token: owner.token, headers: ifMatch((await account(owner)).version) },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.ownerId).toBe(editor.member.id);
    const newOwner = await api.get<MemberDto>(`/users/${editor.member.id}`, { token: owner.token });
    expect(newOwner.body).toMatchObject({ isOwner: true, role: { id: ROLE.admin } });
    const oldOwner = await api.get<MemberDto>(`/users/${owner.member.id}`, { token: editor.token });
    expect(oldOwner.body).toMatchObject({ isOwner: false, role: { id: ROLE.admin } });
    const me = await api.get<{ permissions: { keys: string[] } }>('/me', { token: editor.token });
    expect(me.body.permissions.keys).toContain('users.manage');
    const again = await api.post(
      '/account/transfer-ownership',
      { memberId: editor.member.id },
      { token: owner.token, headers: ifMatch(reply.body.version) },
    );
    expect(again.status).toBe(403);
  });

  it('answers a refused caller 403 even with a stale If-Match, never a 412 showing the account', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const reader = await join(owner, { roleId: ROLE.readonly });
    const admin = await join(owner, { roleId: ROLE.admin });
    const billing = await api.post(
      '/account/transfer-billing',
      { memberId: reader.member.id },
      { token: reader.token, headers: ifMatch(999) },
    );
    expect(billing.status).toBe(403);
    expect(JSON.stringify(billing.body)).not.toContain(owner.member.id);
    for (const [path, body] of [
      ['/account/plan', { plan: 'business' }],
      ['/account/transfer-ownership', { memberId: admin.member.id }],
      ['/account/validation', { phone: '+14155550123' }],
    ] as const) {
      const reply = await api.post(path, body, { token: admin.token, headers: ifMatch(999) });
      expect(reply.status, path).toBe(403);
    }
  });

  it('refuses ownership for an invited or revoked member and for oneself', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const pending = (await invite(api, owner, [uniqueEmail()])).body.items[0]!;
    const toInvited = await api.post(
      '/account/transfer-ownership',
      { memberId: pending.id },
      { token: owner.token, headers: ifMatch((await account(owner)).version) },
    );
    expect(toInvited.status).toBe(400);
    const toSelf = await api.post(
      '/account/transfer-ownership',
      { memberId: owner.member.id },
      { token: owner.token, headers: ifMatch((await account(owner)).version) },
    );
    expect(toSelf.body).toMatchObject({ error: { code: 'SELF_ACTION_FORBIDDEN' } });
    const stranger = await createAccount(api);
    const toStranger = await api.post(
      '/account/transfer-ownership',
      { memberId: stranger.member.id },
      { token: owner.token, headers: ifMatch((await account(owner)).version) },
    );
    expect(toStranger.status).toBe(404);
  });

  it('transfers billing by the owner or by an Admin billing contact, never by a non-Admin one', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const editor = await join(owner, { roleId: ROLE.editor });
    const admin = await join(owner, { roleId: ROLE.admin });
    const toEditor = await api.post<AccountDto>(
      '/account/transfer-billing',
      { memberId: editor.member.id },
      { token: owner.token, headers: ifMatch((await account(owner)).version) },
    );
    expect(toEditor.status).toBe(200);
    expect(toEditor.body.billingContactId).toBe(editor.member.id);
    const editorKeys = (await api.get<{ permissions: { keys: string[] } }>('/me', { token: editor.token })).body
      .permissions.keys;
    expect(editorKeys).toContain('billing.view');
    const ownerKeys = (await api.get<{ permissions: { keys: string[] } }>('/me', { token: owner.token })).body
      .permissions.keys;
    expect(ownerKeys).toContain('billing.view'); // Admin role has it anyway

    const byEditor = await api.post(
      '/account/transfer-billing',
      { memberId: admin.member.id },
      { token: editor.token, headers: ifMatch(toEditor.body.version) },
    );
    expect(byEditor.status).toBe(403);
    const byOwner = await api.post<AccountDto>(
      '/account/transfer-billing',
      { memberId: admin.member.id },
      { token: owner.token, headers: ifMatch(toEditor.body.version) },
    );
    expect(byOwner.status).toBe(200);
    expect(
      (await api.get<{ permissions: { keys: string[] } }>('/me', { token: editor.token })).body.permissions.keys,
    ).not.toContain('billing.view');
    const byAdminBilling = await api.post<AccountDto>(
      '/account/transfer-billing',
      { memberId: editor.member.id },
      { token: admin.token, headers: ifMatch(byOwner.body.version) },
    );
    expect(byAdminBilling.status).toBe(200);
    expect(byAdminBilling.body.billingContactId).toBe(editor.member.id);
  });
});

describe('Talk teams', () => {
  it('exist only when the plan has them and they are turned on, up to the plan limit', async () => {
    const free = await createAccount(api);
    expect((await api.post('/teams', { name: 'A' }, { token: free.token })).body).toMatchObject({
      error: { code: 'PLAN_FEATURE_UNAVAILABLE' },
    });
    const owner = await createAccount(api, { plan: 'starter' });
    expect((await api.post('/teams', { name: 'A' }, { token: owner.token })).status).toBe(409);
    await api.patch(
      '/account',
      { teamsEnabled: true },
      { token: owner.token, headers: ifMatch((await account(owner)).version) },
    );
    expect((await api.post('/teams', { name: 'Team 0' }, { token: owner.token })).status).toBe(201);
    const duplicate = await api.post('/teams', { name: ' team 0 ' }, { token: owner.token });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body).toMatchObject({
      error: { details: { fields: { name: ['A team with this name already exists'] } } },
    });
    for (let i = 1; i < 5; i += 1)
      expect((await api.post('/teams', { name: `Team ${i}` }, { token: owner.token })).status).toBe(201);
    const sixth = await api.post('/teams', { name: 'Team 6' }, { token: owner.token });
    expect(sixth.status).toBe(403);
    expect(sixth.body).toMatchObject({ error: { code: 'PLAN_FEATURE_UNAVAILABLE', details: { limit: 5 } } });
  });

  it('renames with If-Match and deletes, removing the team from its members', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    await api.patch(
      '/account',
      { teamsEnabled: true },
      { token: owner.token, headers: ifMatch((await account(owner)).version) },
    );
    const team = (await api.post<TeamDto>('/teams', { name: 'Night shift' }, { token: owner.token })).body;
    const member = await join(owner, { teamIds: [team.id] });
    expect(member.member.teams).toEqual([{ id: team.id, name: 'Night shift' }]);
    const renamed = await api.patch<TeamDto>(
      `/teams/${team.id}`,
      { name: 'Late shift' },
      { token: owner.token, headers: ifMatch(team.version) },
    );
    expect(renamed.body).toMatchObject({ name: 'Late shift', memberCount: 1, version: 2 });
    expect(
      (await api.patch(`/teams/${team.id}`, { name: 'x' }, { token: owner.token, headers: ifMatch(team.version) }))
        .status,
    ).toBe(412);
    expect(
      (await api.delete(`/teams/${team.id}`, undefined, { token: owner.token, headers: ifMatch(renamed.body.version) }))
        .status,
    ).toBe(204);
    expect((await api.get<MemberDto>(`/users/${member.member.id}`, { token: owner.token })).body.teams).toEqual([]);
    expect((await activityActions(app, owner.account.id)).filter((a) => a.startsWith('team.'))).toEqual([
      'team.created',
      'team.updated',
      'team.deleted',
    ]);
  });
});

describe('activity log', () => {
  it('lists newest first with filters and a cursor', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const member = await join(owner);
    await api.patch(
      `/users/${member.member.id}`,
      { roleId: ROLE.readonly },
      { token: owner.token, headers: ifMatch(member.member.version) },
    );
    const all = await api.get<PageDto<ActivityEntryDto>>('/activity?limit=2', { token: owner.token });
    expect(all.body.items.map((e) => e.seq)).toEqual([4, 3]);
    const rest = await api.get<PageDto<ActivityEntryDto>>(`/activity?limit=2&cursor=${all.body.nextCursor}`, {
      token: owner.token,
    });
    expect(rest.body.items.map((e) => e.seq)).toEqual([2, 1]);
    expect(rest.body.nextCursor).toBeNull();
    const byMember = await api.get<PageDto<ActivityEntryDto>>(`/activity?member=${member.member.id}`, {
      token: owner.token,
    });
    expect(byMember.body.items.map((e) => e.action)).toEqual([
      'user.role_changed',
      'invitation.accepted',
      'user.invited',
    ]);
    const byActor = await api.get<PageDto<ActivityEntryDto>>(`/activity?actor=${member.member.id}`, {
      token: owner.token,
    });
    expect(byActor.body.items.map((e) => e.action)).toEqual(['invitation.accepted']);
    const byAction = await api.get<PageDto<ActivityEntryDto>>('/activity?action=user.invited&action=account.created', {
      token: owner.token,
    });
    expect(byAction.body.items.map((e) => e.action)).toEqual(['user.invited', 'account.created']);
    const future = await api.get<PageDto<ActivityEntryDto>>(
      `/activity?from=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`,
      { token: owner.token },
    );
    expect(future.body.items).toEqual([]);
    expect(byMember.body.items[0]).toMatchObject({
      actor: { memberId: owner.member.id, email: owner.email },
      target: { type: 'member', id: member.member.id, label: member.email },
      changes: { roleId: { before: ROLE.editor, after: ROLE.readonly } },
    });
  });

  it('writes no entry for a failed mutation', async () => {
    const owner = await createAccount(api);
    const before = await activityActions(app, owner.account.id);
    await invite(api, owner, [uniqueEmail(), uniqueEmail(), uniqueEmail()]); // over the seat limit
    await api.post('/account/plan', { plan: 'enterprise' }, { token: owner.token, headers: ifMatch(999) }); // stale
    expect(await activityActions(app, owner.account.id)).toEqual(before);
  });

  it('rolls the mutation back when its entry cannot be written', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const activity = app.app.get(ActivityService);
    const original = activity.append.bind(activity);
    activity.append = async () => {
      throw new Error('disk full');
    };
    try {
      const reply = await invite(api, owner, [uniqueEmail()]);
      expect(reply.status).toBe(500);
    } finally {
      activity.append = original;
    }
    expect((await api.get<MemberPageDto>('/users', { token: owner.token })).body.total).toBe(1);
  });

  it('verifies the hash chain and finds the first tampered entry', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    await invite(api, owner, [uniqueEmail(), uniqueEmail()]);
    const ok = await api.get('/activity/verify', { token: owner.token });
    expect(ok.body).toEqual({ ok: true, checked: 3, firstBadSeq: null });
    await query(app, 'UPDATE activity SET target_label = ? WHERE account_id = ? AND seq = 2', [
      'someone-else@example.com',
      owner.account.id,
    ]);
    const bad = await api.get('/activity/verify', { token: owner.token });
    expect(bad.body).toEqual({ ok: false, checked: 1, firstBadSeq: 2 });
  });

  it('is for activity.view holders only and never shows another account', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const editor = await join(owner, { roleId: ROLE.editor });
    expect((await api.get('/activity', { token: editor.token })).status).toBe(403);
    const other = await createAccount(api);
    const page = await api.get<PageDto<ActivityEntryDto>>('/activity', { token: other.token });
    expect(page.body.items.map((e) => e.action)).toEqual(['account.created']);
  });
});
