import type { MemberDto } from '@rolecall/contracts';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/api/src/config.js';
import { Database } from '../../apps/api/src/database/database.service.js';
import { preparingClient, type PreparedLimits } from '../../apps/api/src/database/prepared-statements.js';
import { startApp, usingPostgres, type TestApp } from './support/app.js';
import { createAccount, invite, ROLE } from './support/factories.js';
import { client } from './support/http.js';

/**
 * Issue 18: on PostgreSQL, statements with parameters run as named prepared statements of their
 * connection (database/prepared-statements.ts), parsed once and planned once instead of on every
 * execution. What the connection holds is read from PostgreSQL itself (`pg_prepared_statements`, per
 * connection: the pools here have one).
 */
if (!usingPostgres)
  console.log('[prepared-statements] skipped: set DATABASE_URL to run the prepared-statement tests on PostgreSQL');

const nameOf = (text: string) => `rc_${createHash('sha1').update(text).digest('hex')}`;

describe('PG_PREPARED_STATEMENTS', () => {
  it('is on unless set to off, and refuses anything else', () => {
    expect(loadConfig({}).postgresPreparedStatements).toBe(true);
    expect(loadConfig({ PG_PREPARED_STATEMENTS: 'on' }).postgresPreparedStatements).toBe(true);
    expect(loadConfig({ PG_PREPARED_STATEMENTS: 'off' }).postgresPreparedStatements).toBe(false);
    expect(() => loadConfig({ PG_PREPARED_STATEMENTS: 'yes' })).toThrow(/PG_PREPARED_STATEMENTS must be "on" or "off"/);
  });
});

describe.skipIf(!usingPostgres)('preparingClient', () => {
  let pool: pg.Pool | undefined;
  const open = (limits?: PreparedLimits) => {
    pool = new pg.Pool({ connectionString: process.env['DATABASE_URL'], max: 1, Client: preparingClient(limits) });
    return pool;
  };
  const prepared = async (on: pg.Pool) =>
    (
      await on.query<{ name: string; statement: string }>(
        'SELECT name, statement FROM pg_prepared_statements ORDER BY name',
      )
    ).rows;
  afterEach(async () => {
    await pool?.end();
    pool = undefined;
  });

  it('prepares a statement with parameters once on its connection and runs it by name after', async () => {
    const on = open();
    const text = 'SELECT $1::int + 1 AS n';
    expect((await on.query<{ n: number }>(text, [1])).rows).toEqual([{ n: 2 }]);
    expect((await on.query<{ n: number }>(text, [41])).rows).toEqual([{ n: 42 }]);
    expect(await prepared(on)).toEqual([{ name: nameOf(text), statement: text }]);
  });

  it('leaves unnamed what has no parameters, too many, too long a text, or comes past the cap', async () => {
    const on = open({ statements: 2, parameters: 3, textLength: 200 });
    await on.query('SELECT 1');
    await on.query('SELECT $1::int + $2::int + $3::int + $4::int AS n', [1, 2, 3, 4]);
    await on.query(`SELECT $1::text AS t -- ${'x'.repeat(200)}`, ['long']);
    const kept = ['SELECT $1::int AS a', 'SELECT $1::int AS b'];
    for (const text of [...kept, 'SELECT $1::int AS c', 'SELECT $1::int AS d']) {
      expect((await on.query<Record<string, number>>(text, [7])).rows[0]).toEqual({ [text.slice(-1)]: 7 });
    }
    expect((await prepared(on)).map((row) => row.statement).sort()).toEqual(kept);
  });

  it('keeps the connection and the statement usable after a statement fails, in a transaction or out', async () => {
    const on = open();
    const divide = 'SELECT 10 / $1::int AS q';
    const connection = await on.connect();
    try {
      await connection.query('BEGIN');
      await expect(connection.query(divide, [0])).rejects.toMatchObject({ code: '22012' });
      await connection.query('ROLLBACK');
      expect((await connection.query<{ q: number }>(divide, [2])).rows).toEqual([{ q: 5 }]);
      // A Parse PostgreSQL refuses is not recorded: the next run is parsed (and refused) again, not run by a missing name.
      const broken = 'SELECT $1::int +';
      await expect(connection.query(broken, [1])).rejects.toMatchObject({ code: '42601' });
      await expect(connection.query(broken, [1])).rejects.toMatchObject({ code: '42601' });
      expect((await connection.query<{ q: number }>(divide, [5])).rows).toEqual([{ q: 2 }]);
    } finally {
      connection.release();
    }
    expect((await prepared(on)).map((row) => row.statement)).toEqual([divide]);
  });

  it("answers pg-pool's callback form too", async () => {
    const on = open();
    const text = 'SELECT $1::text AS said';
    const said = await new Promise<string>((resolve, reject) =>
      on.query<{ said: string }>(text, ['hello'], (error, result) =>
        error ? reject(error) : resolve(result.rows[0]!.said),
      ),
    );
    expect(said).toBe('hello');
    expect((await prepared(on)).map((row) => row.name)).toEqual([nameOf(text)]);
  });
});

describe.skipIf(!usingPostgres)('the API on PostgreSQL', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('runs a role change through prepared statements, and it is applied and logged', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'enterprise' });
    const invited = await invite(api, owner, ['prepared@example.com'], { roleId: ROLE.editor });
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    const member = invited.body.items[0]!;
    let version = member.version;
    for (const roleId of [ROLE.readonly, ROLE.editor]) {
      const reply = await api.patch<MemberDto>(
        `/users/${member.id}`,
        { roleId },
        { token: owner.token, headers: { 'if-match': `"${version}"` } },
      );
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(reply.body.role.id).toBe(roleId);
      version = reply.body.version;
    }
    // Every pooled connection's record of the statements PostgreSQL parsed for it by name (node-postgres keeps
    // it to send Parse once; a background job may have taken the connection the requests used since).
    const pool = app.app.get(Database).dataSource.driver as unknown as {
      master: { _clients: { connection: { parsedStatements: Record<string, string> } }[] };
    };
    const parsed = pool.master._clients.flatMap((pooled) => Object.entries(pooled.connection.parsedStatements));
    const update = parsed.find(([, text]) => text.startsWith('UPDATE "members" SET "role_id"'));
    expect(update, "the role change's UPDATE, parsed by name on a pooled connection").toBeDefined();
    expect(update![0]).toBe(nameOf(update![1]));
  });
});
