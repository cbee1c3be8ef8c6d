import { RolecallClient } from '@rolecall/client';
import type { AccountEvent, MeDto, MemberDto, RoleDto } from '@rolecall/contracts';
import { createClient } from 'redis';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, ifMatch, inviteAndAccept, PASSWORD, ROLE, type Joined, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { connect, connected, disconnected, next, open, sleep, type TestSocket } from './support/live.js';
import { sharedDatabase, startNode, type ApiNode } from './support/nodes.js';
import { assertNodeSound, guardedEnv } from './support/process-guard.js';
import { hostPort, startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

/**
 * Two API processes on one PostgreSQL database and one Redis: sessions on node A, the admin on
 * node B. Each node reaches Redis through its own TCP proxy, which the outage tests cut. Needs
 * DATABASE_URL and REDIS_URL (`.ci/run` sets both); skipped, and says so, without.
 */
const databaseUrl = process.env['DATABASE_URL'];
const redisUrl = process.env['REDIS_URL'];
const ready = Boolean(databaseUrl && redisUrl);
if (!ready) console.log('[multi-node] skipped: set DATABASE_URL and REDIS_URL to run two API nodes on PostgreSQL + Redis');

describe.skipIf(!ready)('two nodes on PostgreSQL + Redis', () => {
  let nodeA: ApiNode;
  let nodeB: ApiNode;
  let drop: () => Promise<void>;
  let redisA: TcpProxy;
  let redisB: TcpProxy;
  let a: Client;
  let b: Client;
  let owner: SignedUp;
  const sockets: TestSocket[] = [];
  const watchers: Watcher[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    const db = await sharedDatabase(databaseUrl!);
    drop = db.drop;
    // Its own Redis prefix: rate-limit counters and channels of other runs never mix in.
    env = { DATABASE_URL: db.url, REDIS_PREFIX: `rolecall-test-${Date.now()}` };
    redisA = await startTcpProxy(hostPort(redisUrl!, 6379));
    redisB = await startTcpProxy(hostPort(redisUrl!, 6379));
    nodeA = await startNode(guardedEnv({ ...env, REDIS_URL: redisA.url(redisUrl!) })); // runs the migrations
    nodeB = await startNode(guardedEnv({ ...env, REDIS_URL: redisB.url(redisUrl!) }));
    a = client(nodeA.url);
    b = client(nodeB.url);
    owner = await createAccount(b, { plan: 'business' });
  }, 90_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    for (const watcher of watchers) watcher.rc.live.disconnect();
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
    await Promise.all([redisA?.close(), redisB?.close()]);
    await drop?.();
  });

  // Either node's outbox sweep may send a mail the other queued (test/api/support/outbox.ts).
  const mailDirs = () => [nodeA.dataDir, nodeB.dataDir];
  const onA = async (token: string) => {
    const socket = await open(nodeA.url, token);
    sockets.push(socket);
    return socket;
  };

  it('reports Redis in the health check of both nodes', async () => {
    for (const api of [a, b]) expect((await api.get('/health')).body).toEqual({ status: 'ok', db: 'ok', redis: 'ok', storage: 'ok' });
  });

  it('pushes a role change made on node B to sessions on node A, and node A enforces it on the next request', async () => {
    const member = await inviteAndAccept(b, mailDirs(), owner, { roleId: ROLE.editor });
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
    const member = await inviteAndAccept(b, mailDirs(), owner);
    const socket = await onA(member.token);
    const revoked = next(socket, 'me.revoked');
    const gone = disconnected(socket);
    await b.post(`/users/${member.member.id}/revoke`, undefined, { token: owner.token, headers: ifMatch(member.member.version) });
    expect(await revoked).toEqual({ reason: 'member_revoked' });
    await gone;
    expect((await a.get('/me', { token: member.token })).body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
    await expect(connected(connect(nodeA.url, member.token))).rejects.toThrow('SESSION_REVOKED');
  });

  it('a bulk role change on node B: one users.bulk to a dashboard on node A, me.permissions to each member there, node A enforces it', async () => {
    const members = [await inviteAndAccept(b, mailDirs(), owner, { roleId: ROLE.editor }), await inviteAndAccept(b, mailDirs(), owner, { roleId: ROLE.editor })];
    const dashboard = await onA(owner.token);
    const memberSockets = await Promise.all(members.map((m) => onA(m.token)));
    const pushes = memberSockets.map((s) => next(s, 'me.permissions', (d) => d.roleId === ROLE.readonly));
    const batch = next(dashboard, 'users.bulk');
    const reply = await b.post<{ bulkId: string; changed: string[] }>('/users/bulk', { action: 'role', roleId: ROLE.readonly, ids: members.map((m) => m.member.id) }, { token: owner.token });
    expect(reply.status).toBe(200);
    const event = await batch;
    expect(event).toMatchObject({ bulkId: reply.body.bulkId, total: 2, action: 'role' });
    expect(event.members.map((m) => m.role.id)).toEqual([ROLE.readonly, ROLE.readonly]);
    for (const push of await Promise.all(pushes)) expect(push.keys).not.toContain('people.create');
    expect((await a.get<MeDto>('/me', { token: members[0]!.token })).body.permissions.keys).not.toContain('people.create');
  });

  it('a role edit on node B: each holder on node A gets its own version; holders at one version share one adapter message', async () => {
    const role = (await b.post<RoleDto>('/roles', { name: `Grouped ${Date.now()}`, description: 'Four holders', icon: 'headset', permissions: ['users.view'] }, { token: owner.token })).body;
    const holders: Joined[] = [];
    for (let i = 0; i < 4; i++) holders.push(await inviteAndAccept(b, mailDirs(), owner, { roleId: role.id }));
    // The fourth moves away and back: its permission set is the others', its version two ahead.
    let moved = holders[3]!.member;
    for (const roleId of [ROLE.readonly, role.id])
      moved = (await b.patch<MemberDto>(`/users/${moved.id}`, { roleId }, { token: owner.token, headers: ifMatch(moved.version) })).body;
    const holderSockets = await Promise.all(holders.map((h) => onA(h.token)));
    // Every broadcast the nodes publish through Redis (classic adapter: `<prefix>#/#…`).
    const redis = createClient({ url: redisUrl! });
    await redis.connect();
    const published: Buffer[] = [];
    await redis.pSubscribe(`${env['REDIS_PREFIX']}#/#*`, (message: Buffer) => published.push(message), true);
    try {
      const pushes = holderSockets.map((s) => next(s, 'me.permissions', (d) => d.reason === 'role_edited'));
      const reply = await b.patch<RoleDto>(`/roles/${role.id}`, { permissions: ['users.view', 'roles.view'] }, { token: owner.token, headers: ifMatch(role.version) });
      expect(reply.status).toBe(200);
      const received = await Promise.all(pushes);
      for (const [i, push] of received.entries()) {
        const me = (await a.get<MeDto>('/me', { token: holders[i]!.token })).body;
        expect(push).toMatchObject({ version: me.permissions.version, roleId: role.id, keys: me.permissions.keys });
        expect(push.keys).toContain('roles.view');
      }
      expect(new Set(received.map((push) => push.version)).size).toBe(2);
      await sleep(200);
      // Two distinct messages (three holders at one version, one ahead): two publishes, not four.
      // Only this edit's (`role_edited`): the set-up's role changes push too, and on a loaded CI
      // machine their publishes can still be under way when the subscription starts.
      expect(
        published.filter((message) => message.includes('me.permissions') && message.includes('role_edited')).length,
      ).toBe(2);
    } finally {
      await redis.quit();
    }
  });

  it('shows presence across nodes', async () => {
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
  describe("a session's socket cap across nodes", () => {
    let ip = 0;
    /** A socket from an address of its own (the nodes trust the loopback hop), so the per-IP budget never interferes. */
    const from = (url: string, token: string) => {
      ip += 1;
      const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token }, extraHeaders: { 'x-forwarded-for': `198.18.${Math.floor(ip / 250)}.${ip % 250}` } }) as TestSocket;
      sockets.push(socket);
      return connected(socket);
    };
    const signIn = async () => (await b.post<{ token: string }>('/auth/sign-in', { email: owner.email, password: PASSWORD })).body.token;
    const CAP = 20; // config.liveLimits.socketsPerSession, the nodes' default

    it('holds exactly at the cap when a session opens sockets on both nodes at the same instant', async () => {
      const token = await signIn();
      const tries = await Promise.allSettled(Array.from({ length: 2 * CAP }, (_, i) => from(i % 2 ? nodeA.url : nodeB.url, token)));
      expect(tries.filter((t) => t.status === 'fulfilled')).toHaveLength(CAP);
      const refusals = tries.flatMap((t) => (t.status === 'rejected' ? [(t.reason as Error).message] : []));
      expect(new Set(refusals)).toEqual(new Set(['RATE_LIMITED']));
      // One closed: one more fits, on either node.
      (tries.find((t) => t.status === 'fulfilled') as PromiseFulfilledResult<TestSocket>).value.disconnect();
      await sleep(200);
      await expect(from(nodeA.url, token)).resolves.toBeTruthy();
      await expect(from(nodeB.url, token)).rejects.toThrow('RATE_LIMITED');
    });

    it("stops counting a killed node's sockets once the node is known dead (15 s), not before", async () => {
      const token = await signIn();
      const nodeC = await startNode(guardedEnv({ ...env, REDIS_URL: redisUrl! }));
      try {
        await Promise.all(Array.from({ length: CAP }, () => from(nodeC.url, token)));
        await expect(from(nodeA.url, token)).rejects.toThrow('RATE_LIMITED');
        nodeC.process.kill('SIGKILL');
        const killed = Date.now();
        await sleep(1000);
        await expect(from(nodeA.url, token)).rejects.toThrow('RATE_LIMITED');
        let admitted = false;
        while (!admitted && Date.now() - killed < 25_000) {
          admitted = await from(nodeA.url, token).then(() => true, () => false);
          if (!admitted) await sleep(1000);
        }
        expect(admitted).toBe(true);
        expect(Date.now() - killed).toBeGreaterThan(10_000);
      } finally {
        await nodeC.stop();
      }
    }, 60_000);
  });

  describe('Redis outages', () => {
    /** A libs/client connection (what the dashboard and SDK users run), with everything it saw. */
    const watch = async (node: ApiNode, token: string, name: string): Promise<Watcher> => {
      const rc = new RolecallClient({ baseUrl: node.url, token, transports: ['websocket'] });
      const watcher: Watcher = { name, rc, events: [], disconnects: [], refusals: [] };
      watchers.push(watcher);
      rc.live.onAccountEvent((event) => watcher.events.push(event));
      rc.live.socket.on('disconnect', (reason) => watcher.disconnects.push(reason));
      rc.live.socket.on('connect_error', (error) => watcher.refusals.push(error.message));
      await rc.connect();
      return watcher;
    };
    const seqOf = async () => (await b.get<MeDto>('/me', { token: owner.token })).body.account.activitySeq;
    const changeRole = async (api: Client, member: Joined, roleId: string) => {
      const current = await api.get<MemberDto>(`/users/${member.member.id}`, { token: owner.token });
      const reply = await api.patch<MemberDto>(`/users/${member.member.id}`, { roleId }, { token: owner.token, headers: ifMatch(current.body.version) });
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    };
    /** The account events a watcher delivered after `after`, by seq: every one in between, in order. */
    const seqsAfter = (watcher: Watcher, after: number) => watcher.events.map((event) => event.data.seq).filter((seq) => seq > after);
    const range = (after: number, last: number) => Array.from({ length: last - after }, (_, i) => after + 1 + i);
    /** Answers within a bound whatever Redis does (the hang this guards against lasted past 15 s). */
    const healthAnswers = async (node: ApiNode) => {
      const started = performance.now();
      const reply = await fetch(`${node.url}/api/v1/health`, { signal: AbortSignal.timeout(5_000) });
      return { status: reply.status, ms: performance.now() - started, body: (await reply.json()) as unknown };
    };

    it('a connection reset while a permission change is being published: no node dies, sockets on both nodes catch up', async () => {
      const member = await inviteAndAccept(b, mailDirs(), owner, { roleId: ROLE.editor });
      const before = await seqOf();
      const watching = [await watch(nodeA, owner.token, 'owner on A'), await watch(nodeB, owner.token, 'owner on B')];
      const memberLive = await watch(nodeA, member.token, 'member on A');
      expect(memberLive.rc.can('people.create')).toBe(true);
      // Node B's Redis connections stop answering: the change's publishes wait for their replies…
      redisB.stall();
      await changeRole(b, member, ROLE.readonly);
      await sleep(200);
      // …and are cut by a reset before any reply came.
      redisB.reset();
      await redisB.restore();
      const caughtUp = () => watching.every((w) => seqsAfter(w, before).length === 1) && !memberLive.rc.can('people.create');
      const deadline = Date.now() + 20_000;
      while (!caughtUp() && nodeB.process.exitCode === null && Date.now() < deadline) await sleep(100);
      assertNodeSound(nodeB, 'node B');
      assertNodeSound(nodeA, 'node A');
      const after = await seqOf();
      expect(after).toBe(before + 1);
      for (const w of watching) expect(seqsAfter(w, before), w.name).toEqual(range(before, after));
      expect(memberLive.rc.can('people.create'), 'the member on A has the new permission set').toBe(false);
      for (const node of [nodeA, nodeB]) expect((await healthAnswers(node)).status).toBe(200);
    }, 60_000);

    it('Redis refusing connections: clients are told, REST stays right, and afterwards every socket has every change in order', async () => {
      const first = await inviteAndAccept(b, mailDirs(), owner, { roleId: ROLE.editor });
      const second = await inviteAndAccept(a, mailDirs(), owner, { roleId: ROLE.readonly });
      const watching = [
        await watch(nodeA, owner.token, 'owner on A'),
        await watch(nodeB, owner.token, 'owner on B'),
        await watch(nodeA, owner.token, 'owner again on A'),
      ];
      const firstLive = await watch(nodeA, first.token, 'first member on A');
      const before = await seqOf();
      for (const w of [...watching, firstLive]) w.disconnects.length = 0;

      await Promise.all([redisA.refuse(), redisB.refuse()]);
      // The health check answers at once, and says Redis is down.
      for (const node of [nodeA, nodeB]) {
        const health = await healthAnswers(node);
        expect(health.ms).toBeLessThan(5_000);
        expect(JSON.stringify(health.body)).toContain('down');
      }
      // Role changes through both nodes while Redis is away.
      await changeRole(b, first, ROLE.readonly);
      await changeRole(a, second, ROLE.editor);
      await changeRole(a, first, ROLE.admin);
      await changeRole(b, second, ROLE.readonly);
      await changeRole(b, first, ROLE.readonly);
      // REST enforces every change at once, on either node (its cache follows the member's version, not Redis).
      for (const api of [a, b]) {
        expect((await api.get<MeDto>('/me', { token: first.token })).body.permissions.keys).not.toContain('people.create');
        expect((await api.get<MeDto>('/me', { token: second.token })).body.member.role.id).toBe(ROLE.readonly);
      }
      // Live updates cannot be promised: every client was told (its connection closed, reconnecting refused UNAVAILABLE).
      const toldAll = () => [...watching, firstLive].every((w) => w.disconnects.length > 0 && w.refusals.includes('UNAVAILABLE'));
      for (let deadline = Date.now() + 15_000; !toldAll() && Date.now() < deadline; ) await sleep(100);
      for (const w of [...watching, firstLive]) {
        expect(w.disconnects.length, `${w.name} was disconnected`).toBeGreaterThan(0);
        expect(w.refusals, `${w.name} was refused while Redis is down`).toContain('UNAVAILABLE');
      }

      await Promise.all([redisA.restore(), redisB.restore()]);
      const after = await seqOf();
      expect(after).toBe(before + 5);
      const caughtUp = () => watching.every((w) => seqsAfter(w, before).length >= 5) && !firstLive.rc.can('people.create') && firstLive.rc.live.socket.connected;
      for (let deadline = Date.now() + 30_000; !caughtUp() && Date.now() < deadline; ) await sleep(100);
      for (const w of watching) expect(seqsAfter(w, before), `${w.name}: every change, in order`).toEqual(range(before, after));
      expect(firstLive.rc.can('people.create'), 'the member has the permission set of the last change').toBe(false);
      assertNodeSound(nodeA, 'node A');
      assertNodeSound(nodeB, 'node B');
      for (const node of [nodeA, nodeB]) {
        const health = await healthAnswers(node);
        expect(health.status).toBe(200);
        expect(JSON.stringify(health.body)).not.toContain('down');
      }

      // And the live layer works across nodes again: a change through B reaches the clients on A at once.
      await changeRole(b, second, ROLE.editor);
      for (let deadline = Date.now() + 10_000; !watching.every((w) => seqsAfter(w, after).length === 1) && Date.now() < deadline; ) await sleep(50);
      for (const w of watching) expect(seqsAfter(w, after), w.name).toEqual([after + 1]);
    }, 90_000);
  });
});

interface Watcher {
  name: string;
  rc: RolecallClient;
  events: AccountEvent[];
  disconnects: string[];
  refusals: string[];
}
