/**
 * SCIM 2.0 provisioning (issue 16 §2) over real HTTP, as Okta and Microsoft Entra send it: the token
 * on the Account page, user lookup by filter, create, PATCH `active` (deprovisioning ends the member's
 * sessions live, reason `deprovisioned`), Entra's capitalised ops and string booleans, group push onto
 * roles, paging, discovery, SCIM's error format, owner and seat rules, tenant isolation.
 */
import type { ActivityEntryDto, MeDto, MemberDetailDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, inviteAndAccept, PASSWORD, ROLE, uniqueEmail, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { disconnected, next, open, recorder, sleep, type TestSocket } from './support/live.js';
import { Browser, ssoOverrides, ssoSignIn, startTestIdp, type TestIdp } from './support/oidc.js';

const OKTA_UA = 'Okta SCIM Client 1.0.0';
const ENTRA_UA = 'Microsoft.AAD.Provisioning/1.0';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

let app: TestApp;
let api: Client;
let idp: TestIdp;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  idp = await startTestIdp();
  app = await startApp({ overrides: ssoOverrides(idp), rateLimits: { signInPerIp: 100_000, signInPerEmail: 100_000, acceptancePerIp: 100_000 } });
  api = client(app.url);
});
afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await app?.close();
  await idp?.close();
});

interface ScimReply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** A SCIM client with the account's bearer token, sending `application/scim+json` like Okta and Entra. */
function scim(token: string, userAgent = OKTA_UA) {
  return async <T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ScimReply<T>> => {
    const response = await fetch(`${app.url}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'user-agent': userAgent, ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T, headers: response.headers };
  };
}

async function scimAccount(plan = 'enterprise'): Promise<{ owner: SignedUp; token: string; baseUrl: string }> {
  const owner = await createAccount(api, { plan });
  const made = await api.post<{ token: string; baseUrl: string }>('/account/scim-token', undefined, { token: owner.token });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  return { owner, token: made.body.token, baseUrl: made.body.baseUrl };
}

const newUser = (email: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER_SCHEMA],
  userName: email,
  name: { givenName: 'Pat', familyName: 'Provisioned' },
  emails: [{ primary: true, value: email, type: 'work' }],
  displayName: 'Pat Provisioned',
  active: true,
  ...extra,
});

async function newestActivity(owner: SignedUp, action: string): Promise<ActivityEntryDto> {
  const reply = await api.get<{ items: ActivityEntryDto[] }>(`/activity?action=${action}&limit=1`, { token: owner.token });
  return reply.body.items[0]!;
}

describe('the SCIM token', () => {
  it('is made by account.manage, shown once, stored hashed; a new one replaces the old; DELETE turns SCIM off', async () => {
    const { owner, token, baseUrl } = await scimAccount();
    expect(token).toMatch(/^scim_[\w-]{40,}$/);
    expect(baseUrl).toMatch(/\/scim\/v2$/);
    const status = await api.get<{ enabled: boolean; lastUsedAt: string | null }>('/account/scim-token', { token: owner.token });
    expect(status.body).toMatchObject({ enabled: true, lastUsedAt: null });
    expect(JSON.stringify(status.body)).not.toContain(token);
    expect((await scim(token)('GET', '/Users')).status).toBe(200);
    expect((await api.get<{ lastUsedAt: string | null }>('/account/scim-token', { token: owner.token })).body.lastUsedAt).toEqual(expect.any(String));

    const second = await api.post<{ token: string }>('/account/scim-token', undefined, { token: owner.token });
    expect((await scim(token)('GET', '/Users')).status).toBe(401);
    expect((await scim(second.body.token)('GET', '/Users')).status).toBe(200);
    expect((await api.delete('/account/scim-token', undefined, { token: owner.token })).status).toBe(204);
    const off = await scim(second.body.token)('GET', '/Users');
    expect(off.status).toBe(401);
    expect(off.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '401' });
    expect(off.headers.get('content-type')).toContain('application/scim+json');
    expect((await api.get<{ enabled: boolean }>('/account/scim-token', { token: owner.token })).body.enabled).toBe(false);
  });

  it('is refused to a member without account.manage, and a session token is no SCIM token', async () => {
    const { owner } = await scimAccount();
    const editor = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    expect((await api.post('/account/scim-token', undefined, { token: editor.token })).status).toBe(403);
    expect((await scim(owner.token)('GET', '/Users')).status).toBe(401);
  });
});

describe("Okta's provisioning flow", () => {
  it('looks the user up by userName, creates them, finds them again, deactivates and reactivates them', async () => {
    const { owner, token } = await scimAccount();
    const okta = scim(token);
    const email = uniqueEmail('okta-user');
    const lookup = await okta('GET', `/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}&startIndex=1&count=100`);
    expect(lookup.status).toBe(200);
    expect(lookup.headers.get('content-type')).toContain('application/scim+json');
    expect(lookup.body).toMatchObject({ totalResults: 0, Resources: [] });

    const created = await okta<{ id: string; active: boolean; userName: string; meta: { version: string; location: string } }>('POST', '/Users', newUser(email, { externalId: '00u1okta' }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ userName: email, active: true, externalId: '00u1okta', meta: { resourceType: 'User' } });
    expect(created.headers.get('etag')).toBe(created.body.meta.version);
    expect(created.headers.get('location')).toBe(created.body.meta.location);
    // A member of the account now, waiting for their first sign-in through the provider; no invitation mail.
    const member = await api.get<MemberDetailDto>(`/users/${created.body.id}`, { token: owner.token });
    expect(member.body).toMatchObject({ email, status: 'invited', role: { id: ROLE.readonly } });
    expect(member.body.invitationMail).toBeNull();
    const provisioned = await newestActivity(owner, 'user.provisioned');
    expect(provisioned.actor).toMatchObject({ memberId: null, kind: 'scim', name: 'SCIM (Okta)' });

    const again = await okta<{ totalResults: number; Resources: { id: string }[] }>('GET', `/Users?filter=${encodeURIComponent(`userName eq "${email.toUpperCase()}"`)}`);
    expect(again.body.totalResults).toBe(1);
    expect(again.body.Resources[0]!.id).toBe(created.body.id);
    expect((await okta('POST', '/Users', newUser(email))).body).toMatchObject({ status: '409', scimType: 'uniqueness' });

    const off = await okta<{ active: boolean }>('PATCH', `/Users/${created.body.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', value: { active: false } }] });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body.active).toBe(false);
    const on = await okta<{ active: boolean }>('PATCH', `/Users/${created.body.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', value: { active: true } }] });
    expect(on.body.active).toBe(true);
    expect((await api.get<MemberDetailDto>(`/users/${created.body.id}`, { token: owner.token })).body.status).toBe('invited');
    const verify = await api.get<{ ok: boolean }>('/activity/verify', { token: owner.token });
    expect(verify.body.ok).toBe(true);
  });

  it('a provisioned member signs in through the provider without an invitation, and cannot once deprovisioned', async () => {
    const { owner, token } = await scimAccount();
    const email = uniqueEmail('okta-signin');
    const created = await scim(token)<{ id: string }>('POST', '/Users', newUser(email));
    idp.addUser(email, { name: 'Pat Provisioned' });
    const first = await ssoSignIn(app, new Browser(app), { provider: 'google', accountId: owner.account.id, email });
    expect(first.error).toBeNull();
    const me = await api.get<MeDto>('/me', { token: first.sessionToken! });
    expect(me.body.member).toMatchObject({ id: created.body.id, status: 'active', name: 'Pat Provisioned' });
    expect((await scim(token)<{ active: boolean }>('GET', `/Users/${created.body.id}`)).body.active).toBe(true);
    await scim(token)('PATCH', `/Users/${created.body.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'active', value: false }] });
    expect((await api.get('/me', { token: first.sessionToken! })).status).toBe(401);
    const again = await ssoSignIn(app, new Browser(app), { provider: 'google', accountId: owner.account.id, email });
    expect(again.error).not.toBeNull();
    expect(again.sessionToken).toBeNull();
  });

  it('deprovisioning a signed-in member ends their sessions at once: me.revoked `deprovisioned`, socket closed, next request 401', async () => {
    const { owner, token } = await scimAccount();
    const mia = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    const socket = await open(app.url, mia.token);
    sockets.push(socket);
    const revoked = next(socket, 'me.revoked');
    const closed = disconnected(socket);
    const started = performance.now();
    const reply = await scim(token)('PATCH', `/Users/${mia.member.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'active', value: false }] });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(await revoked).toEqual({ reason: 'deprovisioned' });
    await closed;
    expect(performance.now() - started).toBeLessThan(1000);
    expect((await api.get<MeDto>('/me', { token: mia.token })).status).toBe(401);
    const entry = await newestActivity(owner, 'user.revoked');
    expect(entry).toMatchObject({ actor: { kind: 'scim', name: 'SCIM (Okta)' }, target: { id: mia.member.id }, changes: { sessionsEnded: 1 } });
  });

  it('pushes groups onto roles: add assigns the role, remove falls back to Read only, the owner stays Admin', async () => {
    const { owner, token } = await scimAccount();
    const okta = scim(token);
    const mia = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.readonly });
    const socket = await open(app.url, mia.token);
    sockets.push(socket);
    const groups = await okta<{ totalResults: number; Resources: { id: string; displayName: string }[] }>('GET', `/Groups?filter=${encodeURIComponent('displayName eq "Editor"')}&excludedAttributes=members`);
    expect(groups.body.totalResults).toBe(1);
    const editorGroup = groups.body.Resources[0]!;
    expect(editorGroup).toEqual(expect.objectContaining({ id: ROLE.editor, displayName: 'Editor' }));
    expect(editorGroup).not.toHaveProperty('members');

    const permissions = next(socket, 'me.permissions');
    const added = await okta<{ members: { value: string }[] }>('PATCH', `/Groups/${ROLE.editor}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'add', path: 'members', value: [{ value: mia.member.id, display: mia.email }] }] });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body.members.map((m) => m.value)).toContain(mia.member.id);
    await permissions;
    expect((await api.get<MemberDetailDto>(`/users/${mia.member.id}`, { token: owner.token })).body.role.id).toBe(ROLE.editor);

    const removed = await okta('PATCH', `/Groups/${ROLE.editor}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'remove', path: `members[value eq "${mia.member.id}"]` }] });
    expect(removed.status).toBe(200);
    expect((await api.get<MemberDetailDto>(`/users/${mia.member.id}`, { token: owner.token })).body.role.id).toBe(ROLE.readonly);

    const ownerOut = await okta('PATCH', `/Groups/${ROLE.admin}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'remove', path: `members[value eq "${owner.member.id}"]` }] });
    expect(ownerOut.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '400', scimType: 'mutability' });
    expect((await okta('POST', '/Groups', { displayName: 'New' })).status).toBe(501);
  });
});

describe('a group push, live', () => {
  it('replacing a group moves each member once: their sessions get the new set, dashboards each member as committed', async () => {
    const { owner, token } = await scimAccount();
    const okta = scim(token);
    const [ann, ben, cat] = [
      await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.readonly }),
      await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.readonly }),
      await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor }),
    ];
    const dashboard = await open(app.url, owner.token);
    const own = await Promise.all([ann, ben, cat].map((m) => open(app.url, m!.token)));
    sockets.push(dashboard, ...own);
    const upserts = recorder(dashboard);
    const sets = own.map((socket) => recorder(socket));
    const reply = await okta<{ members: { value: string }[] }>('PATCH', `/Groups/${ROLE.editor}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: 'replace', path: 'members', value: [{ value: ann!.member.id }, { value: ben!.member.id }] }],
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.members.map((m) => m.value).sort()).toEqual([ann!.member.id, ben!.member.id].sort());
    const entries = (
      await api.get<{ items: ActivityEntryDto[] }>('/activity?action=user.role_changed&limit=10', {
        token: owner.token,
      })
    ).body.items;
    const seqOf = (id: string) => entries.find((entry) => entry.target.id === id)!.seq;
    const expected = [
      [ann!.member.id, ROLE.editor],
      [ben!.member.id, ROLE.editor],
      [cat!.member.id, ROLE.readonly],
    ] as const;
    const changedSet = (e: { event: string; data: unknown }) =>
      e.event === 'me.permissions' && (e.data as { reason: string }).reason !== 'connected';
    await vi.waitFor(() => expect(sets.every((log) => log.events.some(changedSet))).toBe(true));
    await sleep(300);
    for (const [index, [id, roleId]] of expected.entries()) {
      const pushed = upserts.events
        .filter((e) => e.event === 'user.upserted')
        .map((e) => e.data as { seq: number; member: MemberDetailDto })
        .filter((d) => d.member.id === id);
      expect(pushed.map((d) => [d.seq, d.member.role.id])).toEqual([[seqOf(id), roleId]]);
      const current = (await api.get<MemberDetailDto>(`/users/${id}`, { token: owner.token })).body;
      expect(pushed[0]!.member.version).toBe(current.version);
      const permissions = sets[index]!.events.filter(changedSet);
      expect(permissions.map((e) => (e.data as { reason: string; roleId: string }).reason)).toEqual(['role_changed']);
      expect((permissions[0]!.data as { roleId: string }).roleId).toBe(roleId);
    }
  });
});

describe("Microsoft Entra's quirks", () => {
  it('filters by externalId, sends capitalised ops and "False"/"True" strings, and is named in the activity', async () => {
    const { owner, token } = await scimAccount();
    const entra = scim(token, ENTRA_UA);
    const email = uniqueEmail('entra-user');
    const created = await entra<{ id: string }>('POST', '/Users', newUser(email, { externalId: 'entra-object-1' }));
    expect(created.status).toBe(201);
    const byExternal = await entra<{ totalResults: number }>('GET', `/Users?filter=${encodeURIComponent('externalId eq "entra-object-1"')}`);
    expect(byExternal.body.totalResults).toBe(1);
    const byEmail = await entra<{ totalResults: number }>('GET', `/Users?filter=${encodeURIComponent(`emails[type eq "work"].value eq "${email}"`)}`);
    expect(byEmail.body.totalResults).toBe(1);

    const off = await entra<{ active: boolean }>('PATCH', `/Users/${created.body.id}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'Add', path: 'externalId', value: 'entra-object-2' },
      ],
    });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body).toMatchObject({ active: false, externalId: 'entra-object-2' });
    expect((await newestActivity(owner, 'user.revoked')).actor).toMatchObject({ kind: 'scim', name: 'SCIM (Entra)' });
    const on = await entra<{ active: boolean }>('PATCH', `/Users/${created.body.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] });
    expect(on.body.active).toBe(true);
  });
});

describe('rules, errors and isolation', () => {
  it('refuses to deprovision or delete the owner (400 mutability) and answers a full plan with 409 tooMany', async () => {
    const { owner, token } = await scimAccount('free');
    const okta = scim(token);
    const off = await okta('PATCH', `/Users/${owner.member.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'active', value: false }] });
    expect(off.body).toMatchObject({ status: '400', scimType: 'mutability' });
    expect(String(off.body['detail'])).toContain('transfer ownership');
    expect((await okta('DELETE', `/Users/${owner.member.id}`)).status).toBe(400);
    expect((await api.get<MeDto>('/me', { token: owner.token })).status).toBe(200);
    // The Free plan has 3 seats: the owner and two more.
    for (const n of [1, 2]) expect((await okta('POST', '/Users', newUser(uniqueEmail(`seat${n}`)))).status).toBe(201);
    const full = await okta('POST', '/Users', newUser(uniqueEmail('seat3')));
    expect(full.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '409', scimType: 'tooMany' });
  });

  it('pages with startIndex and count, and answers bad filters, bodies and ids in SCIM’s format', async () => {
    const { token } = await scimAccount();
    const okta = scim(token);
    for (const n of [1, 2, 3]) await okta('POST', '/Users', newUser(uniqueEmail(`page${n}`)));
    const page = await okta<{ totalResults: number; startIndex: number; itemsPerPage: number }>('GET', '/Users?startIndex=2&count=2');
    expect(page.body).toMatchObject({ totalResults: 4, startIndex: 2, itemsPerPage: 2 });
    expect((await okta('GET', `/Users?filter=${encodeURIComponent('title co "x"')}`)).body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    expect((await okta('GET', `/Users?filter=${encodeURIComponent('userName eq')}`)).body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    expect((await okta('POST', '/Users', { userName: 'not-an-email' })).body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    expect((await okta('PATCH', '/Users/00000000-0000-4000-8000-00000000abcd', { Operations: [{ op: 'replace', value: { active: false } }] })).status).toBe(404);
    expect((await okta('GET', '/Users/nope')).body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' });
    const created = await okta<{ id: string }>('POST', '/Users', newUser(uniqueEmail('etag')));
    expect((await okta('PATCH', `/Users/${created.body.id}`, { Operations: [{ op: 'fly' }] })).body).toMatchObject({ status: '400', scimType: 'invalidSyntax' });
    expect((await okta('PUT', `/Users/${created.body.id}`, newUser(uniqueEmail('other')))).body).toMatchObject({ status: '400', scimType: 'mutability' });
    expect((await okta('PATCH', `/Users/${created.body.id}`, { Operations: [{ op: 'replace', value: { active: false } }] }, { 'if-match': 'W/"99"' })).status).toBe(412);
  });

  it('refuses a token guesser per IP (429 in SCIM format, Retry-After); the right token from elsewhere keeps working', async () => {
    const { token } = await scimAccount();
    const guesser = `${token.slice(0, -4)}AAAA`;
    const answers: number[] = [];
    for (let i = 0; i < 22; i++) answers.push((await scim(guesser)('GET', '/Users', undefined, { 'x-forwarded-for': '198.51.100.7' })).status);
    expect(answers.slice(0, 20).every((status) => status === 401)).toBe(true);
    expect(answers.slice(20)).toEqual([429, 429]);
    const refused = await scim(token)('GET', '/Users', undefined, { 'x-forwarded-for': '198.51.100.7' });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '429' });
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await scim(token)('GET', '/Users', undefined, { 'x-forwarded-for': '198.51.100.8' })).status).toBe(200);
  });

  it('serves the discovery documents', async () => {
    const { token } = await scimAccount();
    const okta = scim(token);
    expect((await okta('GET', '/ServiceProviderConfig')).body).toMatchObject({ patch: { supported: true }, filter: { supported: true }, etag: { supported: true }, bulk: { supported: false } });
    expect((await okta<{ Resources: { id: string }[] }>('GET', '/ResourceTypes')).body.Resources.map((r) => r.id)).toEqual(['User', 'Group']);
    expect((await okta<{ totalResults: number }>('GET', '/Schemas')).body.totalResults).toBe(2);
  });

  it("keeps each token to its own account: another account's members are not found", async () => {
    const a = await scimAccount();
    const b = await scimAccount();
    const theirs = await scim(b.token)<{ id: string }>('POST', '/Users', newUser(uniqueEmail('theirs')));
    const okta = scim(a.token);
    expect((await okta('GET', `/Users/${theirs.body.id}`)).status).toBe(404);
    expect((await okta('PATCH', `/Users/${theirs.body.id}`, { Operations: [{ op: 'replace', value: { active: false } }] })).status).toBe(404);
    expect((await okta('DELETE', `/Users/${theirs.body.id}`)).status).toBe(404);
    expect((await okta('GET', `/Users/${b.owner.member.id}`)).status).toBe(404);
    expect((await okta<{ totalResults: number }>('GET', `/Users?filter=${encodeURIComponent(`userName eq "${b.owner.email}"`)}`)).body.totalResults).toBe(0);
  });

  it('DELETE removes the membership and ends its sessions', async () => {
    const { owner, token } = await scimAccount();
    const mia = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    expect((await scim(token)('DELETE', `/Users/${mia.member.id}`)).status).toBe(204);
    expect((await api.get(`/users/${mia.member.id}`, { token: owner.token })).status).toBe(404);
    expect((await api.get('/me', { token: mia.token })).status).toBe(401);
  });
});

describe('more of what Okta and Entra send', () => {
  it("Entra's attribute paths: name.givenName, displayName, emails[type eq \"work\"].value (same address only), If-Match honoured", async () => {
    const { token } = await scimAccount();
    const entra = scim(token, ENTRA_UA);
    // Entra's "Test connection" looks up a userName that is no email.
    const probe = await entra('GET', `/Users?filter=${encodeURIComponent('userName eq "non-existent user 5d4f"')}`);
    expect(probe.body).toMatchObject({ totalResults: 0, Resources: [] });
    const email = uniqueEmail('entra-paths');
    const created = await entra<{ id: string; meta: { version: string } }>('POST', '/Users', newUser(email));
    const patched = await entra<{ name: { givenName: string; familyName: string }; displayName: string; emails: { value: string }[]; meta: { version: string } }>(
      'PATCH',
      `/Users/${created.body.id}`,
      {
        schemas: [PATCH_SCHEMA],
        Operations: [
          { op: 'Replace', path: 'name.givenName', value: 'Patricia' },
          { op: 'Add', path: 'emails[type eq "work"].value', value: email },
        ],
      },
      { 'if-match': created.body.meta.version },
    );
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.displayName).toBe('Patricia Provisioned');
    expect(patched.body.emails[0]!.value).toBe(email);
    expect(patched.body.meta.version).not.toBe(created.body.meta.version);
    expect(patched.headers.get('etag')).toBe(patched.body.meta.version);
    // The old version is stale now.
    const stale = await entra('PATCH', `/Users/${created.body.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'Replace', path: 'displayName', value: 'X' }] }, { 'if-match': created.body.meta.version });
    expect(stale.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '412', scimType: 'invalidVers' });
    const moved = await entra('PATCH', `/Users/${created.body.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'Replace', path: 'emails[type eq "work"].value', value: uniqueEmail('elsewhere') }] });
    expect(moved.body).toMatchObject({ status: '400', scimType: 'mutability' });
  });

  it('reactivating on a full plan answers 409 tooMany naming the seats; freeing a seat lets it through', async () => {
    const { owner, token } = await scimAccount('free');
    const okta = scim(token);
    const first = await okta<{ id: string }>('POST', '/Users', newUser(uniqueEmail('seat-a')));
    await okta('PATCH', `/Users/${first.body.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', value: { active: false } }] });
    const others: string[] = [];
    for (const n of [1, 2]) {
      const other = await okta<{ id: string }>('POST', '/Users', newUser(uniqueEmail(`seat-b${n}`)));
      expect(other.status).toBe(201);
      others.push(other.body.id);
    }
    const back = await okta('PATCH', `/Users/${first.body.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', value: { active: true } }] });
    expect(back.status).toBe(409);
    expect(back.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '409', scimType: 'tooMany' });
    expect(String(back.body['detail'])).toMatch(/seat/i);
    expect((await api.get<MemberDetailDto>(`/users/${first.body.id}`, { token: owner.token })).body.status).toBe('revoked');
    await okta('PATCH', `/Users/${others[0]}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', value: { active: false } }] });
    expect((await okta('PATCH', `/Users/${first.body.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', value: { active: true } }] })).status).toBe(200);
  });

  it("Okta's group push by PUT makes the holders exactly the list sent", async () => {
    const { owner, token } = await scimAccount();
    const okta = scim(token);
    const a = await okta<{ id: string }>('POST', '/Users', newUser(uniqueEmail('push-a')));
    const b = await okta<{ id: string }>('POST', '/Users', newUser(uniqueEmail('push-b')));
    const put = await okta<{ members: { value: string }[] }>('PUT', `/Groups/${ROLE.editor}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Editor', members: [{ value: a.body.id }, { value: b.body.id }] });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.members.map((m) => m.value).sort()).toEqual([a.body.id, b.body.id].sort());
    const again = await okta<{ members: { value: string }[] }>('PUT', `/Groups/${ROLE.editor}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Editor', members: [{ value: b.body.id }] });
    expect(again.body.members.map((m) => m.value)).toEqual([b.body.id]);
    expect((await api.get<MemberDetailDto>(`/users/${a.body.id}`, { token: owner.token })).body.role.id).toBe(ROLE.readonly);
    expect((await api.get<MemberDetailDto>(`/users/${b.body.id}`, { token: owner.token })).body.role.id).toBe(ROLE.editor);
  });

  it("cannot take over an existing person: their name, password and other account stay theirs", async () => {
    const victim = await createAccount(api, { plan: 'business', accountName: 'Victim Inc', name: 'Vera Victim' });
    const { owner, token } = await scimAccount();
    const okta = scim(token);
    const created = await okta<{ id: string; displayName: string; active: boolean }>('POST', '/Users', newUser(victim.email, { name: { givenName: 'Mallory', familyName: 'M' }, displayName: 'Mallory M', password: 'attacker-chosen-password' }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain('attacker-chosen-password');
    expect(created.body.displayName).toBe('Vera Victim');
    // Renaming a person who exists changes nothing of theirs.
    await okta('PATCH', `/Users/${created.body.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'displayName', value: 'Mallory M' }] });
    expect((await api.get<MeDto>('/me', { token: victim.token })).body.person.name).toBe('Vera Victim');
    // Their own password, not the one sent, still signs them in to their own account; the attacker's does not.
    expect((await api.post('/auth/sign-in', { email: victim.email, password: 'attacker-chosen-password' })).status).toBe(401);
    const signedIn = await api.post<MeDto & { account: { id: string } }>('/auth/sign-in', { email: victim.email, password: PASSWORD, accountId: victim.account.id });
    expect(signedIn.status).toBe(200);
    // The provisioned membership waits for a sign-in through this account's provider; its sessions are not theirs.
    expect((await api.get<MemberDetailDto>(`/users/${created.body.id}`, { token: owner.token })).body.status).toBe('invited');
    // Deprovisioning it leaves the person's own account and sessions alone.
    await okta('PATCH', `/Users/${created.body.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', value: { active: false } }] });
    expect((await api.get<MeDto>('/me', { token: victim.token })).status).toBe(200);
    expect((await okta('GET', `/Users/${victim.member.id}`)).status).toBe(404);
  });
});
