import type { HealthDto, RoleDto, RoleListDto } from '@rolecall/contracts';
import BetterSqlite3 from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database } from '../../apps/api/src/database/database.service.js';
import { startApp, usingPostgres, type TestApp } from './support/app.js';
import { createAccount, ifMatch, type SignedUp } from './support/factories.js';
import { client, isErrorShape, type Client, type Reply } from './support/http.js';

/**
 * Issue 14 §1: a disk that fills up under SQLite. A write that fails for lack of space answers 507
 * STORAGE_FULL and leaves nothing behind; once space is back, every write the API acknowledges is on
 * disk — seen through a second connection to the file and after a restart on the same DATA_DIR.
 *
 * Two real ways of running out of space: SQLite's own page limit (`PRAGMA max_page_count` on the
 * app's connection: the failing statement gets SQLITE_FULL), and a real full file system (DATA_DIR on
 * a 16 MB tmpfs filled with a file: COMMIT gets SQLITE_FULL writing the WAL). The tmpfs needs root
 * and `mount`; without them that half is skipped and says so.
 */
if (usingPostgres)
  console.log(
    "[durability-sqlite] skipped: DATABASE_URL is set (these faults are SQLite's; see durability-pg.spec.ts)",
  );

const SQLITE_FILE = 'rolecall.sqlite';
const MAX_ATTEMPTS = 400;

interface Fault {
  /** Makes the database unable to grow. */
  fill(app: TestApp): void;
  /** Gives the space back. */
  free(app: TestApp): void;
}

function connectionOf(app: TestApp): BetterSqlite3.Database {
  return (app.app.get(Database).dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database })
    .databaseConnection;
}

const pageLimit: Fault = {
  fill: (app) => {
    const db = connectionOf(app);
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  },
  free: (app) => {
    connectionOf(app).pragma('max_page_count = 1073741823');
  },
};

/** A tmpfs mounted on a fresh directory; null when this machine will not mount one (not root, no mount). */
function mountTmpfs(): { dir: string; unmount(): void } | null {
  const dir = mkdtempSync(join(tmpdir(), 'rolecall-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    unmount: () => {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const fullDisk = (dir: string): Fault => {
  const filler = join(dir, 'filler');
  return {
    fill: () => {
      const fd = openSync(filler, 'w');
      const block = Buffer.alloc(64 * 1024);
      try {
        for (;;) writeSync(fd, block);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOSPC') throw error;
      } finally {
        closeSync(fd);
      }
    },
    free: () => rmSync(filler),
  };
};

const tmpfs = usingPostgres ? null : mountTmpfs();
if (!usingPostgres && !tmpfs)
  console.log(
    '[durability-sqlite] full file system skipped: cannot mount a tmpfs here (needs root); the page-limit case still runs',
  );
afterAll(() => tmpfs?.unmount());

const createRole = (api: Client, owner: SignedUp, name: string): Promise<Reply<RoleDto>> =>
  api.post<RoleDto>(
    '/roles',
    { name, description: 'd'.repeat(280), icon: 'star', permissions: ['people.view'] },
    { token: owner.token },
  );

function expectStorageFull(reply: Reply, what: string): void {
  expect.soft(reply.status, `${what}: ${reply.status} ${JSON.stringify(reply.body)}`).toBe(507);
  expect
    .soft(isErrorShape(reply.body) && reply.body.error.code, `${what}: ${JSON.stringify(reply.body)}`)
    .toBe('STORAGE_FULL');
}

/** Roles and their role.created entries as a second connection to the file sees them. */
function onDisk(dataDir: string, accountId: string): { roles: Map<string, string>; created: Set<string> } {
  const reader = new BetterSqlite3(join(dataDir, SQLITE_FILE), { readonly: true, fileMustExist: true });
  try {
    const roles = reader.prepare('SELECT id, name FROM roles WHERE account_id = ?').all(accountId) as {
      id: string;
      name: string;
    }[];
    const created = reader
      .prepare(`SELECT target_id FROM activity WHERE account_id = ? AND action = 'role.created'`)
      .all(accountId) as { target_id: string }[];
    return {
      roles: new Map(roles.map((role) => [role.id, role.name])),
      created: new Set(created.map((row) => row.target_id)),
    };
  } finally {
    reader.close();
  }
}

const cases: [string, () => { dataDir: string; fault: Fault; cleanup: () => void } | null][] = [
  [
    'SQLite page limit (max_page_count)',
    () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'rolecall-durability-'));
      return { dataDir, fault: pageLimit, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
    },
  ],
  [
    'a full file system (tmpfs)',
    () => (tmpfs ? { dataDir: tmpfs.dir, fault: fullDisk(tmpfs.dir), cleanup: () => undefined } : null),
  ],
];

describe.skipIf(usingPostgres)('disk full on SQLite', () => {
  describe.each(cases)('%s', (label, prepare) => {
    const setup = prepare();

    it.skipIf(!setup)(
      'answers 507 STORAGE_FULL, writes nothing, and keeps every write acknowledged afterwards',
      async () => {
        const { dataDir, fault, cleanup } = setup!;
        let app = await startApp({ overrides: { dataDir } });
        try {
          let api = client(app.url);
          const owner = await createAccount(api, { plan: 'enterprise' });
          const accountId = owner.account.id;
          const acknowledged = new Map<string, string>();
          const refused: string[] = [];
          const seed = await createRole(api, owner, 'Seed');
          expect(seed.status, JSON.stringify(seed.body)).toBe(201);
          acknowledged.set(seed.body.id, 'Seed');

          // Out of space: write until the database cannot grow; every write before that was acknowledged.
          fault.fill(app);
          for (let attempt = 0; attempt < MAX_ATTEMPTS && refused.length === 0; attempt++) {
            const name = `Before ${attempt}`;
            const reply = await createRole(api, owner, name);
            if (reply.status === 201) acknowledged.set(reply.body.id, name);
            else {
              refused.push(name);
              expectStorageFull(reply, `${label}: the write that found the disk full`);
            }
          }
          expect(refused, `${label}: no write failed in ${MAX_ATTEMPTS} attempts`).toHaveLength(1);

          // Still full: another write is refused the same way, and so is a write that fails on its own (412).
          const again = await createRole(api, owner, 'Still full');
          if (again.status === 201) acknowledged.set(again.body.id, 'Still full');
          else {
            refused.push('Still full');
            expectStorageFull(again, `${label}: a second write while full`);
          }
          const someRole = seed.body.id;
          const stale = await api.patch(
            `/roles/${someRole}`,
            { description: 'stale' },
            { token: owner.token, headers: ifMatch(999) },
          );
          expect.soft(stale.status, `${label}: a stale If-Match while full: ${JSON.stringify(stale.body)}`).toBe(412);

          // Space freed: writes (and one more that fails on its own) are acknowledged again.
          fault.free(app);
          for (let n = 0; n < 8; n++) {
            const name = `After ${n}`;
            const reply = await createRole(api, owner, name);
            expect
              .soft(reply.status, `${label}: ${name} after space was freed: ${JSON.stringify(reply.body)}`)
              .toBe(201);
            if (reply.status === 201) acknowledged.set(reply.body.id, name);
            if (n === 3) {
              const conflict = await api.patch(
                `/roles/${someRole}`,
                { description: 'stale' },
                { token: owner.token, headers: ifMatch(999) },
              );
              expect.soft(conflict.status, `${label}: a stale If-Match after space was freed`).toBe(412);
            }
          }

          // A second connection to the file sees every acknowledged write with its activity entry, and none refused.
          const seen = onDisk(dataDir, accountId);
          const missing = [...acknowledged].filter(([id]) => !seen.roles.has(id)).map(([, name]) => name);
          expect(
            missing,
            `${label}: acknowledged roles a second connection does not see (of ${acknowledged.size})`,
          ).toEqual([]);
          const withoutEntry = [...acknowledged].filter(([id]) => !seen.created.has(id)).map(([, name]) => name);
          expect(withoutEntry, `${label}: acknowledged roles without their activity entry on disk`).toEqual([]);
          const stored = new Set(seen.roles.values());
          expect(
            refused.filter((name) => stored.has(name)),
            `${label}: refused writes found on disk`,
          ).toEqual([]);
          expect(seen.created.size, `${label}: role.created entries on disk`).toBe(acknowledged.size);

          // And after a restart on the same DATA_DIR the API still has them all.
          await app.close();
          app = await startApp({ overrides: { dataDir } });
          api = client(app.url);
          const list = await api.get<RoleListDto>('/roles', { token: owner.token });
          expect(list.status, JSON.stringify(list.body)).toBe(200);
          const listed = new Set(list.body.items.map((role) => role.id));
          const lostOnRestart = [...acknowledged].filter(([id]) => !listed.has(id)).map(([, name]) => name);
          expect(lostOnRestart, `${label}: acknowledged roles gone after a restart`).toEqual([]);
        } finally {
          await app.close();
          cleanup();
        }
      },
    );
  });

  it('storageState() is "full" after a write failed for lack of space and "ok" once a write commits again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rolecall-durability-'));
    const app = await startApp({ overrides: { dataDir } });
    try {
      const api = client(app.url);
      const database = app.app.get(Database);
      const owner = await createAccount(api, { plan: 'enterprise' });
      // The sign-up's verification mail is sent (its outbox row updated) before the disk fills: a
      // write that commits in the middle would rightly say there is room again.
      await app.mailSettled();
      expect(database.storageState()).toBe('ok');
      pageLimit.fill(app);
      let status = 201;
      for (let attempt = 0; attempt < MAX_ATTEMPTS && status === 201; attempt++)
        status = (await createRole(api, owner, `Fill ${attempt}`)).status;
      expect(status).toBe(507);
      expect(database.storageState()).toBe('full');
      // /health reports it: degraded with storage full, still 200 (reads are served; every node shares the one database).
      const full = await api.get<HealthDto>('/health');
      expect(full.status).toBe(200);
      expect(full.body).toMatchObject({ status: 'degraded', db: 'ok', storage: 'full' });
      const ready = await api.get<{ details: { database: { status: string; storage: string } } }>('/health/ready');
      expect(ready.body.details.database).toMatchObject({ status: 'up', storage: 'full' });
      // A read, or a transaction that writes nothing, does not say there is room again.
      await database.read((manager) => manager.query('SELECT count(*) FROM roles'));
      await database.transaction(({ manager }) => manager.query('SELECT count(*) FROM roles'));
      expect(database.storageState()).toBe('full');
      // Reads are still served while full.
      expect((await api.get('/roles', { token: owner.token })).status).toBe(200);
      expect((await createRole(api, owner, 'Still no room')).status).toBe(507);
      expect(database.storageState()).toBe('full');
      pageLimit.free(app);
      expect((await createRole(api, owner, 'Room again')).status).toBe(201);
      expect(database.storageState()).toBe('ok');
      expect((await api.get<HealthDto>('/health')).body).toMatchObject({ status: 'ok', storage: 'ok' });
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
