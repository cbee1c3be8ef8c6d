/**
 * Issue 21: the API answers index.html for the dashboard's own routes only — every `+page` under
 * apps/web/src/routes, groups and `[params]` included, as the build lists them in `routes.json` —
 * and 404 in the error shape for anything else; /metrics, /api/docs, /api/v1 and /scim/v2 answer as
 * they did.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRoutes } from '../../apps/api/src/web/web.js';
import { startApp, type TestApp } from './support/app.js';
import { isErrorShape } from './support/http.js';
import { rawRequest } from './support/raw-http.js';

const ROUTES = resolve(import.meta.dirname, '../../apps/web/src/routes');
const WEB_BUILD = resolve(import.meta.dirname, '../../apps/web/build');
const built = existsSync(join(WEB_BUILD, 'index.html'));
if (!built) console.log(`[dashboard-routes] skipped: ${WEB_BUILD} is missing (npm run build)`);

/** Kit's route id of every folder of src/routes with a +page (e.g. `/(app)/users/[id]`). */
function pageRouteIds(): string[] {
  return readdirSync(ROUTES, { recursive: true, encoding: 'utf8' })
    .filter((file) => /(^|\/)\+page\.svelte$/.test(file))
    .map((file) => `/${file.replace(/\/?\+page\.svelte$/, '')}`);
}

/** A URL of the route: groups dropped, each `[param]` given a value. */
function sampleUrl(id: string): string {
  const segments = id
    .split('/')
    .filter((segment) => segment && !/^\(.+\)$/.test(segment))
    .map((segment) => (segment.startsWith('[') ? 'a-1B_c' : segment));
  return `/${segments.join('/')}`;
}

let app: TestApp;
let indexHtml: Buffer;

describe.skipIf(!built)('the dashboard’s routes and nothing else (issue 21)', () => {
  beforeAll(async () => {
    app = await startApp({ overrides: { webRoot: WEB_BUILD } });
    indexHtml = readFileSync(join(WEB_BUILD, 'index.html'));
  });
  afterAll(() => app?.close());

  it('the build lists exactly the +page routes of src/routes', () => {
    const ids = pageRouteIds();
    expect(ids).toContain('/(app)/users/[id]');
    expect(ids).toContain('/(app)/roles/new');
    expect(ids).toContain('/');
    expect(
      readRoutes(WEB_BUILD)
        ?.map((route) => route.id)
        .sort(),
    ).toEqual(ids.sort());
  });

  it('every route of src/routes gets index.html (no-cache), with or without a trailing slash', async () => {
    for (const id of pageRouteIds()) {
      for (const url of new Set([sampleUrl(id), `${sampleUrl(id)}/`.replace('//', '/')])) {
        const reply = await rawRequest(`${app.url}${url}`);
        expect(reply.status, `${id} as ${url}`).toBe(200);
        expect(reply.headers['content-type'], url).toMatch(/^text\/html/);
        expect(reply.headers['cache-control'], url).toBe('no-cache');
        expect(reply.bytes.equals(indexHtml), url).toBe(true);
      }
    }
  });

  it("each route's index.html names its layouts' and page's files in a Link header, none index.html already links", async () => {
    const html = indexHtml.toString('utf8');
    const seen = new Set<string>();
    for (const id of pageRouteIds()) {
      const reply = await rawRequest(`${app.url}${sampleUrl(id)}`);
      const link = String(reply.headers['link'] ?? '');
      const entries = link.split(', ').filter(Boolean);
      expect(entries.length, id).toBeGreaterThan(0);
      for (const entry of entries) {
        const [, file, params] = /^<([^>]+)>; (.+)$/.exec(entry) ?? [];
        expect(file, `${id}: ${entry}`).toMatch(/^\/_app\/immutable\/(nodes|chunks|assets)\/[\w.-]+\.(js|css)$/);
        expect(params, entry).toBe(file!.endsWith('.js') ? 'rel=modulepreload' : 'rel=preload; as=style; crossorigin');
        expect(html.includes(`"${file}"`), `${id}: ${file} is in index.html already`).toBe(false);
        seen.add(file!);
      }
    }
    // Every file named is one the build serves, as an immutable file.
    for (const file of seen) {
      const reply = await rawRequest(`${app.url}${file}`, { method: 'HEAD' });
      expect(reply.status, file).toBe(200);
      expect(reply.headers['cache-control'], file).toMatch(/immutable/);
    }
    // The profile's own page script is among its files, and not among the sign-in page's.
    const profile = String((await rawRequest(`${app.url}/users/a-1B_c`)).headers['link']);
    const signin = String((await rawRequest(`${app.url}/signin`)).headers['link']);
    const profileOnly = profile.split(', ').filter((entry) => !signin.includes(entry));
    expect(profileOnly.some((entry) => /\/nodes\/\d+\.[\w-]+\.js>/.test(entry))).toBe(true);
    // A 404 names nothing.
    expect((await rawRequest(`${app.url}/wp-login.php`)).headers['link']).toBeUndefined();
  });

  it('a signed-in request for a profile preloads its first reads, first; a signed-out one or an odd id does not', async () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const cookie = { cookie: 'rolecall_session=anything' };
    const dataLinks = async (url: string, headers: Record<string, string> = {}) =>
      String((await rawRequest(`${app.url}${url}`, { headers })).headers['link'] ?? '')
        .split(', ')
        .filter((entry) => entry.includes('as=fetch'));
    const signedIn = String((await rawRequest(`${app.url}/users/${id}`, { headers: cookie })).headers['link']);
    expect(signedIn.split(', ').slice(0, 2)).toEqual([
      `</api/v1/users/${id}>; rel=preload; as=fetch; crossorigin`,
      '</api/v1/roles>; rel=preload; as=fetch; crossorigin',
    ]);
    // Signed out, the reads would only be refused (and logged by the browser as failed requests).
    expect(await dataLinks(`/users/${id}`)).toEqual([]);
    // Nothing but unreserved characters of the path goes into the header.
    for (const odd of ['a%0D%0ALink:%20x', '..', 'a.b', 'a%3E;%20rel=x', '%2E%2E', 'x'.repeat(129)])
      expect(await dataLinks(`/users/${odd}`, cookie), odd).toEqual([]);
    // A page without first reads names none, signed in or not.
    expect(await dataLinks('/activity', cookie)).toEqual([]);
  });

  it('a path next to a route, or under one, is not the app', async () => {
    for (const url of ['/users/a/b', '/roles/new/x', '/me/x', '/signin.php', '/invite', '/app', '/(app)/users']) {
      for (const method of ['GET', 'HEAD', 'POST']) {
        const reply = await rawRequest(`${app.url}${url}`, { method });
        expect(reply.status, `${method} ${url}`).toBe(404);
        expect(reply.headers['content-type'], `${method} ${url}`).toMatch(/^application\/json/);
        if (method !== 'HEAD') {
          const body = JSON.parse(reply.bytes.toString('utf8')) as unknown;
          expect(isErrorShape(body), url).toBe(true);
          expect((body as { error: { code: string } }).error.code).toBe('NOT_FOUND');
        }
      }
    }
  });

  it('/metrics, /api/docs, /api/v1 and /scim/v2 answer as before', async () => {
    const metrics = await rawRequest(`${app.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.bytes.toString('utf8')).toContain('# HELP');

    const docs = await rawRequest(`${app.url}/api/docs`);
    expect(docs.status).toBe(200);
    expect(docs.bytes.toString('utf8')).toContain('swagger-ui');
    expect(docs.headers['content-security-policy']).toMatch(/style-src 'self' 'unsafe-inline'/);
    const document = await rawRequest(`${app.url}/api/docs-json`);
    expect(document.status).toBe(200);
    expect((JSON.parse(document.bytes.toString('utf8')) as { openapi: string }).openapi).toMatch(/^3\./);

    const api = await rawRequest(`${app.url}/api/v1/me`);
    expect(api.status).toBe(401);
    expect(api.headers['content-security-policy']).toMatch(/style-src 'self';/);
    const unknown = await rawRequest(`${app.url}/api/v1/no-such-thing`);
    expect(unknown.status).toBe(404);
    expect(isErrorShape(JSON.parse(unknown.bytes.toString('utf8')))).toBe(true);

    const scim = await rawRequest(`${app.url}/scim/v2/ServiceProviderConfig`);
    expect(scim.headers['content-type']).not.toMatch(/^text\/html/);
  });
});
