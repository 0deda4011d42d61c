/**
 * `npm run test:cluster`: `pipewright up --cluster` (the full Temporal server on PostgreSQL) with a
 * pipeline run on it, and (as root) pools on several hosts made as network namespaces, one cut off
 * mid-run (multi-host.test.ts). Kept out of jest.config.js, so `npm test` neither starts a second stack nor
 * builds the server; .ci/run runs it after `npm test`.
 */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
module.exports = {
  testTimeout: 1500000,
  projects: [{ displayName: 'cluster', roots: ['<rootDir>/test/cluster'], testEnvironment: 'node', transform }],
};
