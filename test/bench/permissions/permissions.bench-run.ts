import type { MeDto } from '@rolecall/contracts';
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { AccountEntity } from '../../../apps/api/src/database/entities/account.entity.js';
import { Database } from '../../../apps/api/src/database/database.service.js';
import { MemberEntity } from '../../../apps/api/src/database/entities/member.entity.js';
import { PermissionsService } from '../../../apps/api/src/database/permissions.service.js';
import { startApp } from '../../api/support/app.js';
import { createAccount, inviteAndAccept } from '../../api/support/factories.js';
import { client } from '../../api/support/http.js';
import { summarise, table } from '../users-list/stats.js';

/**
 * `npx vitest run --config test/bench/vitest.bench.config.ts permissions`
 *
 * (a) resolving a member's effective permission set from the database (member + account + role
 *     rows read through `Database.read`, then libs/domain) and from the in-memory cache;
 * (b) one permission check against a resolved set;
 * (c) `GET /me` over HTTP, p50/p99.
 * Targets: cached check ≤ 1 µs; resolve from the database ≤ 1 ms; `GET /me` p99 ≤ 10 ms.
 */
const fmt = (value: number, unit: string) => `${value < 10 ? value.toFixed(3) : value.toFixed(1)} ${unit}`;

it('measures permission resolution, checks and GET /me', async () => {
  const app = await startApp({
    rateLimits: { signInPerIp: 1e6, signInPerEmail: 1e6, invitationsPerAccount: 1e6, acceptancePerIp: 1e6 },
  });
  try {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'business' });
    const role = await api.post<{ id: string }>(
      '/roles',
      {
        name: 'Bench',
        description: '',
        icon: 'bolt',
        permissions: ['campaigns.publish', 'reports.export', 'talk.reply'],
      },
      { token: owner.token },
    );
    const member = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: role.body.id, agentAccess: true });
    const db = app.app.get(Database);
    const permissions = app.app.get(PermissionsService);

    // (a) from the database: the rows the guard reads, then the rule.
    const fromDb: number[] = [];
    for (let i = 0; i < 2000; i += 1) {
      const start = performance.now();
      const [row, account] = await db.read((m) =>
        Promise.all([
          m.getRepository(MemberEntity).findOneByOrFail({ id: member.member.id }),
          m.getRepository(AccountEntity).findOneByOrFail({ id: owner.account.id }),
        ]),
      );
      permissions.invalidate([row.id]);
      await permissions.resolve(row, account);
      fromDb.push(performance.now() - start);
    }
    const [row, account] = await db.read((m) =>
      Promise.all([
        m.getRepository(MemberEntity).findOneByOrFail({ id: member.member.id }),
        m.getRepository(AccountEntity).findOneByOrFail({ id: owner.account.id }),
      ]),
    );
    const resolved = await permissions.resolve(row, account);
    const CACHED = 200_000;
    let start = performance.now();
    for (let i = 0; i < CACHED; i += 1) await permissions.resolve(row, account);
    const cachedUs = ((performance.now() - start) * 1000) / CACHED;

    // (b) one check on the resolved set.
    const CHECKS = 10_000_000;
    const keys = ['campaigns.publish', 'users.manage', 'talk.reply', 'billing.view'] as const;
    let hits = 0;
    start = performance.now();
    for (let i = 0; i < CHECKS; i += 1) if (resolved.set.has(keys[i & 3]!)) hits += 1;
    const checkNs = ((performance.now() - start) * 1e6) / CHECKS;
    expect(hits).toBe(CHECKS / 2);

    // (c) GET /me over HTTP.
    for (let i = 0; i < 100; i += 1) await api.get('/me', { token: member.token });
    const http: number[] = [];
    for (let i = 0; i < 1000; i += 1) {
      const t = performance.now();
      const reply = await api.get<MeDto>('/me', { token: member.token });
      http.push(performance.now() - t);
      if (reply.status !== 200) throw new Error(`GET /me answered ${reply.status}`);
    }
    const dbStats = summarise(fromDb);
    const httpStats = summarise(http);
    console.log(`\nPermissions benchmark (${app.database}, ${new Date().toISOString()})`);
    console.log(
      table(
        ['measure', 'p50', 'p99', 'target', 'met'],
        [
          [
            '(a) resolve from the database',
            fmt(dbStats.p50 * 1000, 'µs'),
            fmt(dbStats.p99 * 1000, 'µs'),
            '≤ 1 ms',
            dbStats.p50 <= 1 ? 'yes' : 'NO',
          ],
          ['(a) resolve from the cache', fmt(cachedUs * 1000, 'ns'), '', '', ''],
          ['(b) one permission check (cached set)', fmt(checkNs, 'ns'), '', '≤ 1 µs', checkNs <= 1000 ? 'yes' : 'NO'],
          [
            '(c) GET /me over HTTP',
            fmt(httpStats.p50, 'ms'),
            fmt(httpStats.p99, 'ms'),
            'p99 ≤ 10 ms',
            httpStats.p99 <= 10 ? 'yes' : 'NO',
          ],
        ],
      ),
    );
  } finally {
    await app.close();
  }
});
