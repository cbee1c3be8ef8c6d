import { loadavg } from 'node:os';
import { afterAll, expect, test } from 'vitest';
import { Database } from '../../../apps/api/src/database/database.service.js';
import { startApp, type TestApp } from '../../api/support/app.js';
import { createAccount } from '../../api/support/factories.js';
import { client } from '../../api/support/http.js';
import { seedMembers } from '../users-list/seed.js';

/**
 * `npm run bench:export`: `GET /users/export?format=csv` of 100,000 members (issue 17 §3), three
 * shapes, each read to its end over HTTP; prints the time and the size. Then one more download with
 * the heap measured live: every 100 ms a full collection (`NODE_OPTIONS=--expose-gc`, set by the npm
 * script) and `heapUsed` read, so the peak is what the export holds, not garbage not yet collected
 * (this process runs the API and the client). `MEMBERS` to change the size.
 */
const MEMBERS = Number(process.env['MEMBERS'] ?? 100_000);

let started: TestApp | undefined;
afterAll(async () => {
  await started?.close();
});

test(`GET /users/export with ${MEMBERS.toLocaleString('en')} members`, async () => {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const app = (started = await startApp());
  const db = app.app.get(Database);
  const api = client(app.url);
  const owner = await createAccount(api, { plan: 'enterprise', accountName: 'Bench Co', name: 'Olive Owner' });
  await seedMembers(db, { accountId: owner.account.id, ownerMemberId: owner.member.id, teamIds: [], members: MEMBERS });
  if (db.kind === 'postgres') await db.dataSource.query('VACUUM ANALYZE persons, members, member_teams');
  out(`\n[bench export] ${app.database}, ${MEMBERS.toLocaleString('en')} members, node ${process.version}, load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  out('shape                    status  lines    MB    seconds');
  const download = async (query: string) => {
    const started = performance.now();
    const response = await fetch(`${app.url}/api/v1/users/export?format=csv${query}`, { headers: { authorization: `Bearer ${owner.token}` } });
    let lines = 0;
    let bytes = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 10) lines += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    expect(response.status).toBe(200);
    // The header line and one line per member (the owner and the seeded ones).
    expect(lines).toBe(MEMBERS + 2);
    return { status: response.status, lines, bytes, seconds };
  };
  for (const query of ['', '&sort=-createdAt', '&q=example.com']) {
    const { status, lines, bytes, seconds } = await download(query);
    out(`${(query || 'sort=name').padEnd(24)} ${String(status).padEnd(7)} ${String(lines).padEnd(8)} ${(bytes / 1e6).toFixed(1).padEnd(5)} ${seconds.toFixed(2)}`);
  }
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) {
    out('heap: run with NODE_OPTIONS=--expose-gc (npm run bench:export does) to measure it');
    return;
  }
  collect();
  const heapStart = process.memoryUsage().heapUsed;
  let heapPeak = heapStart;
  const sampler = setInterval(() => {
    collect();
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }, 100);
  const { seconds } = await download('');
  clearInterval(sampler);
  out(`heap held during a download (sort=name, full collection every 100 ms): peak +${((heapPeak - heapStart) / 1e6).toFixed(1)} MB over ${(heapStart / 1e6).toFixed(0)} MB (${seconds.toFixed(2)} s with the collections)`);
}, 900_000);
