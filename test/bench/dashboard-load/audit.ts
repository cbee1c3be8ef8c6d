import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse, { desktopConfig, type Config, type Flags, type Result } from 'lighthouse';
import { chromium, type Browser } from 'playwright-core';

/**
 * Lighthouse 12 (its Node API) driving Debian's Chromium, started by chrome-launcher with a remote
 * debugging port; the session cookie is set in the browser's default context (where Lighthouse opens
 * its tab) over CDP. Lighthouse resets the origin's storage before each run (service workers, caches,
 * the HTTP cache) but not cookies, so every run is a cold load of a signed-in page.
 */

export type Preset = 'mobile' | 'desktop';

export interface RunFigures {
  performance: number;
  fcp: number;
  lcp: number;
  tbt: number;
  cls: number;
  accessibility: number;
  bestPractices: number;
  finalUrl: string;
  /** Titles of the failing audits of accessibility and best practices (and the console errors). */
  failing: string[];
  /** JavaScript transferred / the largest unused JavaScript, for reading a run. */
  scriptKiB: number;
  requests: number;
}

const CATEGORIES = ['performance', 'accessibility', 'best-practices'];

export async function launchChromium(chromePath: string): Promise<chromeLauncher.LaunchedChrome> {
  return chromeLauncher.launch({
    chromePath,
    chromeFlags: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-dev-shm-usage',
    ],
    logLevel: 'error',
  });
}

/** Puts `rolecall_session=<token>` in the browser's default context (HttpOnly, SameSite=Lax, as the API sets it). */
export async function setSessionCookie(port: number, origin: string, token: string): Promise<void> {
  const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
  try {
    const context = browser.contexts()[0];
    if (!context) throw new Error('Chromium has no default context');
    await context.clearCookies();
    await context.addCookies([
      { name: 'rolecall_session', value: token, url: origin, httpOnly: true, sameSite: 'Lax' },
    ]);
  } finally {
    // Disconnects only: the default context (and its cookie) belongs to the browser.
    await browser.close();
  }
}

type Audits = Result['audits'];

function numeric(audits: Audits, id: string): number {
  return audits[id]?.numericValue ?? Number.NaN;
}

function failingAudits(lhr: Result): string[] {
  const failing: string[] = [];
  for (const id of ['accessibility', 'best-practices']) {
    const category = lhr.categories[id];
    if (!category) continue;
    for (const ref of category.auditRefs) {
      const audit = lhr.audits[ref.id];
      if (!audit || ref.weight === 0 || audit.score === null || audit.score >= 1) continue;
      failing.push(`${id}: ${audit.title}`);
      if (ref.id === 'errors-in-console' || ref.id === 'inspector-issues') {
        const items =
          (audit.details as { items?: { description?: string; source?: string; issueType?: string }[] } | undefined)
            ?.items ?? [];
        for (const entry of items.slice(0, 4))
          failing.push(`  ${entry.source ?? entry.issueType ?? ''}: ${(entry.description ?? '').slice(0, 160)}`);
      }
    }
  }
  return failing;
}

/** BENCH_LHR_DIR=/some/dir keeps every run's Lighthouse report (JSON; open it in the Lighthouse viewer). */
const REPORTS = process.env['BENCH_LHR_DIR'];
let reportCount = 0;

export async function audit(url: string, port: number, preset: Preset): Promise<RunFigures> {
  const flags: Flags = { port, output: 'json', logLevel: 'error', onlyCategories: CATEGORIES };
  const config: Config | undefined = preset === 'desktop' ? desktopConfig : undefined;
  // Lighthouse now and then loses a trace on this busy machine (NO_NAVSTART, NO_FCP): try again, twice at most.
  let lhr: Result | undefined;
  for (let attempt = 1; ; attempt += 1) {
    const result = await lighthouse(url, flags, config);
    lhr = result?.lhr;
    if (lhr && !lhr.runtimeError) break;
    const why = lhr?.runtimeError ? `${lhr.runtimeError.code} ${lhr.runtimeError.message}` : 'no result';
    if (attempt === 3) throw new Error(`Lighthouse failed on ${url} three times: ${why}`);
    console.log(`  (Lighthouse failed on ${url} (${preset}), trying again: ${why.slice(0, 80)})`);
  }
  if (REPORTS) {
    mkdirSync(REPORTS, { recursive: true });
    reportCount += 1;
    const name = `${String(reportCount).padStart(3, '0')}-${new URL(url).pathname.replace(/\W+/g, '_')}-${preset}.json`;
    writeFileSync(join(REPORTS, name), JSON.stringify(lhr));
  }
  const score = (id: string) => Math.round((lhr.categories[id]?.score ?? Number.NaN) * 100);
  const items =
    (
      lhr.audits['network-requests']?.details as
        { items?: { resourceType?: string; transferSize?: number }[] } | undefined
    )?.items ?? [];
  return {
    performance: score('performance'),
    fcp: numeric(lhr.audits, 'first-contentful-paint'),
    lcp: numeric(lhr.audits, 'largest-contentful-paint'),
    tbt: numeric(lhr.audits, 'total-blocking-time'),
    cls: numeric(lhr.audits, 'cumulative-layout-shift'),
    accessibility: score('accessibility'),
    bestPractices: score('best-practices'),
    finalUrl: lhr.finalDisplayedUrl,
    failing: failingAudits(lhr),
    scriptKiB:
      items.filter((r) => r.resourceType === 'Script').reduce((sum, r) => sum + (r.transferSize ?? 0), 0) / 1024,
    requests: items.length,
  };
}

/**
 * The LCP element, seen by a plain Chromium with the preset's screen (Lighthouse 12.2's own
 * `largest-contentful-paint-element` fails on this Chromium: its trace engine's RootCauses step
 * throws on `frame_sequence`). In simulate mode Lighthouse too finds LCP in an unthrottled load with
 * the preset's screen, so the element is the one its LCP figure is about. Also says where the load
 * ended, to check the page was the signed-in one.
 */
export async function probeLcp(
  browser: Browser,
  url: string,
  token: string,
  preset: Preset,
): Promise<{ element: string; finalUrl: string; shifts: string[] }> {
  const context = await browser.newContext(
    preset === 'mobile'
      ? { viewport: { width: 412, height: 823 }, deviceScaleFactor: 1.75, isMobile: true, hasTouch: true }
      : { viewport: { width: 1350, height: 940 }, deviceScaleFactor: 1 },
  );
  try {
    await context.addCookies([
      { name: 'rolecall_session', value: token, url: new URL(url).origin, httpOnly: true, sameSite: 'Lax' },
    ]);
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForTimeout(2500);
    const element = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          new PerformanceObserver((list) => {
            const entry = list.getEntries().at(-1) as (PerformanceEntry & { element?: Element | null }) | undefined;
            const node = entry?.element;
            if (!node) return resolve('(no element)');
            const classes = Array.from(node.classList)
              .slice(0, 3)
              .map((c) => `.${c}`)
              .join('');
            const text = (node.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 50);
            resolve(
              `<${node.tagName.toLowerCase()}${node.id ? `#${node.id}` : ''}${classes}> "${text}" at ${Math.round(entry.startTime)} ms`,
            );
          }).observe({ type: 'largest-contentful-paint', buffered: true });
          setTimeout(() => resolve('(no LCP entry)'), 1000);
        }),
    );
    // What moved (Lighthouse 12.2's own layout-shift audit fails like its LCP element): the largest shifts' nodes.
    const shifts = await page.evaluate(
      () =>
        new Promise<string[]>((resolve) => {
          type Shift = PerformanceEntry & {
            value: number;
            hadRecentInput: boolean;
            sources?: { node?: Node | null }[];
          };
          const describe = (node: Node | null | undefined) => {
            if (!(node instanceof Element)) return node?.nodeName ?? '?';
            const classes = Array.from(node.classList)
              .slice(0, 2)
              .map((c) => `.${c}`)
              .join('');
            return `<${node.tagName.toLowerCase()}${classes}>`;
          };
          new PerformanceObserver((list) => {
            const entries = list.getEntries() as Shift[];
            resolve(
              entries
                .filter((entry) => !entry.hadRecentInput && entry.value >= 0.005)
                .sort((a, b) => b.value - a.value)
                .slice(0, 3)
                .map(
                  (entry) =>
                    `${entry.value.toFixed(3)} at ${Math.round(entry.startTime)} ms: ${(entry.sources ?? []).map((source) => describe(source.node)).join(' ')}`,
                ),
            );
          }).observe({ type: 'layout-shift', buffered: true });
          setTimeout(() => resolve([]), 1000);
        }),
    );
    return { element, finalUrl: page.url(), shifts };
  } finally {
    await context.close();
  }
}
