import { loadConfig } from '../../lib/config';
import { WORKER_POOLS } from '../../contracts';
import { onInterrupt } from '../client/interrupt';
import { printStackInfo } from '../client/print';
import { startStack, type Stack } from '../stack/stack';

/**
 * `pipewright up`: the embedded stack in the foreground until Ctrl-C. `--cluster` runs the full
 * Temporal server on the stack's PostgreSQL instead of the dev server (as PIPEWRIGHT_TEMPORAL_CLUSTER=on).
 */
export async function upCommand(options: { cluster?: boolean } = {}): Promise<number> {
  const config = loadConfig();
  if (options.cluster) config.temporalCluster = true;
  const stack = await startStack(config, { pools: WORKER_POOLS, modelServer: true, log: (l) => console.log(l) });
  printStackInfo(stack.info, config.home);
  console.log('\nPress Ctrl-C to stop.');
  await untilSignal(stack);
  return 0;
}

/**
 * Stops the stack in order (model server and pools, then Temporal, then PostgreSQL) on Ctrl-C or
 * SIGTERM, and exits 130/143 once it is down. Never resolves.
 */
export function untilSignal(stack: Stack): Promise<void> {
  onInterrupt(async () => {
    console.log('\nstopping the model server, pools, Temporal and PostgreSQL...');
    await stack.stop();
    console.log('Stopped.');
  });
  return new Promise<void>(() => undefined);
}
