import { Live, RolecallClient } from '@rolecall/client';
import type { AccountEvent } from '@rolecall/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, ifMatch, inviteAndAccept, ROLE } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { sleep } from './support/live.js';

let app: TestApp;
let api: Client;
const clients: RolecallClient[] = [];

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterEach(() => clients.splice(0).forEach((c) => c.live.disconnect()));
afterAll(() => app.close());

const sdk = (token: string) => {
  const c = new RolecallClient({ baseUrl: app.url, token, transports: ['websocket'] });
  clients.push(c);
  return c;
};
const until = async (condition: () => boolean, ms = 3000) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
};

describe('libs/client', () => {
  it('can() and the permission stream follow a role change at once', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const member = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    const rc = sdk(member.token);
    await rc.connect();
    expect(rc.can('campaigns.publish')).toBe(true);
    const seen: number[] = [];
    rc.live.subscribePermissions((state) => seen.push(state.version));
    await api.patch(`/users/${member.member.id}`, { roleId: ROLE.readonly }, { token: owner.token, headers: ifMatch(member.member.version) });
    await until(() => !rc.can('campaigns.publish'));
    expect(rc.can('campaigns.view')).toBe(true);
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBeGreaterThan(seen[0]!);
  });

  it('a change made while the connection was down is applied on reconnect, even when no REST request gets through', async () => {
    // Issue 18's node-loss run left sessions with an old permission set: after a reconnect the SDK
    // read `GET /me` and ignored a failure. (Seen failing with that SDK given a REST base URL on a
    // closed port.) Now the server starts every connection with the set, and `Live` makes no REST
    // request at all: only the socket reaches the server.
    const owner = await createAccount(api, { plan: 'business' });
    const member = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    const me = await api.get<Parameters<Live['connect']>[0] & object>('/me', { token: member.token });
    const live = new Live({ baseUrl: app.url, token: member.token, transports: ['websocket'] });
    clients.push({ live } as RolecallClient);
    await live.connect(me.body);
    expect(live.can('campaigns.publish')).toBe(true);
    const before = live.currentPermissions.version;
    // The connection drops (no DISCONNECT packet: to the client a lost connection, so it reconnects)…
    const reconnected = new Promise<void>((resolve) => live.socket.io.once('reconnect', () => resolve()));
    live.socket.io.engine.close();
    // …and the member's role changes before it is back.
    const changed = await api.patch(`/users/${member.member.id}`, { roleId: ROLE.readonly }, { token: owner.token, headers: ifMatch(member.member.version) });
    expect(changed.status).toBe(200);
    await reconnected;
    await until(() => !live.can('campaigns.publish'));
    expect(live.can('campaigns.view')).toBe(true);
    expect(live.currentPermissions.version).toBeGreaterThan(before);
    expect(live.currentPermissions.roleId).toBe(ROLE.readonly);
  });

  it('detects a gap in seq and replays the missed events in order before the new one', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const rc = sdk(owner.token);
    await rc.connect();
    const received: AccountEvent[] = [];
    rc.live.onAccountEvent((event) => received.push(event));
    rc.live.socket.disconnect();
    await api.post('/users/invitations', { emails: ['gap1@example.com', 'gap2@example.com'], roleId: ROLE.readonly }, { token: owner.token });
    rc.live.socket.connect();
    await until(() => rc.live.socket.connected);
    await api.post('/roles', { name: 'After the gap', description: '', icon: 'bolt', permissions: [] }, { token: owner.token });
    await until(() => received.length >= 3);
    expect(received.map((e) => e.event)).toEqual(['user.upserted', 'user.upserted', 'role.upserted']);
    const seqs = received.map((e) => e.data.seq);
    expect(seqs).toEqual([seqs[0]!, seqs[0]! + 1, seqs[0]! + 2]);
  });

  it('delivers every event of one change, even when they share a seq (a transfer: the account and both members)', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const member = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    const rc = sdk(owner.token);
    await rc.connect();
    const received: AccountEvent[] = [];
    rc.live.onAccountEvent((event) => received.push(event));
    const account = await api.get<{ version: number }>('/account', { token: owner.token });
    await api.post('/account/transfer-billing', { memberId: member.member.id }, { token: owner.token, headers: ifMatch(account.body.version) });
    await until(() => received.length >= 3);
    await sleep(100);
    expect(received.map((e) => e.event).sort()).toEqual(['account.updated', 'user.upserted', 'user.upserted']);
    expect(new Set(received.map((e) => e.data.seq)).size).toBe(1);
  });

  it('asks for a reload when too far behind', async () => {
    const owner = await createAccount(api, { plan: 'enterprise' });
    const rc = sdk(owner.token);
    await rc.connect();
    let resynced = 0;
    rc.live.onResync(() => (resynced += 1));
    rc.live.socket.disconnect();
    const emails = Array.from({ length: 50 }, (_, i) => `far${i}@example.com`);
    for (let i = 0; i < 11; i += 1) await api.post('/users/invitations', { emails: emails.map((e) => `${i}.${e}`), roleId: ROLE.readonly }, { token: owner.token });
    rc.live.socket.connect();
    await until(() => rc.live.socket.connected);
    await api.post('/roles', { name: 'Far', description: '', icon: 'bolt', permissions: [] }, { token: owner.token });
    await until(() => resynced === 1);
  });
});
