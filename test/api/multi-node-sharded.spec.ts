import type { MeDto, MemberDto } from '@rolecall/contracts';
import { createClient } from 'redis';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, ifMatch, inviteAndAccept, PASSWORD, ROLE, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { connected, next, open, sleep, type TestSocket } from './support/live.js';
import { sharedDatabase, startNode, type ApiNode } from './support/nodes.js';
import { guardedEnv } from './support/process-guard.js';

/**
 * Two API nodes with REDIS_ADAPTER=sharded (SPUBLISH/SSUBSCRIBE, dynamic room channels): a role
 * change, presence (`fetchSockets` across nodes) and a session's socket cap across nodes. The whole
 * multi-node.spec also passes with REDIS_ADAPTER=sharded in the environment. Needs DATABASE_URL and REDIS_URL.
 */
const databaseUrl = process.env['DATABASE_URL'];
const redisUrl = process.env['REDIS_URL'];
const ready = Boolean(databaseUrl && redisUrl);
if (!ready) console.log('[multi-node-sharded] skipped: set DATABASE_URL and REDIS_URL to run two API nodes on PostgreSQL + Redis');

describe.skipIf(!ready)('two nodes with the sharded Redis adapter', () => {
  let nodeA: ApiNode;
  let nodeB: ApiNode;
  let drop: () => Promise<void>;
  let a: Client;
  let b: Client;
  let owner: SignedUp;
  let prefix: string;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    const db = await sharedDatabase(databaseUrl!);
    drop = db.drop;
    prefix = `rolecall-sharded-${Date.now()}`;
    const env = { DATABASE_URL: db.url, REDIS_URL: redisUrl!, REDIS_PREFIX: prefix, REDIS_ADAPTER: 'sharded' };
    nodeA = await startNode(guardedEnv(env)); // runs the migrations
    nodeB = await startNode(guardedEnv(env));
    a = client(nodeA.url);
    b = client(nodeB.url);
    owner = await createAccount(b, { plan: 'business' });
  }, 90_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
    await drop?.();
  });

  // Either node's outbox sweep may send a mail the other queued (test/api/support/outbox.ts).
  const mailDirs = () => [nodeA.dataDir, nodeB.dataDir];
  const onA = async (token: string) => {
    const socket = await open(nodeA.url, token);
    sockets.push(socket);
    return socket;
  };

  it('both nodes listen on the sharded namespace channel (SSUBSCRIBE), not the classic one', async () => {
    const redis = createClient({ url: redisUrl! });
    await redis.connect();
    try {
      expect(await redis.sendCommand(['PUBSUB', 'SHARDNUMSUB', `${prefix}#/#`])).toEqual([`${prefix}#/#`, 2]);
      expect(await redis.sendCommand(['PUBSUB', 'NUMSUB', `${prefix}#/#`])).toEqual([`${prefix}#/#`, 0]);
    } finally {
      await redis.close();
    }
  });

  it('pushes a role change made on node B to the member\'s sessions on node A (me.permissions)', async () => {
    const member = await inviteAndAccept(b, mailDirs(), owner, { roleId: ROLE.editor });
    const second = (await a.post<{ token: string }>('/auth/sign-in', { email: member.email, password: PASSWORD })).body.token;
    const onNodeA = [await onA(member.token), await onA(second)];
    const pushes = onNodeA.map((s) => next(s, 'me.permissions', (d) => d.roleId === ROLE.readonly));
    const reply = await b.patch<MemberDto>(`/users/${member.member.id}`, { roleId: ROLE.readonly }, { token: owner.token, headers: ifMatch(member.member.version) });
    expect(reply.status).toBe(200);
    const me = await a.get<MeDto>('/me', { token: second });
    expect(me.body.permissions.keys).not.toContain('people.create');
    for (const push of await Promise.all(pushes)) expect(push).toMatchObject({ roleId: ROLE.readonly, keys: me.body.permissions.keys });
  });

  it('gathers presence from both nodes (fetchSockets through the sharded adapter)', async () => {
    const admin = await inviteAndAccept(b, mailDirs(), owner, { roleId: ROLE.admin, name: 'Bea on B' });
    const target = await inviteAndAccept(b, mailDirs(), owner);
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

  it("holds a session's socket cap across both nodes", async () => {
    const CAP = 20; // config.liveLimits.socketsPerSession, the nodes' default
    let ip = 0;
    const from = (url: string, token: string) => {
      ip += 1;
      const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token }, extraHeaders: { 'x-forwarded-for': `198.19.${Math.floor(ip / 250)}.${ip % 250}` } }) as TestSocket;
      sockets.push(socket);
      return connected(socket);
    };
    const token = (await b.post<{ token: string }>('/auth/sign-in', { email: owner.email, password: PASSWORD })).body.token;
    const tries = await Promise.allSettled(Array.from({ length: 2 * CAP }, (_, i) => from(i % 2 ? nodeA.url : nodeB.url, token)));
    expect(tries.filter((t) => t.status === 'fulfilled')).toHaveLength(CAP);
    (tries.find((t) => t.status === 'fulfilled') as PromiseFulfilledResult<TestSocket>).value.disconnect();
    await sleep(200);
    await expect(from(nodeA.url, token)).resolves.toBeTruthy();
    await expect(from(nodeB.url, token)).rejects.toThrow('RATE_LIMITED');
  });
});
