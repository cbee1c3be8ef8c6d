import { fileURLToPath } from 'node:url';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import rootConfig from '../../vitest.config.js';

/**
 * Benchmarks: `npx vitest run --config test/bench/vitest.bench.config.ts [name]`.
 *
 * Reuses the root config's `api` project (the swc plugin that emits decorator metadata for NestJS, and
 * the `@rolecall/source` resolve conditions), so benchmarks run the API from its TypeScript source like
 * the API suite does. Only `test/bench/**\/*.bench-run.ts` is included: the normal `vitest run` never
 * picks these files up, and `vitest bench`'s default `*.bench.ts` glob does not either.
 */
const api = rootConfig.test?.projects?.find(
  (project): project is TestProjectInlineConfiguration =>
    typeof project === 'object' && project !== null && 'test' in project && project.test?.name === 'api',
);
if (!api) throw new Error('vitest.config.ts has no inline `api` project to borrow the swc plugin and conditions from');

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  ...(api.resolve ? { resolve: api.resolve } : {}),
  ...(api.ssr ? { ssr: api.ssr } : {}),
  ...(api.plugins ? { plugins: api.plugins } : {}),
  test: {
    name: 'bench',
    environment: 'node',
    include: ['test/bench/**/*.bench-run.ts'],
    pool: 'forks',
    // One benchmark at a time: they measure latency on a small machine.
    fileParallelism: false,
    // Print tables as they come, without vitest's per-test console headers.
    disableConsoleIntercept: true,
    testTimeout: 15 * 60_000,
    hookTimeout: 5 * 60_000,
  },
});
