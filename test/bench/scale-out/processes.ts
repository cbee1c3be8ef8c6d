import { SYSTEM_ROLES, type MemberDto, type PermissionKey, type RoleDto } from '@rolecall/contracts';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import type pg from 'pg';
import { expect } from 'vitest';
import { z } from 'zod';
import { sha256Hex } from '../../../apps/api/src/common/tokens.js';
import { createAccount, type SignedUp } from '../../api/support/factories.js';
import type { Client } from '../../api/support/http.js';
import { now, type ClientProcess, type GroupResult, type GroupSpec } from '../propagation/client-process.js';
import { pgSeeder, seedPopulation, type Population } from '../propagation/seed.js';

/** Small tools the multi-process benchmarks share (scale-out, one-node): output, CPU from /proc, a JSON client. */

export const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
export const out = (line = '') => process.stdout.write(`${line}\n`);
export const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

const CLOCK_TICK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A process's user + system CPU so far (ms), from /proc (Linux). */
export function processCpuMs(pid: number | undefined): number {
  const { user, system } = processCpuSplitMs(pid);
  return user + system;
}

/** A process's user and system (kernel) CPU so far (ms), apart, from /proc (Linux). */
export function processCpuSplitMs(pid: number | undefined): { user: number; system: number } {
  if (pid === undefined) return { user: Number.NaN, system: Number.NaN };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: (Number(fields[11]) * 1000) / CLOCK_TICK, system: (Number(fields[12]) * 1000) / CLOCK_TICK };
  } catch {
    return { user: Number.NaN, system: Number.NaN };
  }
}

export interface Reply<T = unknown> {
  status: number;
  body: T;
}

/** A keep-alive JSON client (one connection), so rounds do not pay a TCP connect. */
export function jsonClient(baseUrl: string, prefix: string, token?: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(baseUrl);
  const request = <T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    new Promise<Reply<T>>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          host: hostname,
          port,
          method,
          path: `${prefix}${path}`,
          agent,
          headers: {
            ...headers,
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(payload
              ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }
              : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              /* keep the text */
            }
            resolve({ status: response.statusCode ?? 0, body: parsed as T });
          });
          response.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  return { request, close: () => agent.destroy() };
}

/** The CPU so far (ms) of every process whose command is `comm` (e.g. `postgres`, `redis-server`), by pid, from /proc. */
export function commandCpuMs(comm: string): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === comm)
        byPid.set(Number(entry), processCpuMs(Number(entry)));
    } catch {
      /* gone meanwhile */
    }
  }
  return byPid;
}

/**
 * CPU spent between two `commandCpuMs` readings: each process still there counts from its first
 * reading (or from 0 if it started meanwhile). A process that exited meanwhile took its CPU with it
 * (a pool connection closed, an autovacuum worker done), so the figure is a lower bound.
 */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** A process's resident memory (MiB), from /proc/<pid>/status. */
export function residentMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface RoundResult {
  /** From just before the request to the last expected receipt (ms). */
  total: number;
  first: number;
  http: number;
  /** CPU of all server nodes together from the request to the last receipt (ms, /proc resolution). */
  serverCpu: number;
  byGroup: Record<string, number>;
  missing: number;
  groups: GroupResult[];
}

export type CpuReader = () => number;

export async function timedRound(
  clients: ClientProcess,
  serverCpu: CpuReader,
  groups: GroupSpec[],
  timeoutMs: number,
  send: () => Promise<Reply>,
  check: (reply: Reply) => void,
): Promise<RoundResult> {
  const { results } = await clients.arm(groups, timeoutMs);
  const cpu0 = serverCpu();
  const t0 = now();
  const reply = await send();
  const responded = now();
  check(reply);
  const done = await results;
  const cpu = serverCpu() - cpu0;
  const lasts = done.map((group) => group.last ?? Number.NaN);
  const firsts = done.map((group) => group.first ?? Number.NaN);
  return {
    total: Math.max(...lasts) - t0,
    first: Math.min(...firsts) - t0,
    http: responded - t0,
    serverCpu: cpu,
    byGroup: Object.fromEntries(done.map((group) => [group.name, (group.last ?? Number.NaN) - t0])),
    missing: done.reduce((sum, group) => sum + group.expected - group.received, 0),
    groups: done,
  };
}

const [, EDITOR, READONLY] = SYSTEM_ROLES.map((role) => role.id) as [string, string, string];

/** A positive number from the benchmark's environment (`name`), or `fallback`. */
export const envNumber = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
/** The multi-process benchmarks' PostgreSQL (each creates and drops a database of its own) and Redis (a prefix of its own). */
export const BENCH_DATABASE_URL = process.env['DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
export const BENCH_REDIS_URL = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';

/** A benchmark's JSON object of environment variables (`name`, e.g. BENCH_VERSUS), or a clear refusal (not a bare JSON.parse error). */
export function versusEnv(text: string, name: string): Record<string, string> {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* refused below */
  }
  const env = z.record(z.string(), z.string()).safeParse(parsed);
  if (!env.success)
    throw new Error(`${name} must be a JSON object of strings, e.g. '{"NODE_OPTIONS":"--max-semi-space-size=32"}'`);
  return env.data;
}

/** A member whose role the benchmarks switch between Editor and Read only. */
export interface Flippable {
  id: string;
  roleId: string;
  version: number;
}

/** `PATCH /users/:id` to the member's other role (If-Match its version); on a 200 the member follows. Answers the status. */
export async function flipRole(admin: ReturnType<typeof jsonClient>, member: Flippable): Promise<number> {
  const roleId = member.roleId === EDITOR ? READONLY : EDITOR;
  const reply = await admin.request<MemberDto>(
    'PATCH',
    `/users/${member.id}`,
    { roleId },
    { 'if-match': `"${member.version}"` },
  );
  if (reply.status === 200) {
    member.roleId = roleId;
    member.version = reply.body.version;
  }
  return reply.status;
}

/** The id of the session a sign-up's token opened (what `seedPopulation` needs of its owner). */
export async function sessionIdOf(pool: pg.Pool, signedUp: SignedUp): Promise<string> {
  const found = await pool.query<{ id: string }>('SELECT id FROM sessions WHERE token_hash = $1', [
    sha256Hex(signedUp.token),
  ]);
  return found.rows[0]!.id;
}

/**
 * The account the multi-process benchmarks (scale-out, one-node, handshake) run on: an enterprise
 * account made through the API, its custom role "Half" (held by half of the seeded members), and
 * `seedPopulation`'s members and sessions written straight to PostgreSQL.
 */
export async function seedBenchAccount(
  api: Client,
  pool: pg.Pool,
  options: {
    accountName: string;
    permissions: PermissionKey[];
    sockets: number;
    dashboards: number;
    revokeRounds: number;
    sessionAbsoluteMs: number;
  },
): Promise<{ owner: SignedUp; role: RoleDto; population: Population }> {
  const owner = await createAccount(api, { plan: 'enterprise', accountName: options.accountName, name: 'Olive Owner' });
  const created = await api.post<RoleDto>(
    '/roles',
    { name: 'Half', description: 'round 0', icon: 'bolt', permissions: options.permissions },
    { token: owner.token },
  );
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const population = await seedPopulation(pgSeeder(pool), {
    accountId: owner.account.id,
    owner: { memberId: owner.member.id, token: owner.token, sessionId: await sessionIdOf(pool, owner) },
    customRoleId: created.body.id,
    sockets: options.sockets,
    dashboards: options.dashboards,
    revokeRounds: options.revokeRounds,
    sessionAbsoluteMs: options.sessionAbsoluteMs,
  });
  return { owner, role: created.body, population };
}

/** (a)'s groups: the changed member's sessions get `me.permissions`, the dashboards `user.upserted`, both with the new role. */
export const roleChangeGroups = (memberSockets: number[], dashboards: number[], roleId: string): GroupSpec[] => [
  { name: 'sessions', event: 'me.permissions', sockets: memberSockets, match: { path: 'roleId', equals: roleId } },
  {
    name: 'dashboards',
    event: 'user.upserted',
    sockets: dashboards,
    match: { path: 'member.role.id', equals: roleId },
  },
];
