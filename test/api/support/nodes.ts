import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const MAIN = resolve(import.meta.dirname, '../../../apps/api/dist/main.js');

export interface ApiNode {
  url: string;
  dataDir: string;
  process: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
    server.on('error', reject);
  });
}

/** A fresh PostgreSQL database for a group of nodes; dropped by `drop()`. */
export async function sharedDatabase(baseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `rolecall_nodes_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * Starts the built API (`apps/api/dist/main.js`, or `main`: another build's, as bench:handshake's
 * BENCH_VERSUS_MAIN) as its own process and waits for `/health`.
 */
export async function startNode(env: Record<string, string>, main = MAIN): Promise<ApiNode> {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'rolecall-node-'));
  const output: string[] = [];
  // BENCH_NODE_ARGS: extra Node.js flags for the API processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`
  // to see where a benchmark's server time goes; Node refuses --cpu-prof in NODE_OPTIONS).
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, main], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, PUBLIC_URL: `http://127.0.0.1:${port}`, WEB_ROOT: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  // Generous: a fresh database's migrations, through a test's TCP proxies (shutdown.spec), took over
  // 30 s once in CI while the browser suite ran beside it (its nodes stuck in TypeOrmCoreModule's
  // start, nothing refused); ~5 s on a quiet machine. Only a node that never starts waits it out.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node exited early:\n${output.join('')}`);
    try {
      // Bounded too: a node that takes the connection but never answers must not outlast the deadline.
      const reply = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(2000) });
      if (reply.ok) break;
    } catch {
      /* not listening (or answering) yet */
    }
    if (Date.now() > deadline) {
      // Not left running (holding its database connections and port) after the test gave up on it.
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`node did not start:\n${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    dataDir,
    process: child,
    output,
    stop: async () => {
      // A node killed by a signal has exited too (its exitCode stays null): nothing to wait for.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
