/**
 * The api test files that must not share a module cache (vitest.config.ts): the `api` project runs
 * with `isolate: false`, one module graph per worker, and a file that replaces a module with
 * `vi.mock` cannot have it replaced once another file of its worker has imported it. These run in
 * the `api-isolated` project instead; `isolation.spec.ts` fails when a file mocks a module and is
 * not listed here.
 */
export const MOCKS_MODULES = ['apps/api/src/common/passwords.spec.ts'];

/** The folders of the api projects' test files (`**\/*.spec.ts` in each). */
export const API_TEST_DIRS = ['apps/api/src', 'test/api'];
