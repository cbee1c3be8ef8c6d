import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './support/nodes.js';

/**
 * Issue 14 §1: the built API (apps/api/dist/main.js) started as a real process on a DATA_DIR it cannot
 * use refuses to start: one line naming the path and the cause, exit code 78 (EX_CONFIG), before it
 * opens a database. A read-only DATA_DIR is a read-only tmpfs mount (needs root); permission denied is
 * a directory the process's user cannot write (as root the process runs as `nobody`, since root
 * ignores modes). Where a fault cannot be provoked here the case is skipped and says why. The default
 * `./data` (DATA_DIR unset) is created, so `npm start` works on a fresh clone.
 */
const MAIN = resolve(import.meta.dirname, '../../apps/api/dist/main.js');
const isRoot = process.getuid?.() === 0;
const scratch = mkdtempSync(join(tmpdir(), 'rolecall-datadir-'));
const unmount: string[] = [];
afterAll(() => {
  for (const dir of unmount) execFileSync('umount', [dir], { stdio: 'ignore' });
  rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stderr: string;
  stdout: string;
}

/** Runs main.js until it exits, or until `/health` answers (then stops it). */
async function runApi(
  env: Record<string, string | undefined>,
  options: { cwd?: string; uid?: number; gid?: number } = {},
): Promise<Run & { started: boolean }> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
  const port = await freePort();
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries({
    ...process.env,
    PORT: String(port),
    WEB_ROOT: '',
    DATABASE_URL: '',
    REDIS_URL: '',
    ...env,
  })) {
    if (value !== undefined) childEnv[name] = value;
  }
  const child = spawn(process.execPath, [MAIN], {
    env: childEnv,
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const deadline = Date.now() + 25_000;
  for (;;) {
    const code = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 200))]);
    if (code !== 'running') return { code, stdout, stderr, started: false };
    const healthy = await fetch(`http://127.0.0.1:${port}/api/v1/health`).then(
      (reply) => reply.status < 500,
      () => false,
    );
    if (healthy || Date.now() > deadline) {
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      return { code, stdout, stderr, started: healthy };
    }
  }
}

function expectRefusal(run: Run & { started: boolean }, path: string, cause: RegExp): void {
  const output = `exit ${run.code}\nstderr: ${run.stderr}\nstdout: ${run.stdout}`;
  expect(run.started, output).toBe(false);
  expect(run.code, output).toBe(78);
  const lines = run.stderr.trim().split('\n');
  expect(lines, output).toHaveLength(1);
  expect(lines[0], output).toContain(path);
  expect(lines[0], output).toMatch(cause);
}

/** A read-only tmpfs mounted on a new directory of `scratch`; null where this machine will not mount one. */
function readOnlyMount(): string | null {
  const dir = join(scratch, 'read-only');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return null;
  }
  unmount.push(dir);
  return dir;
}

const readOnly = readOnlyMount();
if (!readOnly) console.log('[data-dir] read-only DATA_DIR skipped: cannot mount a read-only tmpfs here (needs root)');

describe('DATA_DIR at start-up', () => {
  it('refuses a DATA_DIR that is set and missing, and does not create it', async () => {
    const missing = join(scratch, 'not-here', 'data');
    const run = await runApi({ DATA_DIR: missing });
    expectRefusal(run, missing, /missing/);
    expect(existsSync(missing)).toBe(false);
    // Also when only the directory itself is missing: an explicit path is not created (an unmounted volume looks like this).
    const leaf = join(scratch, 'leaf-missing');
    expectRefusal(await runApi({ DATA_DIR: leaf }), leaf, /missing/);
    expect(existsSync(leaf)).toBe(false);
  });

  it('refuses a DATA_DIR that is a file', async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, 'not a directory');
    expectRefusal(await runApi({ DATA_DIR: file }), file, /not a directory/);
  });

  it.skipIf(!readOnly)('refuses a read-only DATA_DIR', async () => {
    expectRefusal(await runApi({ DATA_DIR: readOnly! }), readOnly!, /read-only/);
  });

  it('refuses a DATA_DIR it has no permission to write', async () => {
    // Root ignores file modes: run the API as nobody (65534) on a directory only root may write.
    const dir = join(scratch, 'not-mine');
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    chmodSync(scratch, 0o755);
    const run = await runApi({ DATA_DIR: dir, HOME: scratch }, isRoot ? { uid: 65534, gid: 65534 } : {});
    expectRefusal(run, dir, /permission denied/);
  });

  it('creates the default ./data when DATA_DIR is unset, and starts', async () => {
    const cwd = join(scratch, 'fresh-clone');
    mkdirSync(cwd);
    const run = await runApi({ DATA_DIR: undefined }, { cwd });
    expect(run.started, `exit ${run.code}\n${run.stderr}\n${run.stdout}`).toBe(true);
    expect(existsSync(join(cwd, 'data', 'rolecall.sqlite'))).toBe(true);
  });
});
