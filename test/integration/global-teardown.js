// Stops the stack started in global-setup.js with Ctrl-C (SIGINT), as a user would.
const fs = require('node:fs');

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
  if (!process.env.PIPEWRIGHT_IT_KEEP) fs.rmSync(home, { recursive: true, force: true });
};
