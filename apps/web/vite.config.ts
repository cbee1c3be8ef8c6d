import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defaultServerConditions, defineConfig } from 'vite';

// SvelteKit resolves svelte.config.js, src/ and .svelte-kit/ against the process's working
// directory, read once when its Vite plugin is first imported. Switching to this folder before that
// import lets `vite dev apps/web` / `vite build apps/web` work from the repository root too.
// (Only when needed: Kit also loads this file in worker threads, where chdir is not allowed.)
const appRoot = fileURLToPath(new URL('.', import.meta.url)).replace(/\/$/, '');
if (process.cwd() !== appRoot) process.chdir(appRoot);
const { sveltekit } = await import('@sveltejs/kit/vite');

/** Where `vite dev` forwards REST and Socket.IO traffic: the API of apps/api. */
const API_ORIGIN = process.env['ROLECALL_API_ORIGIN'] ?? 'http://localhost:3000';

const proxy = {
  '/api': { target: API_ORIGIN },
  '/socket.io': { target: API_ORIGIN, ws: true },
};

export default defineConfig({
  plugins: [sveltekit()],
  // Compile workspace libraries (e.g. @rolecall/contracts) from their TypeScript source.
  resolve: { conditions: ['@rolecall/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@rolecall/source', ...defaultServerConditions] } },
  server: {
    port: 5173,
    // The workspace libraries compiled from source live outside this app's folder.
    fs: { allow: [fileURLToPath(new URL('../../libs', import.meta.url))] },
    proxy,
  },
  preview: { proxy },
});
