import { loadConfig } from '../../lib/config';
import { WORKER_POOLS, type WorkerPool } from '../../contracts';
import { onInterrupt } from '../client/interrupt';
import { printStackInfo } from '../client/print';
import { UsageError } from '../client/usage-error';
import { startStack, type Stack } from '../stack/stack';

const POOLS_USAGE = `pipewright up [--cluster] [--pools all|none|${WORKER_POOLS.join(',')}]`;

/**
 * The pools `up --pools` names: `all` (the default), `none` (Temporal, PostgreSQL, the object store
 * and the model server only, for a services host whose pools run elsewhere), or a comma list.
 */
export function parsePools(value: string | undefined): WorkerPool[] {
  const raw = (value ?? 'all').trim();
  if (raw === 'all') return [...WORKER_POOLS];
  if (raw === 'none') return [];
  const names = raw.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(WORKER_POOLS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    const what = unknown.length === 1 ? `${JSON.stringify(unknown[0])} is not a pool` : `${unknown.map((n) => JSON.stringify(n)).join(', ')} are not pools`;
    throw new UsageError(`--pools ${JSON.stringify(raw)}: ${what}; name some of ${WORKER_POOLS.join(', ')} (comma-separated), or all, or none`, POOLS_USAGE);
  }
  // In the stack's own order, each once.
  return WORKER_POOLS.filter((pool) => names.includes(pool));
}

/**
 * `pipewright up`: the embedded stack in the foreground until Ctrl-C. `--cluster` runs the full
 * Temporal server on the stack's PostgreSQL instead of the dev server (as PIPEWRIGHT_TEMPORAL_CLUSTER=on);
 * `--pools` picks the pool processes it starts (parsePools).
 */
export async function upCommand(options: { cluster?: boolean; pools?: string } = {}): Promise<number> {
  const pools = parsePools(options.pools);
  const config = loadConfig();
  if (options.cluster) config.temporalCluster = true;
  const stack = await startStack(config, { pools, modelServer: true, log: (l) => console.log(l) });
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
