import { availableParallelism } from 'node:os';
import swc from 'unplugin-swc';
import { defaultServerConditions } from 'vite';
import { configDefaults, defineConfig } from 'vitest/config';
import { API_TEST_DIRS, MOCKS_MODULES } from './test/api/support/isolation.js';

/**
 * Workspace libs export their TypeScript source under the `@rolecall/source` condition
 * (libs/*\/package.json), so tests run against the source and never need a built `dist/`.
 * Vite keeps top-level `resolve` for the client environment; tests in the node environment
 * resolve through the SSR environment, so both get the condition, ahead of Node's defaults.
 */
const sourceConditions = {
  resolve: { conditions: ['@rolecall/source', ...defaultServerConditions] },
  ssr: { resolve: { conditions: ['@rolecall/source', ...defaultServerConditions] } },
};

/** NestJS reads constructor types from `design:paramtypes`, which esbuild does not emit: swc does. */
const nestSwc = () =>
  swc.vite({
    tsconfigFile: false,
    module: { type: 'es6' },
    jsc: {
      target: 'es2023',
      keepClassNames: true,
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
  });

/**
 * The api project's files share their worker's module cache (`isolate: false`): each fork imports
 * Nest, TypeORM, Socket.IO and the app once, not once per file. Importing was a third of the
 * project's worker time (unit + api on SQLite, 2 workers: 186 s → 101 s wall). The browser project
 * shares it too (its imports fell 41 s → 5 s; its time is Chromium's). What that asks of a test file:
 * leave no process-wide change behind — spies are restored after every file (process-guard.setup.ts),
 * apps and clients closed as always. A file that replaces a module (`vi.mock`) cannot share a cache
 * its module is already in: it is listed in MOCKS_MODULES (support/isolation.ts; isolation.spec.ts
 * checks the list) and runs in `api-isolated`, a fresh module graph per file. `--project 'api*'` runs both.
 */
const apiProject = {
  globalSetup: ['test/api/support/global-setup.ts'],
  // An unhandled rejection or uncaught exception in a test process fails the suite.
  setupFiles: ['test/api/support/process-guard.setup.ts'],
  environment: 'node',
  include: API_TEST_DIRS.map((dir) => `${dir}/**/*.spec.ts`),
  pool: 'forks' as const,
  fileParallelism: true,
  testTimeout: 30_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    // Vitest's default is one worker fewer than the cores: one file at a time on CI's 2 cores. API
    // test files mostly wait (sockets, spawned nodes, PostgreSQL), so two at a time took the api
    // project from ~330 s to 189 s on SQLite, every file passing. For every project (Vitest wants
    // one setting per run order); the browser project stays one file at a time (fileParallelism).
    maxWorkers: Math.max(2, availableParallelism()),
    projects: [
      {
        ...sourceConditions,
        test: {
          name: 'unit',
          environment: 'node',
          include: ['libs/*/src/**/*.spec.ts'],
        },
      },
      {
        ...sourceConditions,
        plugins: [nestSwc()],
        test: { ...apiProject, name: 'api', isolate: false, exclude: [...configDefaults.exclude, ...MOCKS_MODULES] },
      },
      {
        ...sourceConditions,
        plugins: [nestSwc()],
        test: { ...apiProject, name: 'api-isolated', include: MOCKS_MODULES },
      },
      {
        ...sourceConditions,
        plugins: [nestSwc()],
        test: {
          name: 'browser',
          isolate: false,
          // After the unit and api projects (group 0), alone: projects that run together must agree on
          // maxWorkers, and .ci/run starts its Node 24 suites when this project's first file appears.
          sequence: { groupOrder: 1 },
          environment: 'node',
          include: ['test/browser/**/*.spec.ts'],
          pool: 'forks',
          // Chromium per file is heavy on two cores: one browser file at a time.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
