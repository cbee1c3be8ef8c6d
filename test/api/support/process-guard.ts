import { resolve } from 'node:path';
import { afterAll, afterEach, expect } from 'vitest';
import type { ApiNode } from './nodes.js';

/**
 * The API test project's guard against errors nothing handled (vitest `setupFiles`): an unhandled
 * rejection or uncaught exception in the test process fails the test that was running (or the
 * file, after its last test). Spawned API processes are checked with `assertNodeSound`.
 */

const PRELOAD = resolve(import.meta.dirname, 'process-guard.cjs');
const MARK = '[process-guard]';

/** Env for `startNode`: preloads the guard, so the process prints a line the tests look for. */
export function guardedEnv(env: Record<string, string> = {}): Record<string, string> {
  const inherited = env['NODE_OPTIONS'] ?? process.env['NODE_OPTIONS'] ?? '';
  return { ...env, NODE_OPTIONS: `${inherited} --require ${PRELOAD}`.trim() };
}

/** The node is still running and never printed an unhandled rejection or uncaught exception. */
export function assertNodeSound(node: ApiNode, name = 'node'): void {
  const output = node.output.join('');
  const reported = output.split('\n').filter((line) => line.includes(MARK) || line.includes('UnhandledPromiseRejection'));
  expect(reported, `${name} reported an error nothing handled:\n${output.slice(-4000)}`).toEqual([]);
  expect({ exitCode: node.process.exitCode, signal: node.process.signalCode }, `${name} exited:\n${output.slice(-4000)}`).toEqual({ exitCode: null, signal: null });
}

interface Escaped {
  kind: 'unhandledRejection' | 'uncaughtException';
  error: unknown;
}

const KEY = Symbol.for('rolecall.process-guard');
type GuardedProcess = NodeJS.Process & { [KEY]?: Escaped[] };

/** Registers the listeners once per process; each test file starts with an empty list. */
export function installProcessGuard(): void {
  const proc = process as GuardedProcess;
  if (!proc[KEY]) {
    const escaped: Escaped[] = [];
    proc[KEY] = escaped;
    process.on('unhandledRejection', (error) => escaped.push({ kind: 'unhandledRejection', error }));
    process.on('uncaughtExceptionMonitor', (error, origin) => {
      if (origin === 'uncaughtException') escaped.push({ kind: 'uncaughtException', error });
    });
  }
  const escaped = proc[KEY];
  escaped.length = 0;
  const check = () => {
    const found = escaped.splice(0);
    if (found.length === 0) return;
    const lines = found.map(({ kind, error }) => `${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    throw new Error(`An error escaped every handler in the test process:\n${lines.join('\n')}`);
  };
  afterEach(check);
  afterAll(check);
}
