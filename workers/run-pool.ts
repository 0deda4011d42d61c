import os from 'node:os';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { taskQueue, workerIdentity, type WorkerPool } from '../contracts';
import { dataConverterFor } from '../contracts/payload-codec';
import { artifactStoreSettings, openArtifactStore } from '../lib/artifacts/artifact-store';
import { loadConfig, type PipewrightConfig } from '../lib/config';
import { securityHint, temporalSecurity } from '../lib/connection/temporal-security';
import { createLogger } from '../lib/logging/logger';
import { activitiesOfPool } from './pool-activities';
import { installPoolTelemetry } from './pool-telemetry';

/** Concurrent activities per pool process: cpu and eval one per core, gpu one per device, deploy a few. */
function slotsOf(pool: Exclude<WorkerPool, 'orchestrator'>, config: PipewrightConfig): number {
  return pool === 'deploy' ? 4 : config.slots[pool];
}

/**
 * The one way a pool process starts: connect to Temporal (TEMPORAL_ADDRESS), register on its task
 * queue, run until SIGINT/SIGTERM. Every pool can run alone, on any machine that reaches Temporal,
 * PostgreSQL (DATABASE_URL) and the artifact store (PIPEWRIGHT_ARTIFACT_STORE: s3://, or PIPEWRIGHT_HOME on a shared mount).
 */
export async function runPool(pool: WorkerPool): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(`pool-${pool}`, config.logLevel);
  const telemetry = await installPoolTelemetry(pool, logger, config.workerMetricsPort);
  if (telemetry.note) logger.warn(telemetry.note);
  const { connection, address } = await connectWorker(config);
  const options: WorkerOptions = {
    connection,
    // Payloads are encrypted before they leave this process when PIPEWRIGHT_PAYLOAD_KEYS is set.
    dataConverter: dataConverterFor(config),
    namespace: config.temporalNamespace,
    taskQueue: taskQueue(pool, config.queuePrefix),
    identity: workerIdentity(pool, os.hostname(), process.pid),
  };
  if (pool === 'orchestrator') {
    options.workflowsPath = require.resolve('../workflows');
    // The orchestrator runs no activities; it must not poll for them.
    options.maxConcurrentActivityTaskExecutions = 1;
    options.maxConcurrentActivityTaskPolls = 1;
  } else {
    if (!config.databaseUrl) fail(`the ${pool} pool needs DATABASE_URL (pipewright up sets it for the pools it starts).`);
    const artifactStore = artifactStoreSettings(config);
    // Opened here so the activities that read artifacts on this thread resolve s3:// URIs (task threads get it with each task).
    openArtifactStore(artifactStore);
    options.activities = activitiesOfPool(pool, { databaseUrl: config.databaseUrl, artifactStore, serveUrl: config.serveUrl });
    options.maxConcurrentActivityTaskExecutions = slotsOf(pool, config);
    // A training activity's heartbeat carries its latest mid-epoch checkpoint: send it within a
    // second or two rather than the SDK's default (0.8 x the heartbeat timeout), so a retry after
    // a lost worker repeats seconds of work, not half a minute.
    if (pool === 'gpu') options.maxHeartbeatThrottleInterval = '1s';
  }
  const worker = await Worker.create(options);
  logger.info(
    { taskQueue: options.taskQueue, address, namespace: config.temporalNamespace, metrics: telemetry.metricsUrl ?? null },
    `[${pool}] polling ${options.taskQueue}`,
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

/** The worker's connection to Temporal (TEMPORAL_ADDRESS, else the embedded server's port), with TLS and API key when set. */
export async function connectWorker(config: PipewrightConfig): Promise<{ connection: NativeConnection; address: string }> {
  const address = config.temporalAddress ?? `127.0.0.1:${config.temporalPort}`;
  try {
    return { connection: await NativeConnection.connect({ address, ...temporalSecurity(config.temporalAuth) }), address };
  } catch (err) {
    fail(
      `cannot reach Temporal at ${address} (${(err as Error).message}). Start the stack with \`pipewright up\`, or set TEMPORAL_ADDRESS to a running Temporal frontend.${securityHint(config.temporalAuth)}`,
    );
  }
}

export function fail(message: string): never {
  console.error(`pipewright worker: ${message}`);
  process.exit(2);
}
