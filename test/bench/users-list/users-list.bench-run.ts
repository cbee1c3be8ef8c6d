import 'reflect-metadata';
import { SYSTEM_ROLES, type AccountDto, type MemberPageDto, type TeamDto } from '@rolecall/contracts';
import type BetterSqlite3 from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { AccountEntity } from '../../../apps/api/src/database/entities/account.entity.js';
import type { RequestAuth } from '../../../apps/api/src/database/request-auth.js';
import { Database } from '../../../apps/api/src/database/database.service.js';
import { MembersRepository, type MemberPageQuery } from '../../../apps/api/src/database/members.repository.js';
import { MembersService } from '../../../apps/api/src/members/members.service.js';
import { startApp, type TestApp } from '../../api/support/app.js';
import { createAccount, ifMatch } from '../../api/support/factories.js';
import { client } from '../../api/support/http.js';
import { seedMembers } from './seed.js';
import { ms, ratio, summarise, table, type Summary } from './stats.js';
import { nodeHttpGetter, wireGetter } from './http-clients.js';

/**
 * `GET /users` at scale (see README.md): one account with BENCH_MEMBERS members, each query shape
 * timed over HTTP and, interleaved in the same run, at lower levels:
 *   HTTP      a lean keep-alive client on a raw socket (http-clients.ts, as wrk measures): Express/Nest,
 *             the access guard (session look-up; permissions are cached), query validation, the ETag
 *             interceptor, JSON serialisation and the loopback round trip
 *   node:http the same request through node:http's client (its ~0.3 ms of client work included)
 *   service   MembersService.list without HTTP: Database.read → MembersRepository.page (count unless
 *             the totals cache has it, the page with each member's person and role) → memberListDtos
 *   repo      MembersRepository.page only (always counts: a cold total; no DTOs), timed in its own
 *             pass after the compared levels
 *   sql       every statement the request ran (captured from TypeORM's logger during an HTTP request:
 *             the guard's session look-up, then the list's statements), replayed on the driver
 *             (better-sqlite3 / pg pool): no TypeORM, no hydration, no DTO building. `list sql` is the
 *             same replay without the session look-up.
 */

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const MEMBERS = env('BENCH_MEMBERS', 100_000);
const ITERATIONS = env('BENCH_ITERATIONS', 200);
const WARMUP = env('BENCH_WARMUP', 20);
const SECONDS_PER_SHAPE = env('BENCH_SECONDS', 20);
const WARMUP_SECONDS = 3;
const DEEP_PAGES = env('BENCH_DEEP_PAGES', 50);
const EXPLAIN = process.env['BENCH_EXPLAIN'] === '1';
const ENFORCE = process.env['BENCH_ENFORCE'] === '1';
const SQLITE_ANALYZE = process.env['BENCH_SQLITE_ANALYZE'] === '1';
const P99_TARGET_MS = 50;
const RATIO_TARGET = 3;
const TEAMS = 5;

const [ADMIN, EDITOR] = SYSTEM_ROLES.map((role) => role.id) as [string, string];

interface ShapeParams {
  role?: string[];
  status?: 'active' | 'invited' | 'revoked';
  q?: string;
  sort?: string;
  cursor?: string;
}

interface Shape {
  key: string;
  describe: string;
  params: ShapeParams;
}

const toPath = (params: ShapeParams): string => {
  const search = new URLSearchParams();
  for (const role of params.role ?? []) search.append('role', role);
  if (params.status) search.set('status', params.status);
  if (params.q) search.set('q', params.q);
  if (params.sort) search.set('sort', params.sort);
  if (params.cursor) search.set('cursor', params.cursor);
  const query = search.toString();
  return `/api/v1/users${query ? `?${query}` : ''}`;
};

/** What the controller hands the service for these query parameters (default limit 50). */
const toServiceQuery = (params: ShapeParams): MemberPageQuery => ({
  limit: 50,
  ...(params.role ? { roles: params.role } : {}),
  ...(params.status ? { status: params.status } : {}),
  ...(params.q ? { q: params.q } : {}),
  ...(params.sort ? { sort: params.sort } : {}),
  ...(params.cursor ? { cursor: params.cursor } : {}),
});

interface Statement {
  label: string;
  sql: string;
  params: unknown[];
}

const labelOf = (sql: string): string => {
  if (/COUNT\(/i.test(sql)) return 'count';
  const table = /FROM\s+"?(\w+)"?/i.exec(sql)?.[1] ?? 'other';
  return table === 'members' ? 'page' : table === 'sessions' ? 'session' : table;
};
const SESSION_LABEL = 'session';
/** Statements of the app's background pollers, which may run while a request is captured. */
const BACKGROUND = /\bFROM\s+"?(webhook_\w+|mail_outbox)"?/i;

let started: TestApp | undefined;
afterAll(async () => {
  await started?.close();
});

test(`GET /users with ${MEMBERS.toLocaleString('en')} members`, async () => {
  const runStarted = performance.now();
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const app = (started = await startApp());
  const db = app.app.get(Database);
  const service = app.app.get(MembersService);
  const load = () =>
    loadavg()
      .map((value) => value.toFixed(2))
      .join(' ');
  out(
    `\n[bench users-list] ${app.database}, ${MEMBERS.toLocaleString('en')} members, node ${process.version}, ${cpus().length} CPUs, ` +
      `load average ${load()} (other work on the machine skews the tails)`,
  );

  // --- seed: one enterprise account (unlimited seats) with Talk teams, then bulk rows ---------
  const api = client(app.url);
  const owner = await createAccount(api, { plan: 'enterprise', accountName: 'Bench Co', name: 'Olive Owner' });
  const account = await api.get<AccountDto>('/account', { token: owner.token });
  const enabled = await api.patch(
    '/account',
    { teamsEnabled: true },
    { token: owner.token, headers: ifMatch(account.body.version) },
  );
  expect(enabled.status, JSON.stringify(enabled.body)).toBe(200);
  const teamIds: string[] = [];
  for (const name of ['Sales', 'Support', 'Engineering', 'Marketing', 'Finance'].slice(0, TEAMS)) {
    const team = await api.post<TeamDto>('/teams', { name }, { token: owner.token });
    expect(team.status, JSON.stringify(team.body)).toBe(201);
    teamIds.push(team.body.id);
  }
  const accountId = owner.account.id;
  const seeded = await seedMembers(db, { accountId, ownerMemberId: owner.member.id, teamIds, members: MEMBERS });
  const settled = performance.now();
  if (db.kind === 'postgres') {
    // What autovacuum does soon after a bulk load: statistics and the visibility map (index-only scans).
    await db.dataSource.query('VACUUM ANALYZE persons, members, member_teams');
  } else if (SQLITE_ANALYZE) {
    await db.read((manager) => manager.query('ANALYZE'));
  }
  out(
    `seeded ${seeded.members.toLocaleString('en')} members (${JSON.stringify(seeded.byStatus)}, roles ${JSON.stringify(seeded.byRole)}), ` +
      `${seeded.persons.toLocaleString('en')} persons, ${seeded.memberTeams.toLocaleString('en')} team links in ${(seeded.ms / 1000).toFixed(1)} s; ` +
      (db.kind === 'postgres'
        ? `VACUUM ANALYZE ${((performance.now() - settled) / 1000).toFixed(1)} s`
        : SQLITE_ANALYZE
          ? `ANALYZE ${((performance.now() - settled) / 1000).toFixed(1)} s`
          : 'no ANALYZE (the app never runs it; BENCH_SQLITE_ANALYZE=1 to add it)'),
  );
  const accountEntity = await db.read((manager) =>
    manager.getRepository(AccountEntity).findOneByOrFail({ id: accountId }),
  );
  // The service only reads `auth.account`.
  const auth = { account: accountEntity } as RequestAuth;

  // --- the query shapes -----------------------------------------------------------------------
  const bearer = { authorization: `Bearer ${owner.token}` };
  const httpClient = wireGetter(app.url, bearer);
  const nodeClient = nodeHttpGetter(app.url, bearer);
  const getJson = async <T>(path: string): Promise<T> => {
    const reply = await httpClient.get(path);
    expect(reply.status, reply.body.toString('utf8', 0, 300)).toBe(200);
    return JSON.parse(reply.body.toString('utf8')) as T;
  };
  const shapes: Shape[] = [
    { key: 'first page', describe: 'no filters, sort=name', params: {} },
    { key: 'role+status', describe: 'role=editor&status=active (~35%)', params: { role: [EDITOR], status: 'active' } },
    {
      key: 'role+status rare',
      describe: 'role=admin&status=invited (~0.5%)',
      params: { role: [ADMIN], status: 'invited' },
    },
    // Search anywhere (issue 17 §1): 3+ characters match any part of the name or email, prefix
    // matches first. Common and rare terms, and one whose matches all sort late (the walk's worst).
    { key: 'search mar', describe: 'q=mar: prefix + inside (~8%)', params: { q: 'mar' } },
    { key: 'search prefix rare', describe: 'q=zoe y (~0.06%)', params: { q: 'zoe y' } },
    { key: 'search domain', describe: 'q=example.com: every member, inside the email', params: { q: 'example.com' } },
    {
      key: 'search domain -created',
      describe: 'q=example.com&sort=-createdAt',
      params: { q: 'example.com', sort: '-createdAt' },
    },
    { key: 'search inside', describe: 'q=ansen: inside a last name (~2%)', params: { q: 'ansen' } },
    {
      key: 'search inside late',
      describe: 'q=usuf: inside a first name that sorts last (~1.3%)',
      params: { q: 'usuf' },
    },
    { key: 'search inside rare', describe: 'q=zimmer.12: inside the email (~0.02%)', params: { q: 'zimmer.12' } },
    { key: 'search accent', describe: 'q=MARÍA: case and accent folded (~1.3%)', params: { q: 'MARÍA' } },
  ];
  // Deep page: follow nextCursor DEEP_PAGES pages over HTTP, then time that page.
  let cursor: string | null = null;
  for (let page = 0; page < DEEP_PAGES; page += 1) {
    cursor = (await getJson<MemberPageDto>(toPath(cursor ? { cursor } : {}))).nextCursor;
    if (!cursor) break;
  }
  expect(cursor, 'not enough members for the deep page').toBeTruthy();
  shapes.push({
    key: 'deep cursor',
    describe: `page ${DEEP_PAGES + 1} by nextCursor, sort=name`,
    params: { cursor: cursor! },
  });

  const sqlite =
    db.kind === 'sqlite'
      ? (db.dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database }).databaseConnection
      : null;
  const pool = db.kind === 'postgres' ? (db.dataSource.driver as unknown as { master: pg.Pool }).master : null;
  const prepared = new Map<string, BetterSqlite3.Statement>();
  const runRaw = async (statement: Statement): Promise<unknown[]> => {
    if (sqlite) {
      let stmt = prepared.get(statement.sql);
      if (!stmt) prepared.set(statement.sql, (stmt = sqlite.prepare(statement.sql)));
      return stmt.all(...statement.params);
    }
    return (await pool!.query(statement.sql, statement.params)).rows;
  };

  interface Result {
    shape: Shape;
    total: number;
    http: Summary;
    node: Summary;
    service: Summary;
    repo: Summary;
    sql: Summary;
    listSql: Summary;
    statements: Record<string, Summary>;
  }
  const results: Result[] = [];

  for (const shape of shapes) {
    const path = toPath(shape.params);
    const query = toServiceQuery(shape.params);

    // Same answer both ways, and the statements each runs in steady state: a first call fills the
    // totals cache (MemberTotals), so the count is captured only where the service keeps running it
    // (prefix, 2FA and SSO filters) and "sql" replays exactly what the timed calls run.
    await service.list(auth, query);
    const capture = async <T>(run: () => Promise<T>): Promise<{ result: T; statements: Statement[] }> => {
      const logger = db.dataSource.logger;
      const logQuery = logger.logQuery.bind(logger);
      const statements: Statement[] = [];
      logger.logQuery = (sql, parameters, queryRunner) => {
        // Background pollers (webhook deliveries, the mail outbox) share the logger: not the request's.
        if (/^\s*SELECT/i.test(sql) && !BACKGROUND.test(sql)) {
          // A search anywhere may run a second page statement (the non-prefix group): 'page 2'.
          const label = labelOf(sql);
          const repeats = statements.filter((statement) => statement.label.split(' ')[0] === label).length;
          statements.push({
            label: repeats ? `${label} ${repeats + 1}` : label,
            sql,
            params: Array.isArray(parameters) ? [...parameters] : [],
          });
        }
        return logQuery(sql, parameters, queryRunner);
      };
      try {
        return { result: await run(), statements };
      } finally {
        logger.logQuery = logQuery;
      }
    };
    const { result: viaService, statements: serviceStatements } = await capture(() => service.list(auth, query));
    // The request's statements: the guard's session look-up, then exactly the service's.
    const { result: viaHttp, statements } = await capture(() => getJson<MemberPageDto>(path));
    expect(statements.filter((statement) => statement.label !== SESSION_LABEL)).toEqual(serviceStatements);
    expect(statements.map((statement) => statement.label)).toContain(SESSION_LABEL);
    expect(viaHttp.total).toBe(viaService.total);
    expect(viaHttp.items.map((m) => m.id)).toEqual(viaService.items.map((m) => m.id));
    expect(viaHttp.items.length).toBeGreaterThan(0);

    if (EXPLAIN) {
      out(`\n--- ${shape.key}: ${path}`);
      for (const statement of statements.filter((s) => ['count', 'page', 'page 2', SESSION_LABEL].includes(s.label))) {
        out(`[${statement.label}] ${statement.sql}  -- ${JSON.stringify(statement.params)}`);
        const plan = sqlite
          ? (
              sqlite.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`).all(...statement.params) as { detail: string }[]
            ).map((row) => row.detail)
          : (
              (await pool!.query(`EXPLAIN (ANALYZE, BUFFERS) ${statement.sql}`, statement.params)).rows as Record<
                string,
                string
              >[]
            ).map((row) => row['QUERY PLAN']!);
        for (const line of plan) out(`    ${line}`);
      }
    }

    const perStatement = new Map<string, number[]>(statements.map((s) => [s.label, []]));
    const listSqlSamples: number[] = [];
    const methods: [keyof Pick<Result, 'http' | 'node' | 'service' | 'sql'>, () => Promise<unknown>][] = [
      [
        'http',
        async () => {
          const { status } = await httpClient.get(path);
          if (status !== 200) throw new Error(`GET ${path} answered ${status}`);
        },
      ],
      [
        'node',
        async () => {
          const { status } = await nodeClient.get(path);
          if (status !== 200) throw new Error(`GET ${path} answered ${status} (node:http)`);
        },
      ],
      ['service', () => service.list(auth, query)],
      [
        'sql',
        // One Database.read, like the service (the SQLite mutex); statements one after another.
        () =>
          db.read(async () => {
            let list = 0;
            for (const statement of statements) {
              const t0 = performance.now();
              await runRaw(statement);
              const took = performance.now() - t0;
              perStatement.get(statement.label)!.push(took);
              if (statement.label !== SESSION_LABEL) list += took;
            }
            listSqlSamples.push(list);
          }),
      ],
    ];
    /** The cold total (`repo` counts every time): timed in a pass of its own after the compared three. */
    const repo = () => db.read((manager) => new MembersRepository(manager, db.kind).page(accountId, query));
    const warmupUntil = performance.now() + WARMUP_SECONDS * 1000;
    for (let i = 0; i < WARMUP && performance.now() < warmupUntil; i += 1) for (const [, run] of methods) await run();
    for (const samples of perStatement.values()) samples.length = 0;
    listSqlSamples.length = 0;

    const samples = {
      http: [] as number[],
      node: [] as number[],
      service: [] as number[],
      repo: [] as number[],
      sql: [] as number[],
    };
    const deadline = performance.now() + SECONDS_PER_SHAPE * 1000;
    // Interleaved, starting with a different method each round: the compared levels see the
    // same conditions. The cold count (several ms walking an index) stays out of these rounds: it
    // would evict the caches of whichever level came next, and the larger HTTP path loses most.
    for (let i = 0; i < ITERATIONS && performance.now() < deadline; i += 1) {
      for (let k = 0; k < methods.length; k += 1) {
        const [name, run] = methods[(i + k) % methods.length]!;
        const t0 = performance.now();
        await run();
        samples[name].push(performance.now() - t0);
      }
    }
    const repoUntil = performance.now() + (SECONDS_PER_SHAPE * 1000) / 4; // a quarter of the shape's time
    for (let i = 0; i < ITERATIONS && performance.now() < repoUntil; i += 1) {
      const t0 = performance.now();
      await repo();
      samples.repo.push(performance.now() - t0);
    }
    const result: Result = {
      shape,
      total: viaService.total,
      http: summarise(samples.http),
      node: summarise(samples.node),
      service: summarise(samples.service),
      repo: summarise(samples.repo),
      sql: summarise(samples.sql),
      listSql: summarise(listSqlSamples),
      statements: Object.fromEntries([...perStatement].map(([label, values]) => [label, summarise(values)])),
    };
    results.push(result);
    out(
      `  ${shape.key.padEnd(20)} n=${result.http.n}  HTTP p50 ${ms(result.http.p50)} p99 ${ms(result.http.p99)} ms | ` +
        `node:http p50 ${ms(result.node.p50)} | service p50 ${ms(result.service.p50)} | repo p50 ${ms(result.repo.p50)} | ` +
        `sql p50 ${ms(result.sql.p50)} (list ${ms(result.listSql.p50)}) ms`,
    );
  }
  httpClient.close();
  nodeClient.close();
  const retried = httpClient.retries() + nodeClient.retries();
  if (retried > 0) out(`(${retried} request(s) retried after the server closed an idle keep-alive socket)`);

  // --- report ---------------------------------------------------------------------------------
  out(
    `\nGET /users latency, ms (${app.database}, ${MEMBERS.toLocaleString('en')} members, limit 50, sequential requests)`,
  );
  out(
    table(
      [
        'shape',
        'query',
        'total',
        'n',
        'HTTP p50',
        'HTTP p99',
        'node:http p50',
        'service p50',
        'service p99',
        'repo p50',
        'repo p99',
        'sql p50',
        'sql p99',
        'list sql p50',
      ],
      results.map((r) => [
        r.shape.key,
        r.shape.describe,
        r.total.toLocaleString('en'),
        String(r.http.n),
        ms(r.http.p50),
        ms(r.http.p99),
        ms(r.node.p50),
        ms(r.service.p50),
        ms(r.service.p99),
        ms(r.repo.p50),
        ms(r.repo.p99),
        ms(r.sql.p50),
        ms(r.sql.p99),
        ms(r.listSql.p50),
      ]),
    ),
  );

  const labels = [SESSION_LABEL, 'count', 'page', 'page 2', 'member_teams', 'teams'];
  out('\nWhere the database time goes: p50 per statement, replayed on the driver (ms)');
  out(
    table(
      ['shape', ...labels],
      results.map((r) => [r.shape.key, ...labels.map((label) => ms(r.statements[label]?.p50 ?? Number.NaN))]),
    ),
  );

  const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
  const rows = results.map((r) => {
    const overRaw = r.http.p50 / r.service.p50;
    const overSql = r.http.p50 / r.sql.p50;
    return {
      r,
      p99ok: r.http.p99 <= P99_TARGET_MS,
      rawOk: overRaw <= RATIO_TARGET,
      sqlOk: overSql <= RATIO_TARGET,
      cells: [
        r.shape.key,
        `${ms(r.http.p99)} ${verdict(r.http.p99 <= P99_TARGET_MS)}`,
        `${ratio(overRaw)} ${verdict(overRaw <= RATIO_TARGET)}`,
        `${ratio(overSql)} ${verdict(overSql <= RATIO_TARGET)}`,
        ratio(r.node.p50 / r.listSql.p50),
        ratio(r.http.p50 / r.repo.p50),
        ratio(r.http.p99 / r.service.p99),
        ms(r.http.p50 - r.service.p50),
      ],
    };
  });
  out(
    `\nTargets: HTTP p99 ≤ ${P99_TARGET_MS} ms; HTTP/raw ≤ ${RATIO_TARGET} as a ratio of p50s, checked against both raw levels: ` +
      `service (all the list's DB work through the app's data layer) and sql (every statement the request runs, on the driver). ` +
      `For reference, what this bench checked before: node:http/list sql (node:http's client, the list's statements only).`,
  );
  out(
    table(
      [
        'shape',
        'HTTP p99',
        'HTTP/service',
        'HTTP/sql',
        'node:http/list sql',
        'HTTP/repo',
        'p99 HTTP/service',
        'HTTP−service p50 ms',
      ],
      rows.map((row) => row.cells),
    ),
  );
  const missed = rows.filter((row) => !row.p99ok || !row.rawOk || !row.sqlOk);
  out(
    missed.length === 0
      ? `\nAll targets met (HTTP p99, HTTP/service, HTTP/sql).`
      : `\nTargets MISSED for: ${missed.map((row) => row.r.shape.key).join(', ')}` +
          (ENFORCE ? '' : ' (BENCH_ENFORCE=1 makes this fail)'),
  );
  out(`run took ${((performance.now() - runStarted) / 1000).toFixed(0)} s; load average now ${load()}`);

  if (process.env['BENCH_JSON']) {
    writeFileSync(
      process.env['BENCH_JSON'],
      JSON.stringify(
        {
          database: app.database,
          members: MEMBERS,
          seeded,
          results: results.map((r) => ({ ...r, shape: r.shape.key, describe: r.shape.describe })),
        },
        null,
        2,
      ),
    );
  }
  if (ENFORCE) expect(missed.map((row) => row.r.shape.key)).toEqual([]);
});
