// Starts one real stack for the integration tests: `pipewright up` (Temporal dev server,
// embedded PostgreSQL, every pool, the model server) on test ports in a throwaway PIPEWRIGHT_HOME.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// PIPEWRIGHT_IT_PORT_OFFSET moves every port, so that two checkouts can run their stacks side by side.
const OFFSET = Number(process.env.PIPEWRIGHT_IT_PORT_OFFSET ?? 0);
const PORTS = { temporal: 17233 + OFFSET, ui: 18233 + OFFSET, postgres: 15433 + OFFSET, serve: 18501 + OFFSET };

module.exports = async function globalSetup() {
  const cli = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (npm test does).`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-it-'));
  const env = {
    ...process.env,
    PIPEWRIGHT_HOME: home,
    PIPEWRIGHT_TEMPORAL_PORT: String(PORTS.temporal),
    PIPEWRIGHT_TEMPORAL_UI_PORT: String(PORTS.ui),
    PIPEWRIGHT_POSTGRES_PORT: String(PORTS.postgres),
    PIPEWRIGHT_SERVE_PORT: String(PORTS.serve),
  };
  delete env.TEMPORAL_ADDRESS;
  delete env.DATABASE_URL;
  delete env.PIPEWRIGHT_SERVE_URL;
  const logFile = path.join(home, 'up.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [cli, 'up'], { env, stdio: ['ignore', out, out] });
  const stackFile = path.join(home, 'stack.json');
  // Generous: on a fresh machine `up` may first build the Temporal CLI.
  const deadline = Date.now() + 15 * 60 * 1000;
  while (!fs.existsSync(stackFile)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pipewright up did not come up (exit ${child.exitCode}):\n${fs.readFileSync(logFile, 'utf8').slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  globalThis.__PIPEWRIGHT_UP__ = { child, home };
  process.env.PIPEWRIGHT_IT_HOME = home;
  process.env.PIPEWRIGHT_IT_ENV = JSON.stringify({
    PIPEWRIGHT_HOME: home,
    PIPEWRIGHT_TEMPORAL_PORT: String(PORTS.temporal),
    PIPEWRIGHT_TEMPORAL_UI_PORT: String(PORTS.ui),
    PIPEWRIGHT_POSTGRES_PORT: String(PORTS.postgres),
    PIPEWRIGHT_SERVE_PORT: String(PORTS.serve),
  });
};
