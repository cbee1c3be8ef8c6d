import type { MemberDetailDto, MemberDto, MemberPageDto, MeDto, TeamDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { activityActions } from './support/db.js';
import { createAccount, enrolTotp, ifMatch, invite, inviteAndAccept, PASSWORD, ROLE, uniqueEmail, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

const business = () => createAccount(api, { plan: 'business' });
const join = (owner: SignedUp, input: Parameters<typeof inviteAndAccept>[3] = {}) => inviteAndAccept(api, app.config.dataDir, owner, input);

async function enableTeams(owner: SignedUp, names: string[]): Promise<TeamDto[]> {
  const account = await api.get<{ version: number }>('/account', { token: owner.token });
  expect((await api.patch('/account', { teamsEnabled: true }, { token: owner.token, headers: ifMatch(account.body.version) })).status).toBe(200);
  const teams: TeamDto[] = [];
  for (const name of names) teams.push((await api.post<TeamDto>('/teams', { name }, { token: owner.token })).body);
  return teams;
}

describe('GET /users', () => {
  it('filters by role (repeatable), status, team, agent access and name/email prefix, with total', async () => {
    const owner = await business();
    const [support] = await enableTeams(owner, ['Support']);
    const ed = await join(owner, { email: uniqueEmail('ed'), name: 'Edith Editor', roleId: ROLE.editor, agentAccess: true, teamIds: [support!.id] });
    const ro = await join(owner, { email: uniqueEmail('ro'), name: 'Rory Reader', roleId: ROLE.readonly });
    const invited = (await invite(api, owner, [uniqueEmail('inv')], { roleId: ROLE.readonly })).body.items[0]!;
    const get = (query: string) => api.get<MemberPageDto>(`/users?${query}`, { token: owner.token });
    const ids = (page: MemberPageDto) => page.items.map((m) => m.id).sort();

    expect((await get('')).body.total).toBe(4);
    expect(ids((await get(`role=${ROLE.readonly}`)).body)).toEqual([ro.member.id, invited.id].sort());
    expect(ids((await get(`role=${ROLE.readonly}&role=${ROLE.editor}`)).body)).toEqual([ed.member.id, ro.member.id, invited.id].sort());
    expect(ids((await get('status=invited')).body)).toEqual([invited.id]);
    expect(ids((await get(`team=${support!.id}`)).body)).toEqual([ed.member.id]);
    expect(ids((await get('agent=true')).body)).toEqual([ed.member.id]);
    expect(ids((await get('q=ror')).body)).toEqual([ro.member.id]);
    expect(ids((await get(`q=${encodeURIComponent(ed.email.slice(0, 4).toUpperCase())}`)).body)).toEqual([ed.member.id]);
    const combined = await get(`role=${ROLE.readonly}&status=active`);
    expect(combined.body.total).toBe(1);
    expect(ids(combined.body)).toEqual([ro.member.id]);
    expect((await get('q=%25')).body.total).toBe(0);
    // A team's total is counted from the team's rows (a join), alone and with every other filter.
    const inTeam = (query: string) => get(`team=${support!.id}&${query}`);
    for (const [query, expected] of [
      ['status=active', [ed.member.id]],
      ['status=invited', []],
      [`role=${ROLE.editor}`, [ed.member.id]],
      [`role=${ROLE.readonly}`, []],
      ['agent=true', [ed.member.id]],
      ['agent=false', []],
      ['q=edi', [ed.member.id]],
      [`q=${encodeURIComponent(ed.email.slice(0, 3))}`, [ed.member.id]],
      ['q=ror', []],
    ] as const) {
      const page = (await inTeam(query)).body;
      expect({ query, ids: ids(page), total: page.total }).toEqual({ query, ids: [...expected], total: expected.length });
    }
  });

  it('filters by 2FA (twoFactor=true/false) as the 2FA column shows it; invitations match neither', async () => {
    const owner = await business();
    const withTotp = await join(owner, { email: uniqueEmail('totp'), name: 'Tina Totp' });
    const without = await join(owner, { email: uniqueEmail('nototp'), name: 'Nora None' });
    const invited = (await invite(api, owner, [uniqueEmail('inv')])).body.items[0]!;
    await enrolTotp(api, withTotp.token, app.clock.now());
    const get = (query: string) => api.get<MemberPageDto>(`/users?${query}`, { token: owner.token });
    const on = await get('twoFactor=true');
    expect(on.body.items.map((m) => m.id)).toEqual([withTotp.member.id]);
    expect(on.body.items[0]!.twoFactorEnabled).toBe(true);
    const off = await get('twoFactor=false&sort=name');
    expect(off.body.items.map((m) => m.id)).toEqual([without.member.id, owner.member.id]);
    expect(off.body.total).toBe(2);
    expect(off.body.items.every((m) => m.twoFactorEnabled === false)).toBe(true);
    expect((await get('')).body.items.find((m) => m.id === invited.id)?.twoFactorEnabled).toBeNull();
    expect((await get('twoFactor=maybe')).body).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: { fields: { twoFactor: expect.any(Array) } } } });
  });

  it('totals follow every change at once (they are cached per account activity seq)', async () => {
    const owner = await business();
    const [support] = await enableTeams(owner, ['Support']);
    const ed = await join(owner, { email: uniqueEmail('ed'), name: 'Edith Editor', roleId: ROLE.editor, teamIds: [support!.id] });
    const total = async (query: string) => (await api.get<MemberPageDto>(`/users?${query}`, { token: owner.token })).body.total;
    const memberVersion = async (id: string) => (await api.get<MemberDetailDto>(`/users/${id}`, { token: owner.token })).body.version;
    const shapes = ['', 'status=active', `role=${ROLE.editor}`, `role=${ROLE.readonly}`, `team=${support!.id}`, 'agent=true'];
    const totals = async () => Object.fromEntries(await Promise.all(shapes.map(async (q) => [q, await total(q)] as const)));
    expect(await totals()).toEqual({ '': 2, 'status=active': 2, [`role=${ROLE.editor}`]: 1, [`role=${ROLE.readonly}`]: 0, [`team=${support!.id}`]: 1, 'agent=true': 0 });
    await invite(api, owner, [uniqueEmail('inv')], { roleId: ROLE.readonly });
    const patch = async (body: object) =>
      expect((await api.patch(`/users/${ed.member.id}`, body, { token: owner.token, headers: ifMatch(await memberVersion(ed.member.id)) })).status).toBe(200);
    await patch({ roleId: ROLE.readonly, agentAccess: true, teamIds: [] });
    expect(await totals()).toEqual({ '': 3, 'status=active': 2, [`role=${ROLE.editor}`]: 0, [`role=${ROLE.readonly}`]: 2, [`team=${support!.id}`]: 0, 'agent=true': 1 });
    expect((await api.post(`/users/${ed.member.id}/revoke`, undefined, { token: owner.token, headers: ifMatch(await memberVersion(ed.member.id)) })).status).toBe(200);
    expect(await total('status=active')).toBe(1);
    expect(await total('status=revoked')).toBe(1);
  });

  it('sorts and pages with a keyset cursor, without gaps or repeats', async () => {
    const owner = await createAccount(api, { plan: 'enterprise', name: 'Zed Owner' });
    const emails = Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(2, '0')}.${uniqueEmail()}`);
    expect((await invite(api, owner, emails)).status).toBe(201);
    for (const sort of ['email', '-email', 'name', '-name', 'createdAt', '-lastActiveAt']) {
      const seen: MemberDto[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { body: MemberPageDto } = await api.get<MemberPageDto>(`/users?sort=${sort}&limit=5${cursor ? `&cursor=${cursor}` : ''}`, { token: owner.token });
        expect(page.body.total).toBe(13);
        seen.push(...page.body.items);
        cursor = page.body.nextCursor;
        pages += 1;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(new Set(seen.map((m) => m.id)).size).toBe(13);
      if (sort === 'email') expect(seen.map((m) => m.email)).toEqual([...seen.map((m) => m.email)].sort());
      if (sort === '-email') expect(seen.map((m) => m.email)).toEqual([...seen.map((m) => m.email)].sort().reverse());
    }
  });

  it('refuses a bad sort, limit or cursor with field errors', async () => {
    const owner = await business();
    for (const query of ['sort=password', 'limit=201', 'limit=0', 'cursor=bogus', 'status=deleted', 'role=admin', 'agent=maybe']) {
      const reply = await api.get(`/users?${query}`, { token: owner.token });
      expect(reply.status, query).toBe(400);
      expect(reply.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
  });

  it('takes q literally as a name or email prefix: %, _, \\, accents, astral and the last code point', async () => {
    const owner = await createAccount(api, { plan: 'enterprise', name: 'Olga Owner' });
    const names = ['Al%ce Percent', 'Al_ce Under', 'Alice Plain', 'Back\\slash Name', 'Émile Zola', 'Zz\u{10FFFF} Max', 'Zz Plain', '😀 Smile', 'Ab\u{D7FF}c', 'Ab\u{E000}c', '\u{10FFFF}Edge'];
    const byName = new Map<string, string>();
    for (const name of names) byName.set(name, (await join(owner, { email: uniqueEmail('odd'), name })).member.id);
    const search = async (q: string) => {
      const page = (await api.get<MemberPageDto>(`/users?q=${encodeURIComponent(q)}&sort=createdAt`, { token: owner.token })).body;
      expect(page.total, q).toBe(page.items.length);
      return page.items.map((m) => m.name);
    };

    expect(await search('al%')).toEqual(['Al%ce Percent']);
    expect(await search('al_')).toEqual(['Al_ce Under']);
    expect(await search('AL')).toEqual(['Al%ce Percent', 'Al_ce Under', 'Alice Plain']);
    expect(await search('back\\')).toEqual(['Back\\slash Name']);
    expect(await search('\\')).toEqual([]);
    expect(await search('ÉMILE')).toEqual(['Émile Zola']);
    expect(await search('e')).toEqual([]);
    expect(await search('zz')).toEqual(['Zz\u{10FFFF} Max', 'Zz Plain']);
    expect(await search('zz\u{10FFFF}')).toEqual(['Zz\u{10FFFF} Max']);
    expect(await search('zz\u{10FFFF}\u{10FFFF}')).toEqual([]);
    expect(await search('zz\u{10FFFF} m')).toEqual(['Zz\u{10FFFF} Max']);
    expect(await search('😀')).toEqual(['😀 Smile']);
    expect(await search('\u{10FFFF}')).toEqual(['\u{10FFFF}Edge']);
    expect(await search('ab\u{D7FF}')).toEqual(['Ab\u{D7FF}c']);
    expect(await search('ab\u{E000}')).toEqual(['Ab\u{E000}c']);
    expect(byName.size).toBe(names.length);
  });

  it('counts and pages a prefix that matches names, emails or both once each', async () => {
    const owner = await createAccount(api, { plan: 'enterprise', name: 'Olga Owner' });
    const tag = `q${Date.now().toString(36)}`;
    // name only, email only, both, and an invitation (no name: it sorts and matches by email)
    const nameOnly = await join(owner, { email: uniqueEmail('n'), name: `${tag} Name Only` });
    const emailOnly = await join(owner, { email: `${tag}.mail.${uniqueEmail()}`, name: 'Paula Other' });
    const both = await join(owner, { email: `${tag}.both.${uniqueEmail()}`, name: `${tag} Both` });
    const invited = (await invite(api, owner, [`${tag}.inv.${uniqueEmail()}`])).body.items[0]!;
    await join(owner, { email: uniqueEmail('x'), name: 'Xena Unrelated' });
    const expected = [nameOnly.member.id, emailOnly.member.id, both.member.id, invited.id];

    for (const sort of ['name', '-name', 'email', '-createdAt', 'lastActiveAt']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: MemberPageDto = (
          await api.get<MemberPageDto>(`/users?q=${tag.toUpperCase()}&sort=${sort}&limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: owner.token })
        ).body;
        expect(page.total, sort).toBe(4);
        seen.push(...page.items.map((m) => m.id));
        cursor = page.nextCursor;
      } while (cursor && seen.length < 10);
      expect([...seen].sort(), sort).toEqual([...expected].sort());
    }
    const invitedOnly = (await api.get<MemberPageDto>(`/users?q=${tag}&status=invited`, { token: owner.token })).body;
    expect(invitedOnly.items.map((m) => m.id)).toEqual([invited.id]);
    expect(invitedOnly.total).toBe(1);
  });
});

describe('GET /users/:id', () => {
  it('answers the member JSON of SPEC §5 plus the profile', async () => {
    const owner = await business();
    const member = await join(owner, { name: 'Pat Profile', roleId: ROLE.editor });
    const reply = await api.get<MemberDetailDto>(`/users/${member.member.id}`, { token: owner.token });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('etag')).toBe(`"${reply.body.version}"`);
    expect(Object.keys(reply.body).sort()).toEqual(
      ['id', 'email', 'name', 'avatarUrl', 'status', 'role', 'isOwner', 'isBillingContact', 'agentAccess', 'teams', 'twoFactorEnabled', 'enforcedAuth', 'invitedAt', 'joinedAt', 'lastActiveAt', 'version', 'invitedBy', 'invitationExpiresAt', 'invitationMail'].sort(),
    );
    expect(reply.body).toMatchObject({ name: 'Pat Profile', status: 'active', twoFactorEnabled: false, enforcedAuth: null, invitedBy: { id: owner.member.id, email: owner.email }, invitationMail: null });
  });

  it('does not show members of another account', async () => {
    const owner = await business();
    const other = await business();
    expect((await api.get(`/users/${other.member.id}`, { token: owner.token })).status).toBe(404);
  });
});

describe('PATCH /users/:id', () => {
  it('changes role, agent access and teams, each its own activity entry, and the member feels it on the next call', async () => {
    const owner = await business();
    const [team] = await enableTeams(owner, ['Tier 1']);
    const member = await join(owner, { roleId: ROLE.editor });
    const reply = await api.patch<MemberDto>(`/users/${member.member.id}`, { roleId: ROLE.readonly, agentAccess: true, teamIds: [team!.id] }, { token: owner.token, headers: ifMatch(member.member.version) });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ role: { id: ROLE.readonly }, agentAccess: true, teams: [{ id: team!.id, name: 'Tier 1' }], version: member.member.version + 1 });
    const me = await api.get<MeDto>('/me', { token: member.token });
    expect(me.body.permissions.keys).toContain('talk.view');
    expect(me.body.permissions.keys).not.toContain('people.create');
    const actions = await activityActions(app, owner.account.id);
    expect(actions.slice(-3)).toEqual(['user.role_changed', 'user.agent_access_changed', 'user.teams_changed']);
  });

  it('needs If-Match (428) and refuses a stale one with 412 and the current member', async () => {
    const owner = await business();
    const member = await join(owner);
    const missing = await api.patch(`/users/${member.member.id}`, { agentAccess: true }, { token: owner.token });
    expect(missing.status).toBe(428);
    expect(missing.body).toMatchObject({ error: { code: 'PRECONDITION_REQUIRED' } });
    expect((await api.patch(`/users/${member.member.id}`, { agentAccess: true }, { token: owner.token, headers: ifMatch(member.member.version) })).status).toBe(200);
    const stale = await api.patch(`/users/${member.member.id}`, { agentAccess: false }, { token: owner.token, headers: ifMatch(member.member.version) });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ error: { code: 'VERSION_MISMATCH', details: { current: { id: member.member.id, agentAccess: true, version: member.member.version + 1 } } } });
  });

  it('keeps the owner on Admin (OWNER_PROTECTED)', async () => {
    const owner = await business();
    const reply = await api.patch(`/users/${owner.member.id}`, { roleId: ROLE.editor }, { token: owner.token, headers: ifMatch(owner.member.version) });
    expect(reply.status).toBe(409);
    expect(reply.body).toMatchObject({ error: { code: 'OWNER_PROTECTED' } });
  });

  it('checks agent seats when turning agent access on', async () => {
    const owner = await createAccount(api, { plan: 'starter' }); // 3 agent seats
    const members = [await join(owner), await join(owner), await join(owner), await join(owner)];
    for (const m of members.slice(0, 3)) {
      expect((await api.patch(`/users/${m.member.id}`, { agentAccess: true }, { token: owner.token, headers: ifMatch(m.member.version) })).status).toBe(200);
    }
    const over = await api.patch(`/users/${members[3]!.member.id}`, { agentAccess: true }, { token: owner.token, headers: ifMatch(members[3]!.member.version) });
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ error: { code: 'AGENT_SEAT_LIMIT_REACHED' } });
    const account = await api.get<{ agentSeats: unknown }>('/account', { token: owner.token });
    expect(account.body.agentSeats).toEqual({ limit: 3, used: 3, free: 1, billable: 2, monthlyCost: 38 });
  });

  it('refuses an empty change and unknown fields', async () => {
    const owner = await business();
    const member = await join(owner);
    expect((await api.patch(`/users/${member.member.id}`, {}, { token: owner.token, headers: ifMatch(1) })).status).toBe(400);
    expect((await api.patch(`/users/${member.member.id}`, { status: 'active' }, { token: owner.token, headers: ifMatch(1) })).status).toBe(400);
  });
});

describe('revoke, reactivate, delete', () => {
  it('revoking ends every session of the member at once: the next call answers 401 SESSION_REVOKED', async () => {
    const owner = await business();
    const member = await join(owner);
    const second = await api.post<{ token: string }>('/auth/sign-in', { email: member.email, password: PASSWORD });
    const revoked = await api.post<MemberDto>(`/users/${member.member.id}/revoke`, undefined, { token: owner.token, headers: ifMatch(member.member.version) });
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    for (const token of [member.token, second.body.token]) {
      const reply = await api.get('/me', { token });
      expect(reply.status).toBe(401);
      expect(reply.body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
    }
    const signIn = await api.post('/auth/sign-in', { email: member.email, password: PASSWORD });
    expect(signIn.status).toBe(403);
    const seats = await api.get<{ seats: { used: number } }>('/account', { token: owner.token });
    expect(seats.body.seats.used).toBe(1);
  });

  it('protects the owner, the billing contact and oneself', async () => {
    const owner = await business();
    const admin = await join(owner, { roleId: ROLE.admin });
    const self = await api.post(`/users/${admin.member.id}/revoke`, undefined, { token: admin.token, headers: ifMatch(admin.member.version) });
    expect(self.body).toMatchObject({ error: { code: 'SELF_ACTION_FORBIDDEN' } });
    const ownerReply = await api.post(`/users/${owner.member.id}/revoke`, undefined, { token: admin.token, headers: ifMatch(owner.member.version) });
    expect(ownerReply.body).toMatchObject({ error: { code: 'OWNER_PROTECTED' } });
    const billing = await join(owner);
    const account = await api.get<{ version: number }>('/account', { token: owner.token });
    expect((await api.post('/account/transfer-billing', { memberId: billing.member.id }, { token: owner.token, headers: ifMatch(account.body.version) })).status).toBe(200);
    const current = await api.get<MemberDto>(`/users/${billing.member.id}`, { token: owner.token });
    const billingReply = await api.post(`/users/${billing.member.id}/revoke`, undefined, { token: admin.token, headers: ifMatch(current.body.version) });
    expect(billingReply.status).toBe(409);
    expect(billingReply.body).toMatchObject({ error: { code: 'BILLING_CONTACT_PROTECTED' } });
  });

  it('reactivates with the same role when a seat is free, and refuses when none is', async () => {
    const owner = await createAccount(api); // free: 3 seats
    const member = await join(owner, { roleId: ROLE.readonly });
    const revoked = (await api.post<MemberDto>(`/users/${member.member.id}/revoke`, undefined, { token: owner.token, headers: ifMatch(member.member.version) })).body;
    await invite(api, owner, [uniqueEmail(), uniqueEmail()]);
    const full = await api.post(`/users/${member.member.id}/reactivate`, undefined, { token: owner.token, headers: ifMatch(revoked.version) });
    expect(full.status).toBe(409);
    expect(full.body).toMatchObject({ error: { code: 'SEAT_LIMIT_REACHED' } });
    const page = await api.get<MemberPageDto>('/users?status=invited', { token: owner.token });
    const pending = page.body.items[0]!;
    expect((await api.delete(`/users/${pending.id}`, undefined, { token: owner.token, headers: ifMatch(pending.version) })).status).toBe(204);
    const back = await api.post<MemberDto>(`/users/${member.member.id}/reactivate`, undefined, { token: owner.token, headers: ifMatch(revoked.version) });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ status: 'active', role: { id: ROLE.readonly } });
    expect((await api.post('/auth/sign-in', { email: member.email, password: PASSWORD })).status).toBe(200);
  });

  it('deletes only revoked members permanently; an active one answers 409; activity keeps the email', async () => {
    const owner = await business();
    const member = await join(owner);
    const active = await api.delete(`/users/${member.member.id}`, undefined, { token: owner.token, headers: ifMatch(member.member.version) });
    expect(active.status).toBe(409);
    const revoked = (await api.post<MemberDto>(`/users/${member.member.id}/revoke`, undefined, { token: owner.token, headers: ifMatch(member.member.version) })).body;
    expect((await api.delete(`/users/${member.member.id}`, undefined, { token: owner.token, headers: ifMatch(revoked.version) })).status).toBe(204);
    expect((await api.get(`/users/${member.member.id}`, { token: owner.token })).status).toBe(404);
    const activity = await api.get<{ items: { action: string; target: { label: string } }[] }>(`/activity?member=${member.member.id}`, { token: owner.token });
    expect(activity.body.items[0]).toMatchObject({ action: 'user.deleted', target: { label: member.email } });
  });
});

describe("a member's sessions", () => {
  it('lists and ends them', async () => {
    const owner = await business();
    const member = await join(owner);
    await api.post('/auth/sign-in', { email: member.email, password: PASSWORD });
    const list = await api.get<{ items: unknown[] }>(`/users/${member.member.id}/sessions`, { token: owner.token });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    expect((await api.delete(`/users/${member.member.id}/sessions`, undefined, { token: owner.token })).status).toBe(428);
    expect((await api.delete(`/users/${member.member.id}/sessions`, undefined, { token: owner.token, headers: ifMatch(member.member.version) })).status).toBe(204);
    expect((await api.get('/me', { token: member.token })).body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
    expect((await api.get<{ items: unknown[] }>(`/users/${member.member.id}/sessions`, { token: owner.token })).body.items).toHaveLength(0);
    expect((await activityActions(app, owner.account.id)).at(-1)).toBe('user.sessions_revoked');
  });
});
