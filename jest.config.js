/** Unit tests are pure; integration tests share one real stack started in globalSetup. */
module.exports = {
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testEnvironment: 'node',
  globalSetup: '<rootDir>/test/integration/global-setup.js',
  globalTeardown: '<rootDir>/test/integration/global-teardown.js',
  testTimeout: 600000,
  maxWorkers: 1,
};
