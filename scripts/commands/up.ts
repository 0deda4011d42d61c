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

/** Resolves after SIGINT/SIGTERM, once the stack has shut down cleanly. */
export function untilSignal(stack: Stack): Promise<void> {
  return new Promise((resolve) => {
    const shutdown = (signal: string): void => {
      console.log(`\n${signal}: stopping the model server, pools, Temporal and PostgreSQL...`);
      stack.stop().then(
        () => {
          console.log('Stopped.');
          resolve();
        },
        (err: unknown) => {
          console.error(`shutdown error: ${(err as Error).message}`);
          resolve();
        },
      );
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}
