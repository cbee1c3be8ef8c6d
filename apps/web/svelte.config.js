import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

const BUILD = 'build';

/**
 * The API reads a page makes as it opens, whoever opens it and whatever they may do (a read made
 * only for some viewers does not belong here: a preload nobody takes is a browser warning and an
 * open request). The API preloads them with the page's index.html for a request that carries a
 * session (`Link: <…>; rel=preload; as=fetch`, apps/api/src/web), so the answer is on its way while
 * the scripts load; the page's own `fetch` of the same URL is handed that answer (same URL, CORS mode
 * and credentials: checked by dashboard-serving.spec). `[param]` stands for the route's parameter.
 * @type {Record<string, string[]>}
 */
const FIRST_READS = {
  '/(app)/users/[id]': ['/api/v1/users/[id]', '/api/v1/roles'],
};

/**
 * The files a route needs before its first paint beyond the ones index.html already preloads (the
 * client entry's): the scripts and stylesheets of its layouts and its page, from Kit's server
 * manifest (each node lists its client `imports` and `stylesheets`). The API sends them as a `Link`
 * header with the route's index.html, so the browser fetches them with the entry instead of after it.
 * @param {string} serverDirectory
 */
async function routePreloads(serverDirectory) {
  const { manifest } = await import(pathToFileURL(join(serverDirectory, 'manifest-full.js')).href);
  const inIndex = new Set([...manifest._.client.imports, ...manifest._.client.stylesheets]);
  /** @type {Map<string, { scripts: string[]; styles: string[] }>} */
  const byId = new Map();
  for (const route of manifest._.routes) {
    if (!route.page) continue;
    const nodes = [...route.page.layouts, route.page.leaf].filter((index) => index !== undefined && index !== null);
    const scripts = new Set();
    const styles = new Set();
    for (const index of nodes) {
      const node = await manifest._.nodes[index]();
      for (const file of node.imports ?? []) if (!inIndex.has(file)) scripts.add(`/${file}`);
      for (const file of node.stylesheets ?? []) if (!inIndex.has(file)) styles.add(`/${file}`);
    }
    byId.set(route.id, { scripts: [...scripts], styles: [...styles] });
  }
  return byId;
}

/**
 * adapter-static, then `build/routes.json`: every page route as SvelteKit itself matches it (its id
 * and the `pattern` regex Kit built from src/routes, groups and `[params]` included), in Kit's order,
 * its `[params]` in the order of the pattern's groups, the files it needs (`preload`, above) and the
 * reads it opens with (`reads`, FIRST_READS). The API answers index.html only for paths that match
 * one, and 404 for anything else (apps/api/src/web).
 * @param {import('@sveltejs/kit').Adapter} inner
 * @returns {import('@sveltejs/kit').Adapter}
 */
function withRouteList(inner) {
  return {
    ...inner,
    async adapt(builder) {
      await inner.adapt(builder);
      const unknown = Object.keys(FIRST_READS).filter((id) => !builder.routes.some((route) => route.id === id));
      if (unknown.length > 0) throw new Error(`FIRST_READS names routes that do not exist: ${unknown.join(', ')}`);
      const preloads = await routePreloads(builder.getServerDirectory());
      const routes = builder.routes
        .filter((route) => route.page.methods.length > 0)
        .map((route) => ({
          id: route.id,
          pattern: route.pattern.source,
          // `[id]`, `[[lang]]`, `[...rest]`, `[id=matcher]`: one group of the pattern each, in this order.
          params: [...route.id.matchAll(/\[+(?:\.\.\.)?(\w+)(?:=\w+)?\]+/g)].map((match) => match[1]),
          preload: preloads.get(route.id),
          reads: FIRST_READS[route.id] ?? [],
        }));
      writeFileSync(join(BUILD, 'routes.json'), `${JSON.stringify(routes, null, 2)}\n`);
      builder.log.minor(`Wrote ${routes.length} page routes to ${BUILD}/routes.json`);
    },
  };
}

/**
 * The dashboard is a single-page app: every route renders in the browser (`ssr = false` in the
 * root layout) and the API serves `build/` with `index.html` as the fallback for the app's routes.
 * `precompress`: every .html/.js/.css/.json/.svg/.txt also as .br and .gz (best levels, once at
 * build), which the API serves by the request's Accept-Encoding.
 * @type {import('@sveltejs/kit').Config}
 */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: withRouteList(
      adapter({ pages: BUILD, assets: BUILD, fallback: 'index.html', strict: true, precompress: true }),
    ),
    // The fallback page is served for any path (e.g. /users/abc), so asset URLs must be absolute.
    paths: { relative: false },
  },
};

export default config;
