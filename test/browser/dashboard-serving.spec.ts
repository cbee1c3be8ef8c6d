/**
 * Issue 21, the serving half: the dashboard's files go out precompressed (brotli or gzip by the
 * request's Accept-Encoding) with `Vary`, hashed files cached for a year as immutable and index.html
 * revalidated; every page loads in Chromium under the real Content-Security-Policy (no
 * 'unsafe-inline') with no violation and nothing in the console; /robots.txt keeps crawlers out, and
 * a path the dashboard does not own answers 404 in the API's error shape instead of the app's HTML.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { PASSWORD, type Joined, type SignedUp } from '../api/support/factories.js';
import { isErrorShape } from '../api/support/http.js';
import { rawRequest } from '../api/support/raw-http.js';
import { browserReady, newPage, signIn, startProduct, WEB_BUILD } from './support/browser.js';
import { seedEveryPage, type EveryPage } from './support/every-page.js';

/** A GET (or HEAD) that neither adds nor undoes any content coding: what a browser or proxy sees. */
const rawGet = (url: string, headers: Record<string, string> = {}, method = 'GET') =>
  rawRequest(url, { method, headers });

/** What the browser saw while on a page: CSP violations (the DOM event), console errors, uncaught errors. */
interface Watch {
  violations: string[];
  consoleErrors: string[];
  errors: string[];
}

interface Watched {
  context: BrowserContext;
  page: Page;
  seen: Watch;
  /**
   * Until no request of the page has been in flight for 500 ms (what Playwright's 'networkidle' means);
   * fails after 15 s naming what is still in flight. Twice in CI a signed-out page never got there:
   * the session probe app.html preloads, never taken by a public page, stayed open in Chromium until
   * the page was left (2 of 9 runs here under load; every page now takes it over at boot).
   */
  settled(): Promise<void>;
}

async function watchedPage(browser: Browser): Promise<Watched> {
  const { context, page, errors } = await newPage(browser);
  const inFlight = new Map<object, string>();
  let lastChange = Date.now();
  const track = (request: { method(): string; url(): string }, busy: boolean) => {
    if (busy) inFlight.set(request, `${request.method()} ${request.url()}`);
    else inFlight.delete(request);
    lastChange = Date.now();
  };
  page.on('request', (request) => track(request, true));
  page.on('requestfinished', (request) => track(request, false));
  page.on('requestfailed', (request) => track(request, false));
  const settled = async () => {
    await page.waitForLoadState('load');
    const until = Date.now() + 15_000;
    while (inFlight.size > 0 || Date.now() - lastChange < 500) {
      if (Date.now() > until)
        throw new Error(`${page.url()}: still in flight after 15 s: ${[...inFlight.values()].join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const seen: Watch = { violations: [], consoleErrors: [], errors };
  await context.exposeBinding('__reportCspViolation', (_source, violation: string) => {
    seen.violations.push(violation);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { __reportCspViolation: (violation: string) => void }).__reportCspViolation;
      void report(
        `${event.effectiveDirective} blocked ${event.blockedURI || '(inline)'} at ${event.sourceFile}:${event.lineNumber} sample=${JSON.stringify(event.sample)}`,
      );
    });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') seen.consoleErrors.push(`${new URL(page.url()).pathname}: ${message.text()}`);
  });
  return { context, page, seen, settled };
}

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;
let owner: SignedUp;
let member: Joined;
/** Signed-out pages, then the owner's pages (support/every-page.ts). */
let publicPaths: EveryPage['publicPaths'];
let ownerPaths: EveryPage['ownerPaths'];

/** The build's largest JavaScript chunk and its stylesheet (what issue 21 measured), by URL path. */
function largestBuilt(extension: '.js' | '.css'): string {
  const manifest = readFileSync(join(WEB_BUILD, 'index.html'), 'utf8');
  const named = [...manifest.matchAll(/\/_app\/immutable\/[^"]+/g)]
    .map((match) => match[0])
    .filter((path) => path.endsWith(extension));
  const sizes = named.map((path) => ({ path, size: readFileSync(join(WEB_BUILD, path)).length }));
  return sizes.sort((a, b) => b.size - a.size)[0]!.path;
}

describe.skipIf(!browserReady)('serving the dashboard (issue 21)', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
    ({ owner, member, publicPaths, ownerPaths } = await seedEveryPage(app));
  }, 90_000);
  afterAll(() => close?.());

  it('serves each file as its precompressed twin by Accept-Encoding (brotli first), with Vary', async () => {
    for (const path of ['/signin', largestBuilt('.js'), largestBuilt('.css')]) {
      const plain = await rawGet(`${app.url}${path}`);
      expect(plain.status, path).toBe(200);
      expect(plain.headers['content-encoding'], path).toBeUndefined();
      expect(plain.headers['vary'], path).toMatch(/Accept-Encoding/i);

      const br = await rawGet(`${app.url}${path}`, { 'accept-encoding': 'gzip, deflate, br, zstd' });
      expect(br.headers['content-encoding'], path).toBe('br');
      expect(br.headers['vary'], path).toMatch(/Accept-Encoding/i);
      expect(brotliDecompressSync(br.bytes).equals(plain.bytes), path).toBe(true);
      expect(br.bytes.length, path).toBeLessThan(plain.bytes.length / 2);

      const gzip = await rawGet(`${app.url}${path}`, { 'accept-encoding': 'gzip, deflate' });
      expect(gzip.headers['content-encoding'], path).toBe('gzip');
      expect(gunzipSync(gzip.bytes).equals(plain.bytes), path).toBe(true);
      expect(String(gzip.headers['content-type']).toLowerCase(), path).toBe(
        String(plain.headers['content-type']).toLowerCase(),
      );
      // The two codings are two representations: each its own validator.
      expect(gzip.headers['etag'], path).not.toBe(br.headers['etag']);
    }
  });

  it('caches hashed files for a year as immutable and revalidates index.html on every load', async () => {
    for (const path of [largestBuilt('.js'), largestBuilt('.css')]) {
      for (const encoding of ['br', 'gzip', 'identity']) {
        const reply = await rawGet(`${app.url}${path}`, { 'accept-encoding': encoding });
        expect(reply.headers['cache-control'], `${path} ${encoding}`).toBe('public, max-age=31536000, immutable');
      }
    }
    for (const path of ['/', '/users', `/users/${member.member.id}`, '/index.html']) {
      const reply = await rawGet(`${app.url}${path}`, { 'accept-encoding': 'br' });
      expect(reply.headers['content-type'], path).toMatch(/^text\/html/);
      expect(reply.headers['cache-control'], path).toBe('no-cache');
      expect(reply.headers['content-encoding'], path).toBe('br');
      // no-cache is cheap: the browser revalidates with the validator and gets a 304 without a body.
      const again = await rawGet(`${app.url}${path}`, {
        'accept-encoding': 'br',
        'if-none-match': String(reply.headers['etag']),
      });
      expect(again.status, path).toBe(304);
      expect(again.bytes.length, path).toBe(0);
    }
  });

  it('Chromium gets the compressed files, and a reload takes the hashed ones from its cache', async () => {
    const { context, page } = await watchedPage(browser);
    const encodings = new Map<string, string | undefined>();
    page.on('response', async (response) => {
      const path = new URL(response.url()).pathname;
      if (path.startsWith('/api/')) return;
      encodings.set(path, (await response.allHeaders())['content-encoding']);
    });
    await page.goto(`${app.url}/signin`);
    await page.waitForSelector('main h1');
    await page.waitForLoadState('networkidle');
    const files = [...encodings.keys()].filter((path) => path.endsWith('.js') || path.endsWith('.css'));
    expect(files.length).toBeGreaterThan(3);
    // Over plain http Chromium offers gzip (brotli only over https or localhost); either is compressed.
    for (const path of ['/signin', ...files]) expect(encodings.get(path), path).toMatch(/^(br|gzip)$/);

    const fromNetwork: string[] = [];
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.startsWith('/_app/immutable/')) fromNetwork.push(path);
    });
    await page.goto(`${app.url}/signin`);
    // Rendered: every script and stylesheet the page needs has come (from the cache or not).
    await page.waitForSelector('main h1');
    await page.waitForLoadState('load');
    const served = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .map((entry) => entry as PerformanceResourceTiming)
        .filter((entry) => new URL(entry.name).pathname.startsWith('/_app/immutable/'))
        .map((entry) => ({ path: new URL(entry.name).pathname, transferred: entry.transferSize })),
    );
    expect(served.length).toBeGreaterThan(3);
    // transferSize 0: from the memory or disk cache, no request at all (no 304 round trip).
    expect(served.filter((entry) => entry.transferred > 0)).toEqual([]);
    await context.close();
  });

  it('every page loads under the Content-Security-Policy with no violation and no console error', async () => {
    const csp = (await rawGet(`${app.url}/signin`)).headers['content-security-policy'] as string;
    expect(csp).toMatch(/style-src 'self'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    // One style attribute is allowed, by its hash: SvelteKit's route announcer (not ours to restyle).
    expect(csp).toMatch(/style-src-attr 'unsafe-hashes' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);

    const signedOut = await watchedPage(browser);
    for (const path of Object.values(publicPaths)) {
      await signedOut.page.goto(`${app.url}${path}`);
      await signedOut.page.waitForSelector('main h1');
      await signedOut.settled();
    }
    expect(signedOut.seen).toEqual({ violations: [], consoleErrors: [], errors: [] });
    await signedOut.context.close();

    const signedIn = await watchedPage(browser);
    await signIn(signedIn.page, app.url, owner.email, PASSWORD);
    for (const path of Object.values(ownerPaths)) {
      await signedIn.page.goto(`${app.url}${path}`);
      await signedIn.page.waitForSelector('main');
      await signedIn.settled();
    }
    // What opens after load: a dialog, the row menu, a toast's transition.
    await signedIn.page.goto(`${app.url}/users`);
    await signedIn.page.getByRole('button', { name: 'More actions for Eddie Editor' }).click();
    await signedIn.page.getByRole('menu', { name: 'More actions for Eddie Editor' }).waitFor();
    await signedIn.page.keyboard.press('Escape');
    await signedIn.page.goto(`${app.url}/users/${member.member.id}`);
    await signedIn.page.getByRole('button', { name: 'Revoke access' }).click();
    await signedIn.page.getByRole('dialog', { name: /^Revoke/ }).waitFor();
    await signedIn.page.keyboard.press('Escape');
    expect(signedIn.seen).toEqual({ violations: [], consoleErrors: [], errors: [] });
    await signedIn.context.close();
  });

  it("a profile's first reads come with its HTML (Link preload), and the page takes them: one request each", async () => {
    const { context, page, seen, settled } = await watchedPage(browser);
    const warnings: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    await signIn(page, app.url, owner.email, PASSWORD);
    await settled(); // the page signing in lands on reads its own
    const reads: string[] = [];
    const contextReads: string[] = [];
    let sessionReads = 0;
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === `/api/v1/users/${member.member.id}`) reads.push(`${request.method()} ${url.pathname}`);
      if (['/api/v1/roles', '/api/v1/account', '/api/v1/teams'].includes(url.pathname)) contextReads.push(url.pathname);
      if (url.pathname === '/api/v1/auth/session') sessionReads += 1;
    });
    const response = await page.goto(`${app.url}/users/${member.member.id}`);
    const link = (await response!.allHeaders())['link'] ?? '';
    expect(link.split(', ').slice(0, 2)).toEqual([
      `</api/v1/users/${member.member.id}>; rel=preload; as=fetch; crossorigin`,
      '</api/v1/roles>; rel=preload; as=fetch; crossorigin',
    ]);
    await page.getByRole('heading', { name: 'Role and access' }).waitFor();
    await settled();
    // The preload is the page's read (Chromium hands it over): asked once, and no "preloaded but not used".
    expect(reads).toEqual([`GET /api/v1/users/${member.member.id}`]);
    // Once connected, the live store reads the session again (GET /me): the page's account, teams
    // and roles are not read again for it (same permissions, nothing changed).
    await expect.poll(() => sessionReads, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await settled();
    expect(contextReads.sort()).toEqual(['/api/v1/account', '/api/v1/roles', '/api/v1/teams']);
    expect(warnings.filter((text) => /preload/i.test(text))).toEqual([]);
    expect(seen).toEqual({ violations: [], consoleErrors: [], errors: [] });
    await context.close();
  });

  it('every page takes its styles from one stylesheet of the build (a phone queues each file)', async () => {
    const { context, page, seen } = await watchedPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    const sheets: string[] = [];
    page.on('request', (request) => {
      if (request.resourceType() === 'stylesheet') sheets.push(new URL(request.url()).pathname);
    });
    for (const path of [...Object.values(ownerPaths), publicPaths.signin]) {
      sheets.length = 0;
      await page.goto(`${app.url}${path}`);
      await page.waitForSelector('main h1');
      const built = [...new Set(sheets.filter((sheet) => sheet.startsWith('/_app/')))];
      expect({ path, built: built.length }).toEqual({ path, built: 1 });
    }
    // app.css and the components' scoped rules are both in it: PageHeader's h1 rule (4 px below)
    // wins over app.css's (12 px), on specificity as before.
    await page.goto(`${app.url}${ownerPaths.users}`);
    const heading = page.locator('main .page-header h1');
    expect(await heading.evaluate((h1) => getComputedStyle(h1).marginBottom)).toBe('4px');
    expect(await heading.evaluate((h1) => getComputedStyle(h1).fontSize)).toBe('24px');
    expect(seen).toEqual({ violations: [], consoleErrors: [], errors: [] });
    await context.close();
  });

  it('no page reads its data again when the live connection comes up and reads the session', async () => {
    const { context, page, seen, settled } = await watchedPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    await settled();
    let sessionReads = 0;
    const before = new Set<string>();
    const after = new Set<string>();
    /** Every GET of the API but the session's, with its query: none is asked twice. */
    const reads: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      const path = url.pathname;
      if (path === '/api/v1/auth/session') sessionReads += 1;
      else if (path.startsWith('/api/') && request.method() === 'GET') {
        (sessionReads >= 2 ? after : before).add(path);
        reads.push(`${path}${url.search}`);
      }
    });
    for (const path of Object.values(ownerPaths)) {
      sessionReads = 0;
      before.clear();
      after.clear();
      reads.length = 0;
      await page.goto(`${app.url}${path}`);
      // The page's own session read, then the live store's once connected (GET /me, SPEC §7).
      await expect.poll(() => sessionReads, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      await settled();
      // A read still under way may finish later (after), but none that was made before is made again.
      expect({ path, readAgain: [...after].filter((read) => before.has(read)) }).toEqual({ path, readAgain: [] });
      // Nor before it: the live client's arrival (after the first paint) made `/activity`'s effect
      // follow the feed again — its first page read twice and every row rendered again (issue 21).
      // (On /account the page and its Service accounts card each read the roles: two components.)
      const twice = reads.filter((read, i) => reads.indexOf(read) !== i);
      expect({ path, readTwice: twice.filter((read) => !(path === '/account' && read === '/api/v1/roles')) }).toEqual({
        path,
        readTwice: [],
      });
    }
    expect(seen).toEqual({ violations: [], consoleErrors: [], errors: [] });
    await context.close();
  });

  it("a profile's side column shows whole: no card appears while the one above it is still reading", async () => {
    const { context, page, seen } = await watchedPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    // "What can they do" (the column's first card) is answered only when the test says so.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const asked: string[] = [];
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (/\/(sessions|permissions)$|\/activity$/.test(path)) asked.push(path);
    });
    await page.route(`**/api/v1/users/${member.member.id}/permissions`, async (route) => {
      await released;
      await route.continue();
    });
    await page.goto(`${app.url}/users/${member.member.id}`);
    await page.getByRole('heading', { name: 'Role and access' }).waitFor();
    // The sessions and activity have been read meanwhile; still the column stays hidden.
    await expect.poll(() => asked.length, { timeout: 10_000 }).toBe(3);
    await page.waitForTimeout(300);
    expect(await page.getByRole('heading', { name: 'Sessions' }).isVisible()).toBe(false);
    expect(await page.getByRole('heading', { name: 'Activity' }).isVisible()).toBe(false);
    release();
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    await page.getByRole('heading', { name: /^What can .+ do$/ }).waitFor();
    expect(await page.getByRole('heading', { name: 'Activity' }).isVisible()).toBe(true);
    expect(seen).toEqual({ violations: [], consoleErrors: [], errors: [] });
    await context.close();
  });

  it('/api/docs (Swagger UI, its own inline styles allowed there) still renders without a violation', async () => {
    const { context, page, seen } = await watchedPage(browser);
    await page.goto(`${app.url}/api/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();
    expect(await page.locator('.swagger-ui .info .title').innerText()).toContain('Rolecall API');
    // Its inline <style> applied: the body's margin is 0.
    expect(await page.evaluate(() => getComputedStyle(document.body).margin)).toBe('0px');
    expect(seen).toEqual({ violations: [], consoleErrors: [], errors: [] });
    await context.close();
  });

  it('/robots.txt keeps every crawler out', async () => {
    const reply = await rawGet(`${app.url}/robots.txt`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/plain/);
    expect(reply.bytes.toString('utf8')).toBe('User-agent: *\nDisallow: /\n');
  });

  it('a path the dashboard does not own answers 404 in the error shape, not the app', async () => {
    for (const path of [
      '/wp-login.php',
      '/metrics.php',
      '/foo',
      '/users/x/y',
      '/_app/immutable/chunks/gone.js',
      '/.env',
    ]) {
      for (const method of ['GET', 'HEAD']) {
        const reply = await rawGet(`${app.url}${path}`, { 'accept-encoding': 'br, gzip' }, method);
        expect(reply.status, `${method} ${path}`).toBe(404);
        expect(reply.headers['content-type'], `${method} ${path}`).toMatch(/^application\/json/);
        if (method === 'GET') {
          const body = JSON.parse(reply.bytes.toString('utf8')) as unknown;
          expect(isErrorShape(body), path).toBe(true);
          expect((body as { error: { code: string } }).error.code, path).toBe('NOT_FOUND');
        }
      }
    }
    // In the browser too: the 404 is JSON, not the app.
    const { context, page } = await newPage(browser);
    const response = await page.goto(`${app.url}/wp-login.php`);
    expect(response?.status()).toBe(404);
    expect(await page.locator('main').count()).toBe(0);
    await context.close();
  });
});
