/**
 * `npx vitest run --config test/bench/vitest.bench.config.ts api-compression` (issue 21): what
 * compressing API JSON costs. One account with 1,000 members; `GET /api/v1/users` at 50 rows (the
 * dashboard's page) and 200 (the largest page), 800 times each in 8 interleaved blocks over one keep-alive connection, asking
 * for nothing, gzip, or brotli (what a browser asks). The app and the client share this process, so
 * the CPU per request is the whole round (server + a client that does not decode); the difference to
 * plain is the compression's cost. Beside it: zlib alone on the same body (compression's settings:
 * brotli quality 4, gzip level 6), and on 1,000 rows (five 200-row pages joined: no API page is that
 * large) to show how it scales.
 */
import 'reflect-metadata';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { afterAll, expect, test } from 'vitest';
import { API_COMPRESSION_THRESHOLD } from '../../../apps/api/src/app.factory.js';
import { Database } from '../../../apps/api/src/database/database.service.js';
import { startApp, type TestApp } from '../../api/support/app.js';
import { createAccount } from '../../api/support/factories.js';
import { client } from '../../api/support/http.js';
import { seedMembers } from '../users-list/seed.js';

const MEMBERS = 1000;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 800);
const ENCODINGS = ['identity', 'gzip', 'br'] as const;
const BLOCKS = 8;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

let app: TestApp | undefined;
afterAll(() => app?.close());

function get(url: string, agent: Agent, headers: Record<string, string>): Promise<{ bytes: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { agent, headers }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () =>
        resolve({ bytes, encoding: String(response.headers['content-encoding'] ?? 'identity') }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

/** CPU µs (user + system of this process) and wall ms per call of `run`, over `rounds` calls. */
async function measure(
  rounds: number,
  run: () => Promise<unknown> | unknown,
): Promise<{ cpuUs: number; wallMs: number }> {
  for (let i = 0; i < Math.min(20, rounds); i++) await run();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < rounds; i++) await run();
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / rounds, wallMs: (performance.now() - started) / rounds };
}

test('API JSON compression: bytes and CPU per request', async () => {
  app = await startApp();
  const api = client(app.url);
  const owner = await createAccount(api, { plan: 'business' });
  await seedMembers(app.app.get(Database), {
    accountId: owner.account.id,
    ownerMemberId: owner.member.id,
    teamIds: [],
    members: MEMBERS,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const auth = { authorization: `Bearer ${owner.token}` };
  const lines: string[] = [];
  const load = loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
  lines.push(
    `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${load}; ${ROUNDS} requests each (medians of ${BLOCKS} interleaved blocks), one keep-alive connection; threshold ${API_COMPRESSION_THRESHOLD} B`,
  );
  lines.push('| rows | asked | answer | bytes | CPU µs/request | + vs plain | wall ms/request |');
  lines.push('|---|---|---|---:|---:|---:|---:|');
  const pages: string[] = [];
  for (const limit of [50, 200]) {
    const url = `${app.url}/api/v1/users?limit=${limit}`;
    // Interleaved blocks (plain, gzip, br, plain, …) so the machine's drift falls on all three alike; medians of the blocks.
    const headersOf = (encoding: (typeof ENCODINGS)[number]) => ({
      ...auth,
      'accept-encoding': encoding === 'br' ? 'gzip, deflate, br, zstd' : encoding,
    });
    const blocks = new Map<string, { cpuUs: number; wallMs: number }[]>(ENCODINGS.map((encoding) => [encoding, []]));
    for (let block = 0; block < BLOCKS; block++) {
      for (const encoding of ENCODINGS) {
        const headers = headersOf(encoding);
        blocks.get(encoding)!.push(await measure(ROUNDS / BLOCKS, () => get(url, agent, headers)));
      }
    }
    const plainCpu = median(blocks.get('identity')!.map((block) => block.cpuUs));
    for (const encoding of ENCODINGS) {
      const headers = headersOf(encoding);
      const sample = await get(url, agent, headers);
      expect(sample.encoding).toBe(encoding);
      const cpuUs = median(blocks.get(encoding)!.map((block) => block.cpuUs));
      const wallMs = median(blocks.get(encoding)!.map((block) => block.wallMs));
      const extra =
        encoding === 'identity' ? '' : `${cpuUs - plainCpu >= 0 ? '+' : ''}${(cpuUs - plainCpu).toFixed(0)}`;
      lines.push(
        `| ${limit} | ${headers['accept-encoding']} | ${sample.encoding} | ${sample.bytes.toLocaleString('en')} | ${cpuUs.toFixed(0)} | ${extra} | ${wallMs.toFixed(2)} |`,
      );
    }
    if (limit === 200) {
      for (let page = 0, cursor: string | null = null; page < 5; page++) {
        const reply: { body: { items: unknown[]; nextCursor: string | null } } = await api.get(
          `/users?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          { token: owner.token },
        );
        pages.push(JSON.stringify(reply.body.items));
        cursor = reply.body.nextCursor;
      }
    }
  }
  lines.push('');
  lines.push('zlib alone, same settings as the middleware (no HTTP):');
  lines.push('| body | plain bytes | gzip bytes | gzip CPU µs | br bytes | br CPU µs |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  const bodies: [string, string][] = [
    ['50 rows', JSON.stringify((await api.get<unknown>('/users?limit=50', { token: owner.token })).body)],
    ['200 rows', JSON.stringify((await api.get<unknown>('/users?limit=200', { token: owner.token })).body)],
    ['1,000 rows (5 pages joined)', `[${pages.map((page) => page.slice(1, -1)).join(',')}]`],
  ];
  for (const [name, body] of bodies) {
    const buffer = Buffer.from(body);
    const brOptions = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } };
    const gzip = await measure(ROUNDS, () => gzipSync(buffer));
    const br = await measure(ROUNDS, () => brotliCompressSync(buffer, brOptions));
    lines.push(
      `| ${name} | ${buffer.length.toLocaleString('en')} | ${gzipSync(buffer).length.toLocaleString('en')} | ${gzip.cpuUs.toFixed(0)} | ${brotliCompressSync(buffer, brOptions).length.toLocaleString('en')} | ${br.cpuUs.toFixed(0)} |`,
    );
  }
  agent.destroy();
  console.log(`\n${lines.join('\n')}\n`);
});
