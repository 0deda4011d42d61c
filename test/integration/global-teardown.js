// Stops the stack started in global-setup.js with Ctrl-C (SIGINT), as a user would.
const fs = require('node:fs');
const path = require('node:path');

module.exports = async function globalTeardown() {
  const up = globalThis.__PIPEWRIGHT_UP__;
  if (!up) return;
  const { child, home } = up;
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  }
  // Ctrl-C must take everything down in order, not die half-way (exit 130 after "Stopped.").
  const log = fs.readFileSync(path.join(home, 'up.log'), 'utf8');
  const clean = child.exitCode === 130 && log.includes('Stopped.');
  if (!process.env.PIPEWRIGHT_IT_KEEP) fs.rmSync(home, { recursive: true, force: true });
  if (!clean) throw new Error(`pipewright up did not stop cleanly on SIGINT (exit ${child.exitCode}, signal ${child.signalCode}):\n${log.slice(-2000)}`);
};
