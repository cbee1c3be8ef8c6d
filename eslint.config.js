import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier/flat';
import { defineConfig, globalIgnores } from 'eslint/config';
import { createProjectGraphAsync } from 'nx/src/devkit-exports.js';
import tseslint from 'typescript-eslint';

// `@nx/enforce-module-boundaries` reads Nx's cached project graph and silently skips itself when there
// is none (plain `npx eslint` on a fresh clone, an editor). Inside an Nx task the graph is already fresh.
if (!process.env.NX_TASK_TARGET_PROJECT) await createProjectGraphAsync({ exitOnError: false });

export default defineConfig(
  globalIgnores([
    '**/dist/',
    '**/build/',
    '**/.svelte-kit/',
    '**/node_modules/',
    '**/coverage/',
    '**/test-results/',
    'data/',
    'tmp/',
    // Svelte components are checked by svelte-check (apps/web `typecheck`).
    '**/*.svelte',
  ]),

  // Registers the `@nx` plugin and ignores `.nx/`.
  ...nx.configs['flat/base'],

  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },

  // SPEC §2: contracts and domain depend on nothing of ours; api and web never import each other.
  {
    files: ['**/*.ts', '**/*.js'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          depConstraints: [
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:contracts'] },
            { sourceTag: 'type:client', onlyDependOnLibsWithTags: ['type:contracts'] },
            { sourceTag: 'scope:api', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:web', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
          ],
        },
      ],
    },
  },

  // Cross-app suites drive the apps from outside and may import any of them.
  {
    files: ['test/**'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },

  // Last: turns off every stylistic rule that would fight Prettier.
  prettier,
);
