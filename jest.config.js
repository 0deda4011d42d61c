/**
 * Three projects: `unit` (pure code, no services), `workflows` (the workflows on a local Temporal
 * dev server with fake activities, plus history replay) and `integration`, which shares one real stack
 * (Temporal dev server, embedded PostgreSQL, every pool, the model server) started by
 * `pipewright up` in globalSetup and stopped in globalTeardown.
 */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
module.exports = {
  testTimeout: 600000,
  projects: [
    {
      displayName: 'unit',
      roots: ['<rootDir>/test/unit'],
      testEnvironment: 'node',
      transform,
    },
    {
      // Workflow code against a local Temporal dev server with fake activities, and replay of
      // recorded histories (test/workflows/histories): no stack, no globalSetup.
      displayName: 'workflows',
      roots: ['<rootDir>/test/workflows'],
      testEnvironment: 'node',
      transform,
    },
    {
      displayName: 'integration',
      // chaos/ (kill and restart) shares the integration stack.
      roots: ['<rootDir>/test/integration', '<rootDir>/test/chaos'],
      testEnvironment: 'node',
      transform,
      globalSetup: '<rootDir>/test/integration/global-setup.js',
      globalTeardown: '<rootDir>/test/integration/global-teardown.js',
    },
  ],
};
