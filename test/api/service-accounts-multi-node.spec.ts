/**
 * API keys across two API processes on one PostgreSQL database and one Redis (issue 16 §3): the
 * key's socket is on node A, the admin works on node B. A role change, an edit of the key's custom
 * role, a revocation and a deletion made on B reach the socket on A at once. Needs DATABASE_URL and
 * REDIS_URL (`.ci/run` sets both); skipped, and says so, without.
 */
import {
  ADMIN_ROLE_ID,
  EDITOR_ROLE_ID,
  type ApiKeyWithSecretDto,
  type RoleDto,
  type ServiceAccountDto,
} from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, ifMatch, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { disconnected, next, open, type TestSocket } from './support/live.js';
import { sharedDatabase, startNode, type ApiNode } from './support/nodes.js';
import { assertNodeSound, guardedEnv } from './support/process-guard.js';

const databaseUrl = process.env['DATABASE_URL'];
const redisUrl = process.env['REDIS_URL'];
const ready = Boolean(databaseUrl && redisUrl);
if (!ready) console.log('[service-accounts multi-node] skipped: set DATABASE_URL and REDIS_URL');

describe.skipIf(!ready)('API keys on two nodes (PostgreSQL + Redis)', () => {
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
    const env = { DATABASE_URL: db.url, REDIS_URL: redisUrl!, REDIS_PREFIX: `rolecall-sa-${Date.now()}` };
    nodeA = await startNode(guardedEnv(env)); // runs the migrations
    nodeB = await startNode(guardedEnv(env));
    a = client(nodeA.url);
    b = client(nodeB.url);
    owner = await createAccount(b, { plan: 'business' });
  }, 90_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    if (nodeA) assertNodeSound(nodeA, 'node A');
    if (nodeB) assertNodeSound(nodeB, 'node B');
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
    await drop?.();
  });

  async function keyOn(
    roleId: string,
  ): Promise<{ sa: ServiceAccountDto; key: ApiKeyWithSecretDto; socket: TestSocket }> {
    const sa = await b.post<ServiceAccountDto>(
      '/service-accounts',
      { name: 'Cross-node bot', roleId },
      { token: owner.token },
    );
    expect(sa.status, JSON.stringify(sa.body)).toBe(201);
    const key = await b.post<ApiKeyWithSecretDto>(`/service-accounts/${sa.body.id}/keys`, {}, { token: owner.token });
    expect(key.status).toBe(201);
    const socket = await open(nodeA.url, key.body.key);
    sockets.push(socket);
    return { sa: sa.body, key: key.body, socket };
  }

  it('a role change and an edit of its role on node B reach the key on node A at once', async () => {
    const { sa, key, socket } = await keyOn(EDITOR_ROLE_ID);
    expect((await a.get('/service-accounts', { token: key.key })).status).toBe(403);
    const promoted = next(socket, 'me.permissions');
    const patched = await b.patch(
      `/service-accounts/${sa.id}`,
      { roleId: ADMIN_ROLE_ID },
      { token: owner.token, headers: ifMatch(sa.version) },
    );
    expect(patched.status).toBe(200);
    expect(await promoted).toMatchObject({ roleId: ADMIN_ROLE_ID, reason: 'role_changed' });
    expect((await a.get('/service-accounts', { token: key.key })).status).toBe(200);

    const role = await b.post<RoleDto>(
      '/roles',
      { name: 'Directory reader', description: '', icon: 'star', permissions: ['users.view'] },
      { token: owner.token },
    );
    expect(role.status).toBe(201);
    const moved = next(socket, 'me.permissions');
    expect(
      (
        await b.patch(
          `/service-accounts/${sa.id}`,
          { roleId: role.body.id },
          { token: owner.token, headers: ifMatch(sa.version + 1) },
        )
      ).status,
    ).toBe(200);
    expect((await moved).keys).toEqual(['users.view']);
    const edited = next(socket, 'me.permissions');
    expect(
      (
        await b.patch(
          `/roles/${role.body.id}`,
          { permissions: ['users.view', 'roles.view'] },
          { token: owner.token, headers: ifMatch(role.body.version) },
        )
      ).status,
    ).toBe(200);
    expect(await edited).toMatchObject({ reason: 'role_edited' });
    expect((await a.get(`/roles/${role.body.id}`, { token: key.key })).status).toBe(200);
  });

  it('revoking the key on node B: its socket on node A gets me.revoked and is closed, node A answers 401', async () => {
    const { sa, key, socket } = await keyOn(EDITOR_ROLE_ID);
    const revoked = next(socket, 'me.revoked');
    const closed = disconnected(socket);
    expect(
      (await b.delete(`/service-accounts/${sa.id}/keys/${key.id}`, undefined, { token: owner.token })).status,
    ).toBe(204);
    expect(await revoked).toEqual({ reason: 'key_revoked' });
    await closed;
    expect((await a.get('/account', { token: key.key })).status).toBe(401);
  });

  it('deleting the service account on node B closes its socket on node A', async () => {
    const { sa, key, socket } = await keyOn(EDITOR_ROLE_ID);
    const revoked = next(socket, 'me.revoked');
    const closed = disconnected(socket);
    expect((await b.delete(`/service-accounts/${sa.id}`, undefined, { token: owner.token })).status).toBe(204);
    expect(await revoked).toEqual({ reason: 'service_account_deleted' });
    await closed;
    expect((await a.get('/account', { token: key.key })).status).toBe(401);
  });
});
