/**
 * The api project shares a module cache per worker (vitest.config.ts): a test file that replaces a
 * module must run in `api-isolated`, or its mock misses a module another file of its worker imported
 * first (passwords.spec's `vi.mock('node:crypto')` did, before it was listed).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { API_TEST_DIRS, MOCKS_MODULES } from './support/isolation.js';

const ROOT = resolve(import.meta.dirname, '../..');

it('runs every api test file that mocks a module in the api-isolated project', () => {
  const files = API_TEST_DIRS.flatMap((dir) =>
    readdirSync(resolve(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.spec.ts'))
      .map((file) => join(dir, file)),
  );
  expect(files.length, 'the api test files are found').toBeGreaterThan(50);
  expect(files).toContain('test/api/isolation.spec.ts');
  const mocking = files
    .filter((file) => file !== 'test/api/isolation.spec.ts') // names the call in its own text
    .filter((file) => /\bvi\s*\.\s*(?:do)?[mM]ock\s*\(/.test(readFileSync(resolve(ROOT, file), 'utf8')));
  expect(mocking.sort()).toEqual([...MOCKS_MODULES].sort());
});
