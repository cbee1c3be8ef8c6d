import type { RoleDto } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../apps/api/src/database/database.service.js';
import { bumpRoleHolders } from '../../apps/api/src/database/permission-rows.js';
import { startApp, usingPostgres, type TestApp } from './support/app.js';
import { createAccount } from './support/factories.js';
import { client, type Client } from './support/http.js';

/**
 * PostgreSQL only (issue 18 (b)): a role edit bumps every holder's permission version in one
 * statement; with room on the pages (migration 1732700000013, fillfactor 50) each row update is HOT —
 * no entry written in any of the members table's indexes. Before it, 0 of 4,959 were (316–492 ms
 * for the statement at 10,000 members, against 18–19 ms: `npm run bench:members-fillfactor`).
 */
if (!usingPostgres) console.log('[role-edit-hot] skipped: set DATABASE_URL to run it on PostgreSQL');

describe.skipIf(!usingPostgres)('a role edit on PostgreSQL', () => {
  let app: TestApp;
  let api: Client;
  beforeAll(async () => {
    app = await startApp();
    api = client(app.url);
  });
  afterAll(() => app?.close());

  it('bumps every holder with HOT updates: the members pages keep room (fillfactor 50)', async () => {
    const owner = await createAccount(api, { plan: 'enterprise' });
    const role = await api.post<RoleDto>(
      '/roles',
      { name: 'Holders', description: '', icon: 'bolt', permissions: ['people.view'] },
      { token: owner.token },
    );
    expect(role.status).toBe(201);
    for (const batch of [0, 1]) {
      const emails = Array.from({ length: 30 }, (_, i) => `holder${batch * 30 + i}@example.com`);
      const invited = await api.post('/users/invitations', { emails, roleId: role.body.id }, { token: owner.token });
      expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    }
    const db = app.app.get(Database);
    const [options] = await db.dataSource.query<{ reloptions: string[] | null }[]>(
      "SELECT reloptions FROM pg_class WHERE relname = 'members'",
    );
    expect(options?.reloptions).toContain('fillfactor=50');
    const runner = db.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const stats = async () =>
        (
          await runner.query(
            "SELECT n_tup_upd AS updated, n_tup_hot_upd AS hot FROM pg_stat_xact_user_tables WHERE relname = 'members'",
          )
        )[0] as { updated: string; hot: string };
      const before = await stats();
      await bumpRoleHolders(runner.manager, owner.account.id, role.body.id);
      const after = await stats();
      expect(Number(after.updated) - Number(before.updated)).toBe(60);
      expect(Number(after.hot) - Number(before.hot)).toBe(60);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  });
});
