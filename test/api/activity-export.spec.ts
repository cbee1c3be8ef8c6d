/**
 * `GET /activity/export?format=ndjson|csv` (issue 16 §4): the activity log streamed with keyset paging
 * and back-pressure, every line carrying the hashed fields, `prevHash` and `hash`, verified offline by
 * `npm run verify-export` (the same hash function as the API). 100k entries are written straight into
 * the log in one transaction, with a correct chain; memory is sampled while they are exported.
 */
import { activityHash, type ChainedEntry } from '@rolecall/contracts/activity-chain';
import type { ActivityExportLine } from '@rolecall/contracts';
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../apps/api/src/database/database.service.js';
import { describe as describeResult, verifyExport } from '../../tools/verify-export/verify.js';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';

const ENTRIES = 100_000;
const SMALL = 3_000;
const CLI = resolve(import.meta.dirname, '../../tools/verify-export/verify-export.js');
/**
 * The verify tool on a big file, without blocking this process (client and server share its event
 * loop): a `spawnSync` of several seconds held the client's idle timers while the server closed the
 * pooled connection, and the next download went to a dead socket (`fetch failed`, ECONNRESET — once
 * in CI). The server now keeps idle connections 65 s (app.factory.ts KEEP_ALIVE_MS), far past the
 * client's own ~4 s; the same race had recurred on a busy machine with nothing blocked.
 */
const runCli = promisify(execFile);

let app: TestApp;
let api: Client;
let big: SignedUp;
let small: SignedUp;
const folder = mkdtempSync(join(tmpdir(), 'rolecall-export-'));

/**
 * Appends `count` entries to an account's log in one transaction, chained with the API's own hash
 * function, and moves the account's head: what `count` ordinary mutations would have left.
 */
async function bulkAppend(account: SignedUp, count: number): Promise<void> {
  const db = app.app.get(Database);
  const postgres = app.database === 'postgres';
  const ROWS = postgres ? 10_000 : 1000;
  const COLUMNS =
    'id, account_id, seq, at, actor_member_id, actor_email, actor_kind, actor_name, action, target_type, target_id, target_label, changes, ip, user_agent, prev_hash, hash';
  await db.transaction(async (tx) => {
    const [head] = (await tx.manager.query(
      postgres
        ? 'SELECT activity_seq, activity_hash FROM accounts WHERE id = $1'
        : 'SELECT activity_seq, activity_hash FROM accounts WHERE id = ?',
      [account.account.id],
    )) as {
      activity_seq: number;
      activity_hash: string;
    }[];
    let seq = Number(head!.activity_seq);
    let prevHash = head!.activity_hash;
    const started = Date.now() - count;
    let pending: Promise<unknown> = Promise.resolve();
    for (let done = 0; done < count; done += ROWS) {
      const params: unknown[] = [];
      for (let i = 0; i < Math.min(ROWS, count - done); i++) {
        seq++;
        const scim = seq % 7 === 0;
        const entry: ChainedEntry = {
          accountId: account.account.id,
          seq,
          at: new Date(started + seq).toISOString(),
          actorMemberId: scim ? null : account.member.id,
          actorEmail: scim ? null : account.email,
          actorKind: scim ? 'scim' : null,
          actorName: scim ? 'SCIM (Okta)' : null,
          action: seq % 3 === 0 ? 'user.role_changed' : 'account.updated',
          targetType: 'account',
          targetId: account.account.id,
          targetLabel: 'Acme, "quoted"',
          changes: { name: { before: `Acme ${seq - 1}`, after: `Acme ${seq}` } },
          ip: '203.0.113.7',
          userAgent: 'bulk/1.0',
        };
        const hash = activityHash(prevHash, entry);
        params.push(
          randomUUID(),
          entry.accountId,
          seq,
          entry.at,
          entry.actorMemberId,
          entry.actorEmail,
          entry.actorKind,
          entry.actorName,
          entry.action,
          entry.targetType,
          entry.targetId,
          entry.targetLabel,
          JSON.stringify(entry.changes),
          entry.ip,
          entry.userAgent,
          prevHash,
          hash,
        );
        prevHash = hash;
      }
      if (postgres) {
        // One array per column (unnest): one statement of 17 parameters per page instead of 17 per row.
        const columns = Array.from({ length: 17 }, (_, c) => params.filter((_, k) => k % 17 === c));
        const types = [
          'varchar',
          'varchar',
          'int',
          'varchar',
          'varchar',
          'varchar',
          'varchar',
          'varchar',
          'varchar',
          'varchar',
          'varchar',
          'varchar',
          'text',
          'varchar',
          'varchar',
          'varchar',
          'varchar',
        ];
        // PostgreSQL inserts this page while the next one is hashed here.
        await pending;
        pending = tx.manager.query(
          `INSERT INTO activity (${COLUMNS}) SELECT * FROM unnest(${types.map((type, c) => `$${c + 1}::${type}[]`).join(', ')})`,
          columns,
        );
      } else {
        // better-sqlite3 itself (the transaction's one connection): a prepared row insert is ~10x faster than TypeORM's query().
        const handle = (
          db.dataSource.driver as unknown as {
            databaseConnection: { prepare(sql: string): { run(...values: unknown[]): unknown } };
          }
        ).databaseConnection;
        const insert = handle.prepare(
          `INSERT INTO activity (${COLUMNS}) VALUES (${Array.from({ length: 17 }, () => '?').join(', ')})`,
        );
        for (let r = 0; r < params.length; r += 17) insert.run(...params.slice(r, r + 17));
      }
    }
    await pending;
    await tx.manager.query(
      postgres
        ? 'UPDATE accounts SET activity_seq = $1, activity_hash = $2 WHERE id = $3'
        : 'UPDATE accounts SET activity_seq = ?, activity_hash = ? WHERE id = ?',
      [seq, prevHash, account.account.id],
    );
  });
}

interface Download {
  readonly file: string;
  readonly status: number;
  readonly headers: Headers;
  readonly ms: number;
  readonly bytes: number;
  /** Peak growth of the live heap (sampled after a full collection) and of RSS during the export, in MB. */
  readonly heapMb: number;
  readonly rssMb: number;
}

/**
 * Received bytes between two samples of the live heap. By progress, not on a timer: each sample is a
 * full collection of the process that runs the app too, and on a timer, under a big heap (the api
 * project's workers keep every file's modules, `isolate: false`) or a busy CI machine, collections
 * came back to back and starved the export — 158 s for 100k entries on PostgreSQL in CI, a timeout
 * with a 400 MB heap here, against ~2.5 s alone. Sixteen samples for the 61 MB export, however slow.
 */
const SAMPLE_EVERY_BYTES = 4 * 1024 * 1024;

/** Streams an export to a file (the client honours back-pressure too) while sampling memory. */
async function download(token: string, query: string, name: string): Promise<Download> {
  const file = join(folder, name);
  gc();
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  let peakRss = before.rss;
  const sample = () => {
    gc();
    const now = process.memoryUsage();
    peakHeap = Math.max(peakHeap, now.heapUsed);
    peakRss = Math.max(peakRss, now.rss);
  };
  let unsampled = 0;
  const sampler = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      unsampled += chunk.length;
      if (unsampled >= SAMPLE_EVERY_BYTES) {
        unsampled = 0;
        sample();
      }
      done(null, chunk);
    },
  });
  const started = performance.now();
  const response = await fetch(`${app.url}/api/v1/activity/export?${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (response.body)
    await pipeline(Readable.fromWeb(response.body as WebReadableStream), sampler, createWriteStream(file));
  else writeFileSync(file, '');
  const ms = Math.round(performance.now() - started);
  sample();
  const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
  return {
    file,
    status: response.status,
    headers: response.headers,
    ms,
    bytes: statSync(file).size,
    heapMb: mb(peakHeap - before.heapUsed),
    rssMb: mb(peakRss - before.rss),
  };
}

/** V8's collector, so samples measure live memory, not garbage V8 has not collected yet. */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const verifyFile = (file: string, options: { complete?: boolean } = {}) =>
  verifyExport(createReadStream(file), options);

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
  big = await createAccount(api, { plan: 'business' });
  small = await createAccount(api, { plan: 'business' });
  const started = performance.now();
  await bulkAppend(big, ENTRIES);
  await bulkAppend(small, SMALL);
  console.log(
    `[activity export] wrote ${ENTRIES + SMALL} chained entries in ${Math.round(performance.now() - started)} ms (${app.database})`,
  );
}, 120_000);

afterAll(async () => {
  await app.close();
  rmSync(folder, { recursive: true, force: true });
});

describe('GET /activity/export', () => {
  it('streams 100k entries as ndjson that verify offline, in memory that does not grow with the log', async () => {
    const head = ENTRIES + 1;

    const few = await download(small.token, 'format=ndjson', 'small.ndjson');
    const many = await download(big.token, 'format=ndjson', 'big.ndjson');
    expect(many.status).toBe(200);
    expect(many.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(many.headers.get('content-disposition')).toMatch(
      /^attachment; filename="activity-\d{4}-\d{2}-\d{2}\.ndjson"$/,
    );
    expect(many.headers.get('x-activity-head-seq')).toBe(String(head));
    console.log(
      `[activity export] ${app.database}: ${SMALL + 1} entries ${(few.bytes / 1e6).toFixed(1)} MB in ${few.ms} ms, peak heap +${few.heapMb} MB, rss +${few.rssMb} MB; ` +
        `${head} entries ${(many.bytes / 1e6).toFixed(1)} MB in ${many.ms} ms, peak heap +${many.heapMb} MB, rss +${many.rssMb} MB`,
    );
    // 100k entries are ~60 MB of JSON, several times that as objects: an export that held them would
    // show it. Streamed, the live heap holds a page (1000 entries) and the socket's buffer.
    expect(many.bytes).toBeGreaterThan(50e6);
    expect(many.heapMb).toBeLessThan(24);
    expect(many.heapMb).toBeLessThan(few.heapMb + 16);

    // The verify tool itself, as `npm run verify-export -- big.ndjson --complete` runs it.
    // Exit 0, or execFile rejects (with the tool's output).
    const verified = await runCli(process.execPath, [CLI, many.file, '--complete'], { encoding: 'utf8' });
    expect(verified.stdout.trim()).toBe(
      `OK: ${head} entries, seq 1–${head}, the chain is complete from its first entry`,
    );
    const first = JSON.parse(readFileSync(many.file, 'utf8').slice(0, 4000).split('\n')[0]!) as ActivityExportLine;
    expect(first).toMatchObject({ seq: 1, action: 'account.created', prevHash: '', accountId: big.account.id });
    expect(Object.keys(first)).toEqual([
      'accountId',
      'seq',
      'at',
      'actorMemberId',
      'actorEmail',
      'actorKind',
      'actorName',
      'action',
      'targetType',
      'targetId',
      'targetLabel',
      'changes',
      'ip',
      'userAgent',
      'prevHash',
      'hash',
    ]);
    // 5–8 s alone; a CI machine running the other Node's suites beside it took over 30 s. The figures
    // that matter here are memory, not time (bench:export times it).
  }, 120_000);

  it('exports the filters of GET /activity; a filtered export verifies entry by entry and reports its gaps', async () => {
    const filtered = await download(small.token, 'format=ndjson&action=user.role_changed', 'filtered.ndjson');
    expect(filtered.status).toBe(200);
    const lines = readFileSync(filtered.file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ActivityExportLine);
    expect(lines.length).toBe(Math.floor((SMALL + 1) / 3));
    expect(new Set(lines.map((l) => l.action))).toEqual(new Set(['user.role_changed']));
    const result = await verifyFile(filtered.file);
    expect(result).toMatchObject({ ok: true, count: lines.length, fromStart: false });
    expect(describeResult(result)).toMatch(
      /^OK: \d+ entries \(seq 3–\d+\), each matches its own hash; the chain has \d+ gaps/,
    );
    expect((await verifyFile(filtered.file, { complete: true })).ok).toBe(false);

    const bad = await api.get('/activity/export?format=xml', { token: small.token });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });

  it('exports CSV with a header and one row per entry', async () => {
    const csv = await download(small.token, 'format=csv', 'small.csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = readFileSync(csv.file, 'utf8').trim().split('\n');
    expect(rows[0]).toBe(
      'accountId,seq,at,actorMemberId,actorEmail,actorKind,actorName,action,targetType,targetId,targetLabel,changes,ip,userAgent,prevHash,hash',
    );
    expect(rows).toHaveLength(SMALL + 2);
    expect(rows[2]).toContain('"Acme, ""quoted"""');
  });

  it('npm run verify-export: OK and exit 0, or the first bad seq and exit 1', () => {
    const whole = join(folder, 'whole.ndjson');
    const tampered = join(folder, 'tampered.ndjson');
    const cut = join(folder, 'cut.ndjson');
    const lines = readFileSync(join(folder, 'small.ndjson'), 'utf8').trim().split('\n').slice(0, 500);
    writeFileSync(whole, `${lines.join('\n')}\n`);
    const altered = lines.map((line, i) => (i === 249 ? line.replace('"Acme 249"', '"Acme 9999"') : line));
    expect(altered[249]).not.toBe(lines[249]);
    writeFileSync(tampered, `${altered.join('\n')}\n`);
    writeFileSync(cut, `${lines.filter((_, i) => i !== 100).join('\n')}\n`);

    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    const ok = run(whole);
    expect(ok.stdout.trim()).toBe('OK: 500 entries, seq 1–500, the chain is complete from its first entry');
    expect(ok.status).toBe(0);
    const broken = run(tampered);
    expect(broken.stderr).toMatch(/^BAD at seq 250: its hash does not match its content/);
    expect(broken.status).toBe(1);
    const removed = run(cut, '--complete');
    expect(removed.stderr).toMatch(/^BAD at seq 102: seq 101–101 are missing/);
    expect(removed.status).toBe(1);
    expect(run(cut).status).toBe(0);
  });
});
