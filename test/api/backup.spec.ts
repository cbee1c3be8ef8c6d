import type { ActivityVerifyDto, MemberPageDto } from '@rolecall/contracts';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { usingPostgres } from './support/app.js';
import { createAccount, invite, PASSWORD, uniqueEmail } from './support/factories.js';
import { client } from './support/http.js';
import { startNode, type ApiNode } from './support/nodes.js';

/**
 * `npm run backup` / `npm run restore` (issue 14 §4): an online copy of the SQLite database of a
 * running API (the built `apps/api/dist/main.js`) taken while it is being written to, restored into
 * a fresh DATA_DIR, and an API started on it. SQLite only: on PostgreSQL the tools refuse and point
 * to pg_dump (checked here too).
 */
const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

async function tool(name: 'backup' | 'restore', file: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'tools/backup', `${name}.js`), file], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

const folders: string[] = [];
const nodes: ApiNode[] = [];
afterAll(async () => {
  for (const node of nodes) await node.stop();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function folder(): string {
  const path = mkdtempSync(join(tmpdir(), 'rolecall-backup-'));
  folders.push(path);
  return path;
}

if (usingPostgres) console.log('[backup] the SQLite backup test is skipped with DATABASE_URL: the API under test would use PostgreSQL');

describe.skipIf(usingPostgres)('npm run backup / npm run restore (SQLite)', () => {
  it('copies the database while it is written to; the copy restores into a fresh DATA_DIR and its activity chain verifies', async () => {
    const source = await startNode({ DATABASE_URL: '' });
    nodes.push(source);
    const api = client(source.url);
    const owner = await createAccount(api, { accountName: 'Backupco', plan: 'enterprise' });

    // Writes go on, one invitation after another, from before the backup starts until after it ends.
    const acknowledged: { email: string; at: number }[] = [];
    let writing = true;
    const writer = (async () => {
      while (writing && acknowledged.length < 400) {
        const email = uniqueEmail('during');
        const reply = await invite(api, owner, [email]);
        if (reply.status !== 201) throw new Error(`invite answered ${reply.status}`);
        acknowledged.push({ email, at: Date.now() });
      }
    })();
    while (acknowledged.length < 20) await new Promise((r) => setTimeout(r, 20));

    const backupFile = join(folder(), 'rolecall-backup.sqlite');
    const startedAt = Date.now();
    const backup = await tool('backup', backupFile, { DATA_DIR: source.dataDir });
    writing = false;
    await writer;
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/^Backed up .* to .*rolecall-backup\.sqlite/);
    expect(existsSync(backupFile)).toBe(true);
    const before = acknowledged.filter((write) => write.at <= startedAt).map((write) => write.email);
    // The API kept answering writes while the copy was taken.
    expect(acknowledged.length).toBeGreaterThan(before.length);

    // A second backup to the same file is refused (never overwrites).
    expect((await tool('backup', backupFile, { DATA_DIR: source.dataDir })).code).not.toBe(0);
    // Restoring over the database of the running API is refused: the tool sees it open.
    const overRunning = await tool('restore', backupFile, { DATA_DIR: source.dataDir });
    expect(overRunning.code).not.toBe(0);
    expect(overRunning.stderr).toMatch(/open in another process/);

    const fresh = folder();
    const restored = await tool('restore', backupFile, { DATA_DIR: fresh });
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(readdirSync(fresh)).toContain('rolecall.sqlite');

    const copy = await startNode({ DATABASE_URL: '', DATA_DIR: fresh });
    nodes.push(copy);
    const copyApi = client(copy.url);
    const signIn = await copyApi.post<{ token: string }>('/auth/sign-in', { email: owner.email, password: PASSWORD });
    expect(signIn.status).toBe(200);
    const token = signIn.body.token;
    const verify = await copyApi.get<ActivityVerifyDto>('/activity/verify', { token });
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ ok: true, firstBadSeq: null });
    // Every invitation acknowledged before the backup began is in the copy, with its activity entry.
    expect(verify.body.checked).toBeGreaterThanOrEqual(2 + before.length);
    const members = await copyApi.get<MemberPageDto>('/users?status=invited&limit=200', { token });
    expect(members.status).toBe(200);
    const invited = new Set(members.body.items.map((member) => member.email));
    let cursor = members.body.nextCursor;
    while (cursor) {
      const page = await copyApi.get<MemberPageDto>(`/users?status=invited&limit=200&cursor=${encodeURIComponent(cursor)}`, { token });
      for (const member of page.body.items) invited.add(member.email);
      cursor = page.body.nextCursor;
    }
    for (const email of before) expect(invited.has(email)).toBe(true);
    // …and nothing that was never acknowledged: each member of the copy is one the API answered 201 for.
    expect(invited.size).toBeLessThanOrEqual(acknowledged.length);
    // One snapshot: the members and the activity log of the copy agree (account.created, one entry
    // per invitation, and the sign-in on the copy just now).
    expect(verify.body.checked).toBe(invited.size + 2);
    expect(members.body.total).toBe(invited.size);
  }, 90_000);

  it('refuses a file that is not a Rolecall database, and points PostgreSQL to pg_dump', async () => {
    const bogus = join(folder(), 'not-a-backup.sqlite');
    writeFileSync(bogus, 'hello');
    const fresh = folder();
    const refused = await tool('restore', bogus, { DATA_DIR: fresh });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/^Not restored/);
    expect(existsSync(join(fresh, 'rolecall.sqlite'))).toBe(false);
    const pg = await tool('backup', join(fresh, 'x.sqlite'), { DATA_DIR: fresh, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x' });
    expect(pg.code).not.toBe(0);
    expect(pg.stderr).toMatch(/pg_dump/);
  });
});
