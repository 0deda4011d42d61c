import os from 'node:os';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { ActivityDeps } from '../activities/deps';
import { loadConfig } from '../lib/config';
import { poolIdentity, taskQueue, type Pool } from './task-queues';

export interface PoolSettings {
  pool: Pool;
  /** Builds the pool's activities; absent for the orchestrator, which runs workflows only. */
  activities?: (deps: ActivityDeps) => object;
  maxConcurrentActivities?: number;
}

/**
 * The one way a pool process starts: connect to Temporal (TEMPORAL_ADDRESS), register on its task
 * queue, run until SIGINT/SIGTERM. Every pool can run alone, on any machine that reaches Temporal,
 * PostgreSQL (DATABASE_URL) and the artifact store (PIPEWRIGHT_HOME on a shared mount).
 */
export async function runPool(settings: PoolSettings): Promise<void> {
  const config = loadConfig();
  const address = config.temporalAddress ?? `127.0.0.1:${config.temporalPort}`;
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address });
  } catch (err) {
    fail(`cannot reach Temporal at ${address} (${(err as Error).message}). Start the stack with \`pipewright up\`, or set TEMPORAL_ADDRESS to a running Temporal frontend.`);
  }
  const options: WorkerOptions = {
    connection,
    namespace: config.temporalNamespace,
    taskQueue: taskQueue(settings.pool),
    identity: poolIdentity(settings.pool, os.hostname(), process.pid),
  };
  if (settings.activities) {
    if (!config.databaseUrl) fail(`the ${settings.pool} pool needs DATABASE_URL (pipewright up sets it for the pools it starts).`);
    const deps: ActivityDeps = {
      databaseUrl: config.databaseUrl,
      artifactRoot: path.join(config.home, 'artifacts'),
      serveUrl: config.serveUrl,
    };
    options.activities = settings.activities(deps);
    options.maxConcurrentActivityTaskExecutions = settings.maxConcurrentActivities ?? os.cpus().length;
  } else {
    options.workflowsPath = require.resolve('../workflows');
    // The orchestrator runs no activities; it must not poll for them.
    options.maxConcurrentActivityTaskExecutions = 1;
    options.maxConcurrentActivityTaskPolls = 1;
  }
  const worker = await Worker.create(options);
  console.log(`[${settings.pool}] polling ${options.taskQueue} on ${address} (namespace ${config.temporalNamespace})`);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

function fail(message: string): never {
  console.error(`pipewright worker: ${message}`);
  process.exit(2);
}
