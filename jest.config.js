/**
 * Two projects: `unit` (pure code, no services) and `integration`, which shares one real stack
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
