import { SYSTEM_ROLES, type MemberDto } from '@rolecall/contracts';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { now, type ClientProcess, type GroupResult, type GroupSpec } from '../propagation/client-process.js';

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
