import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/**
 * The dashboard is a single-page app: every route renders in the browser (`ssr = false` in the
 * root layout) and the API serves `build/` with `index.html` as the fallback for unknown paths.
 * @type {import('@sveltejs/kit').Config}
 */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    // The fallback page is served for any path (e.g. /users/abc), so asset URLs must be absolute.
    paths: { relative: false },
  },
};

export default config;
