import type { AccountDto, MemberDetailDto, MeDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { activityActions } from './support/db.js';
import { createAccount, ifMatch, inviteAndAccept, PASSWORD, ROLE, type SignedUp } from './support/factories.js';
import { client, isErrorShape, type Client, type Reply } from './support/http.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

const business = () => createAccount(api, { plan: 'business' });
const join = (owner: SignedUp, roleId: string) => inviteAndAccept(api, app.config.dataDir, owner, { roleId });
const memberVersion = async (token: string, id: string) => (await api.get<MemberDetailDto>(`/users/${id}`, { token })).body.version;
const listSessions = (token: string, id: string) => api.get<{ items: { id: string }[] }>(`/users/${id}/sessions`, { token });
const endSessions = async (token: string, id: string) => api.delete(`/users/${id}/sessions`, undefined, { token, headers: ifMatch(await memberVersion(token, id)) });

function expectOwnerProtected(reply: Reply): void {
  expect(reply.status).toBe(409);
  expect(isErrorShape(reply.body)).toBe(true);
  expect(reply.body).toMatchObject({ error: { code: 'OWNER_PROTECTED' } });
}

describe("the owner's sessions", () => {
  it('refuses an Admin who is not the owner to list or end them, however often they try', async () => {
    const owner = await business();
    const admin = await join(owner, ROLE.admin);
    const ownerId = owner.member.id;

    expectOwnerProtected(await listSessions(admin.token, ownerId));
    for (let attempt = 0; attempt < 2; attempt++) expectOwnerProtected(await endSessions(admin.token, ownerId));

    const me = await api.get<MeDto>('/me', { token: owner.token });
    expect(me.status).toBe(200);
    expect(me.body.member.id).toBe(ownerId);
    expect((await listSessions(owner.token, ownerId)).body.items).toHaveLength(1);
    expect(await activityActions(app, owner.account.id)).not.toContain('user.sessions_revoked');
  });

  it('lets the owner list and end their own', async () => {
    const owner = await business();
    await api.post('/auth/sign-in', { email: owner.email, password: PASSWORD });
    const list = await listSessions(owner.token, owner.member.id);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    expect((await endSessions(owner.token, owner.member.id)).status).toBe(204);
    expect((await api.get('/me', { token: owner.token })).body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
    expect((await activityActions(app, owner.account.id)).at(-1)).toBe('user.sessions_revoked');
  });

  it("still lets an Admin list and end another member's sessions, another Admin's included", async () => {
    const owner = await business();
    const admin = await join(owner, ROLE.admin);
    const editor = await join(owner, ROLE.editor);
    const otherAdmin = await join(owner, ROLE.admin);
    for (const target of [editor, otherAdmin]) {
      expect((await listSessions(admin.token, target.member.id)).body.items).toHaveLength(1);
      expect((await endSessions(admin.token, target.member.id)).status).toBe(204);
      expect((await api.get('/me', { token: target.token })).body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
    }
    expect((await activityActions(app, owner.account.id)).filter((action) => action === 'user.sessions_revoked')).toHaveLength(2);
  });

  it('follows the ownership: after a transfer the new owner is protected and the former one is not', async () => {
    const owner = await business();
    const admin = await join(owner, ROLE.admin);
    const account = await api.get<AccountDto>('/account', { token: owner.token });
    const transfer = await api.post('/account/transfer-ownership', { memberId: admin.member.id }, { token: owner.token, headers: ifMatch(account.body.version) });
    expect(transfer.status).toBe(200);

    expectOwnerProtected(await listSessions(owner.token, admin.member.id));
    expectOwnerProtected(await endSessions(owner.token, admin.member.id));
    expect((await endSessions(admin.token, owner.member.id)).status).toBe(204);
    expect((await api.get('/me', { token: owner.token })).body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
    expect((await api.get('/me', { token: admin.token })).status).toBe(200);
  });
});
