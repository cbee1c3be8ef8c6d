import type { ClientRequest, IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defaultServerConditions, defineConfig, type ProxyOptions } from 'vite';

// SvelteKit resolves svelte.config.js, src/ and .svelte-kit/ against the process's working
// directory, read once when its Vite plugin is first imported. Switching to this folder before that
// import lets `vite dev apps/web` / `vite build apps/web` work from the repository root too.
// (Only when needed: Kit also loads this file in worker threads, where chdir is not allowed.)
const appRoot = fileURLToPath(new URL('.', import.meta.url)).replace(/\/$/, '');
if (process.cwd() !== appRoot) process.chdir(appRoot);
const { sveltekit } = await import('@sveltejs/kit/vite');

/** Where `vite dev` forwards REST and Socket.IO traffic: the API of apps/api (its `PUBLIC_URL` origin). */
const API_ORIGIN = process.env['ROLECALL_API_ORIGIN'] ?? 'http://localhost:3000';

/**
 * The API accepts cookie-authenticated writes and socket handshakes only from its own origin
 * (`PUBLIC_URL`) or `ALLOWED_ORIGINS` (CSRF). The browser calls this dev server on its own origin, so
 * a request whose Origin is this server's is same-origin: forward it with the API's origin instead.
 * Any other Origin is forwarded as it came, and the API refuses it as it would without the proxy.
 */
function sameOriginAsApi(proxy: Parameters<NonNullable<ProxyOptions['configure']>>[0]): void {
  const apiOrigin = new URL(API_ORIGIN).origin;
  const rewrite = (proxyRequest: ClientRequest, request: IncomingMessage) => {
    const secure = 'encrypted' in request.socket && request.socket.encrypted === true;
    const ownOrigin = `${secure ? 'https' : 'http'}://${request.headers.host}`;
    if (request.headers.origin === ownOrigin && !proxyRequest.headersSent) proxyRequest.setHeader('origin', apiOrigin);
  };
  proxy.on('proxyReq', rewrite);
  proxy.on('proxyReqWs', rewrite);
}

const proxy: Record<string, ProxyOptions> = {
  '/api': { target: API_ORIGIN, configure: sameOriginAsApi },
  '/socket.io': { target: API_ORIGIN, ws: true, configure: sameOriginAsApi },
};

export default defineConfig({
  plugins: [sveltekit()],
  // Compile workspace libraries (e.g. @rolecall/contracts) from their TypeScript source.
  resolve: { conditions: ['@rolecall/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@rolecall/source', ...defaultServerConditions] } },
  build: {
    rollupOptions: {
      // Rollup merges a chunk under 20 KB that only defines things (no side effects) into one that
      // is loaded under similar conditions (issue 21). Each page needs every chunk its route imports
      // before its first paint; with 76 small files a phone on HTTP/1.1 queues them 6 at a time, a
      // round trip per batch. At 40 KB a profile needed 3 scripts fewer, but once the module graph
      // shifted Rollup merged a 14 KB part of Svelte's runtime that only the routes use into the
      // entry's chunks, which every page then waited for before starting: LCP ~0.1 s later on
      // every page (Lighthouse mobile, alternated builds; README "bench:dashboard-load").
      output: {
        experimentalMinChunkSize: 20_000,
        // Every stylesheet in one file: app.css and each component's scoped <style>. A chunk of
        // nothing but CSS is dropped by Vite, which hands its one CSS file to every chunk that
        // imported it, so no script changes. Each page loaded 6–18 small stylesheets (a profile 18,
        // each a request in the queue above); now one, 57 KB (9 KB brotli) of CSS for the whole
        // app. Scoped classes do not collide, and app.css stays ahead of the components' rules.
        // (Kit forces Vite's `cssCodeSplit`, so that switch cannot do this.)
        manualChunks: (id) => (id.endsWith('/src/app.css') || id.includes('?svelte&type=style') ? 'styles' : undefined),
      },
    },
  },
  server: {
    port: 5173,
    // The workspace libraries compiled from source live outside this app's folder.
    fs: { allow: [fileURLToPath(new URL('../../libs', import.meta.url))] },
    proxy,
  },
  preview: { proxy },
});
