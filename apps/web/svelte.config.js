import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

const BUILD = 'build';

/**
 * adapter-static, then `build/routes.json`: every page route as SvelteKit itself matches it (its id
 * and the `pattern` regex Kit built from src/routes, groups and `[params]` included). The API
 * answers index.html only for paths that match one, and 404 for anything else (apps/api/src/web).
 * @param {import('@sveltejs/kit').Adapter} inner
 * @returns {import('@sveltejs/kit').Adapter}
 */
function withRouteList(inner) {
  return {
    ...inner,
    async adapt(builder) {
      await inner.adapt(builder);
      const routes = builder.routes
        .filter((route) => route.page.methods.length > 0)
        .map((route) => ({ id: route.id, pattern: route.pattern.source }));
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
