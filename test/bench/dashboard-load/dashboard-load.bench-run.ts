import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startNode, type ApiNode } from '../../api/support/nodes.js';
import { CHROMIUM, WEB_BUILD } from '../../browser/support/browser.js';
import { table } from '../users-list/stats.js';
import { chromium, type Browser } from 'playwright-core';
import { audit, launchChromium, probeLcp, setSessionCookie, type Preset, type RunFigures } from './audit.js';
import { seedAccounts } from './seed.js';

/**
 * `npm run bench:dashboard-load` (issue 21): Lighthouse 12 on the dashboard's pages as a person opens
 * them, signed in, on a cold cache — the built API (`apps/api/dist/main.js` serving `apps/web/build`;
 * `npm run build` first) on SQLite, in a process of its own, and Debian's Chromium.
 *
 *   /users       as the owner of an account of BENCH_SMALL (1,000) and of BENCH_LARGE (100,000) members
 *   /roles, /activity, /users/:id (a member's profile)   as the small account's owner
 *   /me          as a Read-only member
 *
 * Each page with the mobile preset (Lighthouse's default: simulated slow 4G, 4× slower CPU, a phone's
 * screen) and the desktop preset, BENCH_RUNS (3) runs each; every figure is the median of its runs.
 * Targets (issue 21): mobile performance ≥ 95, LCP ≤ 2.5 s, TBT ≤ 200 ms, CLS ≤ 0.1, accessibility 100,
 * best practices 100; desktop performance 100. Enforced only with BENCH_ENFORCE=1.
 * BENCH_PAGES=users-1k,me (a comma list of the keys below) audits only those pages; BENCH_PRESETS=mobile
 * only that preset. BENCH_WEB_ROOT=/a/copy/of/apps/web/build serves that copy instead (a build others
 * cannot rebuild under the run).
 */

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const SMALL = env('BENCH_SMALL', 1_000);
const LARGE = env('BENCH_LARGE', 100_000);
const RUNS = env('BENCH_RUNS', 3);
const ENFORCE = process.env['BENCH_ENFORCE'] === '1';
const ONLY_PAGES = (process.env['BENCH_PAGES'] ?? '').split(',').filter(Boolean);
const WEB_ROOT = process.env['BENCH_WEB_ROOT'] || WEB_BUILD;
const PRESETS = ((process.env['BENCH_PRESETS'] ?? '').split(',').filter(Boolean) as Preset[]).filter(
  (p) => p === 'mobile' || p === 'desktop',
);

interface Target {
  key: string;
  label: string;
  path: string;
  token: string;
}

interface Row {
  target: Target;
  preset: Preset;
  runs: RunFigures[];
  lcpElement: string;
  shifts: string[];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
};
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

/** Met/missed of a preset's targets for one page's medians. */
function verdict(
  preset: Preset,
  m: { performance: number; lcp: number; tbt: number; cls: number; accessibility: number; bestPractices: number },
) {
  const missed: string[] = [];
  if (preset === 'desktop') {
    if (m.performance < 100) missed.push('perf');
  } else {
    if (m.performance < 95) missed.push('perf');
    if (m.lcp > 2500) missed.push('LCP');
    if (m.tbt > 200) missed.push('TBT');
    if (m.cls > 0.1) missed.push('CLS');
    if (m.accessibility < 100) missed.push('a11y');
    if (m.bestPractices < 100) missed.push('BP');
  }
  return missed;
}

it('audits the dashboard pages with Lighthouse (mobile and desktop presets)', async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium)`);
  if (!existsSync(join(WEB_ROOT, 'index.html'))) throw new Error(`${WEB_ROOT} is missing (npm run build)`);
  const startedAt = new Date();
  const loadAtStart = load();
  const dataDir = mkdtempSync(join(tmpdir(), 'rolecall-dashboard-load-'));
  let node: ApiNode | undefined;
  let chrome: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let probe: Browser | undefined;
  try {
    const seeded = await seedAccounts(dataDir, { small: SMALL, large: LARGE });
    console.log(
      `\nSeeded ${seeded.small.members.toLocaleString('en')} + ${seeded.large.members.toLocaleString('en')} members in ${(seeded.seedMs / 1000).toFixed(1)} s`,
    );
    node = await startNode({ DATA_DIR: dataDir, WEB_ROOT, LOG_LEVEL: 'warn' });
    chrome = await launchChromium(CHROMIUM);
    const port = chrome.port;
    probe = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });

    const small = `${SMALL.toLocaleString('en')}`;
    const targets: Target[] = [
      { key: 'users-1k', label: `/users (${small} members)`, path: '/users', token: seeded.small.ownerToken },
      {
        key: 'users-100k',
        label: `/users (${LARGE.toLocaleString('en')} members)`,
        path: '/users',
        token: seeded.large.ownerToken,
      },
      { key: 'roles', label: '/roles', path: '/roles', token: seeded.small.ownerToken },
      { key: 'activity', label: '/activity', path: '/activity', token: seeded.small.ownerToken },
      {
        key: 'profile',
        label: '/users/:id (profile)',
        path: `/users/${seeded.small.profileId}`,
        token: seeded.small.ownerToken,
      },
      { key: 'me', label: '/me (Read-only member)', path: '/me', token: seeded.small.readonlyToken },
    ].filter((target) => ONLY_PAGES.length === 0 || ONLY_PAGES.includes(target.key));
    const presets: Preset[] = PRESETS.length > 0 ? PRESETS : ['mobile', 'desktop'];

    // One run nobody counts: the server's and Lighthouse's first-time costs (JIT, caches).
    await setSessionCookie(port, node.url, seeded.small.ownerToken);
    await audit(`${node.url}/users`, port, 'mobile');

    const rows: Row[] = [];
    for (const target of targets) {
      await setSessionCookie(port, node.url, target.token);
      for (const preset of presets) {
        // The audited page must be the signed-in page, not the sign-in form it would redirect to.
        const lcp = await probeLcp(probe, `${node.url}${target.path}`, target.token, preset);
        expect(new URL(lcp.finalUrl).pathname, `${target.label} (${preset}) ended on ${lcp.finalUrl}`).toBe(
          target.path,
        );
        expect(lcp.element, `${target.label}: LCP element`).not.toMatch(/sign in/i);
        const row: Row = { target, preset, runs: [], lcpElement: lcp.element, shifts: lcp.shifts };
        for (let run = 0; run < RUNS; run += 1) {
          const figures = await audit(`${node.url}${target.path}`, port, preset);
          expect(new URL(figures.finalUrl).pathname, `${target.label} (${preset}) ended on ${figures.finalUrl}`).toBe(
            target.path,
          );
          row.runs.push(figures);
        }
        rows.push(row);
        const m = row.runs;
        console.log(
          `  ${target.label} ${preset}: performance ${m.map((r) => r.performance).join('/')}, LCP ${m.map((r) => Math.round(r.lcp)).join('/')} ms, TBT ${m.map((r) => Math.round(r.tbt)).join('/')} ms`,
        );
      }
    }

    const loadAtEnd = load();
    const lines: string[][] = [];
    const details: string[] = [];
    let allMet = true;
    for (const row of rows) {
      const pick = (f: (r: RunFigures) => number) => median(row.runs.map(f));
      const m = {
        performance: pick((r) => r.performance),
        fcp: pick((r) => r.fcp),
        lcp: pick((r) => r.lcp),
        tbt: pick((r) => r.tbt),
        cls: pick((r) => r.cls),
        accessibility: pick((r) => r.accessibility),
        bestPractices: pick((r) => r.bestPractices),
        scriptKiB: pick((r) => r.scriptKiB),
        requests: pick((r) => r.requests),
      };
      const missed = verdict(row.preset, m);
      if (missed.length > 0) allMet = false;
      lines.push([
        row.target.label,
        row.preset,
        String(m.performance),
        `${(m.fcp / 1000).toFixed(2)} s`,
        `${(m.lcp / 1000).toFixed(2)} s`,
        `${Math.round(m.tbt)} ms`,
        m.cls.toFixed(3),
        String(m.accessibility),
        String(m.bestPractices),
        `${m.scriptKiB.toFixed(0)} KiB`,
        String(m.requests),
        missed.length === 0 ? 'met' : `MISSED: ${missed.join(', ')}`,
      ]);
      details.push(`${row.target.label} (${row.preset}): LCP element ${row.lcpElement}`);
      for (const shift of row.shifts) details.push(`    layout shift ${shift}`);
      const failing = [...new Set(row.runs.flatMap((r) => r.failing))];
      for (const title of failing) details.push(`    ${title}`);
    }

    console.log(
      `\nDashboard load (Lighthouse 12, median of ${RUNS} runs; ${startedAt.toISOString()} → ${new Date().toISOString()}; load average at start ${loadAtStart}, at end ${loadAtEnd})`,
    );
    console.log(
      table(['page', 'preset', 'perf', 'FCP', 'LCP', 'TBT', 'CLS', 'a11y', 'BP', 'JS', 'requests', 'targets'], lines),
    );
    console.log(
      '\nTargets: mobile performance ≥ 95, LCP ≤ 2.5 s, TBT ≤ 200 ms, CLS ≤ 0.1, accessibility 100, best practices 100; desktop performance 100.',
    );
    console.log(`\n${details.join('\n')}\n`);
    if (ENFORCE) expect(allMet, 'every page meets its targets').toBe(true);
  } finally {
    await probe?.close();
    chrome?.kill();
    await node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
