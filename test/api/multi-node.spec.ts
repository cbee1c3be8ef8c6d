import type { MeDto, MemberDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, ifMatch, inviteAndAccept, PASSWORD, ROLE, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { connect, connected, disconnected, next, open, type TestSocket } from './support/live.js';
import { sharedDatabase, startNode, type ApiNode } from './support/nodes.js';

/**
 * Two API processes on one PostgreSQL database and one Redis: sessions on node A, the admin on
 * node B. Needs DATABASE_URL and REDIS_URL (`.ci/run` sets both); skipped, and says so, without.
 */
const databaseUrl = process.env['DATABASE_URL'];
const redisUrl = process.env['REDIS_URL'];
const ready = Boolean(databaseUrl && redisUrl);
if (!ready) console.log('[multi-node] skipped: set DATABASE_URL and REDIS_URL to run two API nodes on PostgreSQL + Redis');

describe.skipIf(!ready)('two nodes on PostgreSQL + Redis', () => {
  let nodeA: ApiNode;
  let nodeB: ApiNode;
  let drop: () => Promise<void>;
  let a: Client;
  let b: Client;
  let owner: SignedUp;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    const db = await sharedDatabase(databaseUrl!);
    drop = db.drop;
    // Its own Redis prefix: rate-limit counters and channels of other runs never mix in.
    const env = { DATABASE_URL: db.url, REDIS_URL: redisUrl!, REDIS_PREFIX: `rolecall-test-${Date.now()}` };
    nodeA = await startNode(env); // runs the migrations
    nodeB = await startNode(env);
    a = client(nodeA.url);
    b = client(nodeB.url);
    owner = await createAccount(b, { plan: 'business' });
  }, 90_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
    await drop?.();
  });

  const onA = async (token: string) => {
    const socket = await open(nodeA.url, token);
    sockets.push(socket);
    return socket;
  };

  it('reports Redis in the health check of both nodes', async () => {
    for (const api of [a, b]) expect((await api.get('/health')).body).toEqual({ status: 'ok', db: 'ok', redis: 'ok' });
  });

  it('pushes a role change made on node B to sessions on node A, and node A enforces it on the next request', async () => {
    const member = await inviteAndAccept(b, nodeB.dataDir, owner, { roleId: ROLE.editor });
    const second = (await a.post<{ token: string }>('/auth/sign-in', { email: member.email, password: PASSWORD })).body.token;
    const sockets = [await onA(member.token), await onA(second)];
    expect((await a.get<MeDto>('/me', { token: second })).body.permissions.keys).toContain('people.create');
    const pushes = sockets.map((s) => next(s, 'me.permissions'));
    const reply = await b.patch<MemberDto>(`/users/${member.member.id}`, { roleId: ROLE.readonly }, { token: owner.token, headers: ifMatch(member.member.version) });
    expect(reply.status).toBe(200);
    const me = await a.get<MeDto>('/me', { token: second });
    expect(me.body.permissions.keys).not.toContain('people.create');
    for (const push of await Promise.all(pushes)) expect(push).toMatchObject({ roleId: ROLE.readonly, keys: me.body.permissions.keys });
  });

  it('delivers account events from node B to an admin dashboard on node A', async () => {
    const dashboard = await onA(owner.token);
    const seen = next(dashboard, 'user.upserted', (d) => d.member.email === 'cross.node@example.com');
    expect((await b.post('/users/invitations', { emails: ['cross.node@example.com'], roleId: ROLE.readonly }, { token: owner.token })).status).toBe(201);
    expect((await seen).member.status).toBe('invited');
  });

  it('revokes on node B: sockets on node A get me.revoked and are disconnected; node A answers 401', async () => {
    const member = await inviteAndAccept(b, nodeB.dataDir, owner);
    const socket = await onA(member.token);
    const revoked = next(socket, 'me.revoked');
    const gone = disconnected(socket);
    await b.post(`/users/${member.member.id}/revoke`, undefined, { token: owner.token, headers: ifMatch(member.member.version) });
    expect(await revoked).toEqual({ reason: 'member_revoked' });
    await gone;
    expect((await a.get('/me', { token: member.token })).body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
    await expect(connected(connect(nodeA.url, member.token))).rejects.toThrow('SESSION_REVOKED');
  });

  it('shows presence across nodes', async () => {
    const admin = await inviteAndAccept(b, nodeB.dataDir, owner, { roleId: ROLE.admin, name: 'Bea on B' });
    const target = await inviteAndAccept(b, nodeB.dataDir, owner);
    const resource = `member:${target.member.id}` as const;
    const onNodeA = await onA(owner.token);
    const onNodeB = await open(nodeB.url, admin.token);
    sockets.push(onNodeB);
    await onNodeA.emitWithAck('presence.enter', { resource, editing: false });
    const seen = next(onNodeA, 'presence', (d) => d.viewers.length === 2);
    const ack = await onNodeB.emitWithAck('presence.enter', { resource, editing: true });
    expect(ack).toMatchObject({ ok: true });
    expect((await seen).viewers).toEqual(expect.arrayContaining([{ memberId: admin.member.id, name: 'Bea on B', editing: true }]));
  });
});
