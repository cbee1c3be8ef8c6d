import type { ActivityVerifyDto, RoleDto } from '@rolecall/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, usingPostgres, type TestApp } from './support/app.js';
import { createAccount, type SignedUp } from './support/factories.js';
import { client, isErrorShape, type Client, type Reply } from './support/http.js';

/**
 * Issue 14 §1 on PostgreSQL: COMMIT itself fails. Two real ways, both set up by the test in the app's
 * own database: a DEFERRABLE INITIALLY DEFERRED constraint trigger on `roles` that raises at COMMIT
 * for a role named "Doomed …", and one that terminates its own backend (`pg_terminate_backend`) at
 * COMMIT for "Killed …" — the connection dies with the commit. Each such request answers an error
 * (never 2xx), nothing of it is stored, and the writes after it, on the same pool, are acknowledged
 * and stored: read back through a client of the test's own.
 */
if (!usingPostgres)
  console.log('[durability-pg] skipped: set DATABASE_URL to run the failed-COMMIT tests on PostgreSQL');

describe.skipIf(!usingPostgres)('a failed COMMIT on PostgreSQL', () => {
  let app: TestApp;
  let api: Client;
  let checker: pg.Client;
  let owner: SignedUp;

  beforeAll(async () => {
    app = await startApp();
    api = client(app.url);
    checker = new pg.Client({ connectionString: app.config.databaseUrl! });
    await checker.connect();
    await checker.query(`
      CREATE FUNCTION test_fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.name LIKE 'Doomed%' THEN
          RAISE EXCEPTION 'refused at COMMIT by the test' USING ERRCODE = 'P0001';
        END IF;
        IF NEW.name LIKE 'Killed%' THEN
          PERFORM pg_terminate_backend(pg_backend_pid());
          PERFORM pg_sleep(5); -- the termination lands here, before the commit record is written
        END IF;
        RETURN NULL;
      END $$`);
    await checker.query(`
      CREATE CONSTRAINT TRIGGER test_fail_at_commit AFTER INSERT ON roles
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_at_commit()`);
    owner = await createAccount(api, { plan: 'enterprise' });
  });
  afterAll(async () => {
    await checker?.end();
    await app?.close();
  });

  const createRole = (name: string): Promise<Reply<RoleDto>> =>
    api.post<RoleDto>(
      '/roles',
      { name, description: '', icon: 'star', permissions: ['people.view'] },
      { token: owner.token },
    );

  async function stored(): Promise<{ names: Set<string>; ids: Set<string>; created: Set<string> }> {
    const roles = await checker.query<{ id: string; name: string }>(
      'SELECT id, name FROM roles WHERE account_id = $1',
      [owner.account.id],
    );
    const created = await checker.query<{ target_id: string }>(
      `SELECT target_id FROM activity WHERE account_id = $1 AND action = 'role.created'`,
      [owner.account.id],
    );
    return {
      names: new Set(roles.rows.map((row) => row.name)),
      ids: new Set(roles.rows.map((row) => row.id)),
      created: new Set(created.rows.map((row) => row.target_id)),
    };
  }

  it('refuses the write, stores none of it, and keeps acknowledging and storing later writes', async () => {
    const acknowledged = new Map<string, string>();
    const refused: string[] = [];
    const write = async (name: string, expectRefusal: boolean) => {
      const reply = await createRole(name);
      if (expectRefusal) {
        expect(reply.status, `${name}: ${reply.status} ${JSON.stringify(reply.body)}`).toBeGreaterThanOrEqual(500);
        expect(isErrorShape(reply.body), `${name}: ${JSON.stringify(reply.body)}`).toBe(true);
        refused.push(name);
        return reply;
      }
      expect(reply.status, `${name}: ${JSON.stringify(reply.body)}`).toBe(201);
      acknowledged.set(reply.body.id, name);
      return reply;
    };

    for (let round = 0; round < 3; round++) {
      await write(`Fine ${round}.a`, false);
      await write(`Doomed ${round}`, true);
      // Right after a failed COMMIT the same pooled connection is reused (pg-pool hands out the last one back).
      await write(`Fine ${round}.b`, false);
      const killed = await write(`Killed ${round}`, true);
      // The connection died with its commit: the database was unreachable for that request.
      expect.soft(killed.status, JSON.stringify(killed.body)).toBe(503);
      expect.soft(isErrorShape(killed.body) && killed.body.error.code).toBe('UNAVAILABLE');
      expect.soft(Number(killed.headers.get('retry-after')), 'Retry-After').toBeGreaterThan(0);
      await write(`Fine ${round}.c`, false);
    }
    // Writes side by side on the pool, after all that.
    const together = await Promise.all(Array.from({ length: 8 }, (_, n) => createRole(`Together ${n}`)));
    for (const [n, reply] of together.entries()) {
      expect(reply.status, `Together ${n}: ${JSON.stringify(reply.body)}`).toBe(201);
      acknowledged.set(reply.body.id, `Together ${n}`);
    }

    const seen = await stored();
    expect(
      [...acknowledged].filter(([id]) => !seen.ids.has(id)).map(([, name]) => name),
      'acknowledged and not stored',
    ).toEqual([]);
    expect(
      [...acknowledged].filter(([id]) => !seen.created.has(id)).map(([, name]) => name),
      'acknowledged without activity entry',
    ).toEqual([]);
    expect(
      refused.filter((name) => seen.names.has(name)),
      'refused and stored',
    ).toEqual([]);
    expect(seen.created.size, 'role.created entries stored').toBe(acknowledged.size);

    // The activity chain has no hole where the failed commits were.
    const verify = await api.get<ActivityVerifyDto>('/activity/verify', { token: owner.token });
    expect(verify.status).toBe(200);
    expect(verify.body.ok, JSON.stringify(verify.body)).toBe(true);
  });
});
