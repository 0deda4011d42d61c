import { rmSync } from 'node:fs';
import { benchStackConfig } from './bench-stack-config';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { poolQueues, WORKER_POOLS, type DatasetRef, type EncodedShardRef, type PoolQueues, type TransformRef, type ValidatedDataset } from '../contracts';
import { closePgPools, pgPool } from '../lib/db/pg-pools';
import { ensureFlightsTable } from '../lib/data/flights-loader';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import { connectClient, startTrainingPipeline, watchPipeline } from '../scripts/client/pipeline-client';
import { startStack } from '../scripts/stack/stack';
import { cpuSecondsOf } from './evaluation-cpu';

/**
 * The stack half of bench/evaluation.ts: a real stack (`pipewright up` without the model server)
 * with its own PIPEWRIGHT_HOME and ports (as bench/training-stack.ts picks them, at another offset),
 * a slice of the flights table in its PostgreSQL, and the spec's pipeline run on it once. That run's
 * history gives what the benchmarks start workflows from: the validated dataset (crossValidate's
 * input) and the fitted transform with the encoded shards (hyperparameterSearch's).
 */

export interface StackData {
  client: Client;
  queues: PoolQueues;
  /** The spec as run: its source is the loaded table. */
  spec: PipelineSpec;
  runId: string;
  dataset: DatasetRef;
  transform: TransformRef;
  encoded: EncodedShardRef[];
  pipelineSeconds: number;
  /** CPU seconds used so far by the stack's processes whose name `which` selects (pool-gpu, pool-gpu-2, pool-cpu, temporal, ...). */
  cpuSeconds: (which: (name: string) => boolean) => number;
}

export interface EvaluationStackOptions {
  home: string;
  portOffset: number;
  /** Rows of the flights table to load (its first rows, table flights_<rows>). */
  rows: number;
  log: (line: string) => void;
}

/** The event fields read here (ids arrive as Long, which Number() converts). */
interface EventLike {
  eventId?: unknown;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown; result?: { payloads?: unknown[] | null } | null } | null;
}

/** The results of a closed workflow's completed activities of one type, in completion order. */
export function activityResults<T>(events: readonly EventLike[], type: string): T[] {
  const types = new Map<number, string>();
  const out: T[] = [];
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) types.set(Number(e.eventId), scheduled.activityType?.name ?? '?');
    const done = e.activityTaskCompletedEventAttributes;
    const payload = done?.result?.payloads?.[0];
    if (done && payload && types.get(Number(done.scheduledEventId)) === type) {
      out.push(defaultPayloadConverter.fromPayload<T>(payload as Parameters<typeof defaultPayloadConverter.fromPayload>[0]));
    }
  }
  return out;
}

/**
 * Starts the stack, loads the table, runs the pipeline once (step cache off), calls `body` with
 * what it made, and stops the stack afterwards, also when `body` or start-up fails or the process
 * is interrupted.
 */
export async function withEvaluationStack<T>(spec: PipelineSpec, options: EvaluationStackOptions, body: (data: StackData) => Promise<T>): Promise<T> {
  const config = benchStackConfig(options.home, options.portOffset);
  // Runs here never reuse a step, so earlier runs' shards and checkpoints can go.
  rmSync(path.join(config.home, 'artifacts'), { recursive: true, force: true });
  options.log(
    `starting a stack in ${config.home} (Temporal :${config.temporalPort}, PostgreSQL :${config.postgresPort}), ${config.gpuProcesses} gpu processes`,
  );
  const stack = await startStack(config, { pools: WORKER_POOLS, modelServer: false, log: (l) => options.log(`  ${l}`) });
  // Ctrl-C or a kill must not leave Temporal, PostgreSQL and five pools running.
  const onSignal = (signal: NodeJS.Signals): void => {
    options.log(`${signal}: stopping the stack`);
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let client: Client | undefined;
  try {
    client = await connectClient(stack.info.temporalAddress, stack.info.namespace);
    const table = `flights_${options.rows}`;
    const loaded = await ensureFlightsTable(pgPool(stack.info.databaseUrl), table, options.rows);
    if (loaded.loaded) options.log(`  loaded ${loaded.rows} rows into ${table} in ${loaded.seconds.toFixed(1)} s (once per home)`);
    const run: PipelineSpec = structuredClone(spec);
    if (run.source.kind !== 'postgres') throw new Error('bench/evaluation-stack.ts runs a spec with a postgres source');
    run.source.table = table;
    // A model name of this run's own: the registry then has no production version of it to compare
    // with (blessing), whose artifacts the clean-up above may have removed.
    run.model = { ...run.model, name: `${run.model.name ?? run.name}-bench-${Date.now()}` };

    options.log(`  the pipeline once on ${table}, for its dataset, transform and encoded shards ...`);
    const started = performance.now();
    const handle = await startTrainingPipeline(client, run, { reuseSteps: false, queuePrefix: stack.info.queuePrefix });
    const result = await watchPipeline(handle, false);
    const pipelineSeconds = (performance.now() - started) / 1000;
    const events = (await handle.fetchHistory()).events ?? [];
    const [validated] = activityResults<ValidatedDataset>(events, 'checkDataset');
    const [transform] = activityResults<TransformRef>(events, 'fitTransform');
    const encoded = activityResults<EncodedShardRef>(events, 'applyTransform').sort((a, b) => a.partition - b.partition);
    if (!validated || !transform || encoded.length !== validated.dataset.shards.length) {
      throw new Error(`the pipeline ${result.runId} computed no dataset, transform or encoded shards (was a step reused?)`);
    }
    options.log(`  pipeline ${result.runId}: ${result.rows} rows in ${pipelineSeconds.toFixed(1)} s`);
    return await body({
      client,
      queues: poolQueues(stack.info.queuePrefix),
      spec: run,
      runId: result.runId,
      dataset: validated.dataset,
      transform,
      encoded,
      pipelineSeconds,
      // Read when called: the stack keeps the names' pids current when it restarts a process.
      cpuSeconds: (which) => cpuSecondsOf(stack.info.processes, which),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client?.connection.close().catch(() => undefined);
    await closePgPools().catch(() => undefined);
    options.log('stopping the stack');
    await stack.stop();
  }
}
