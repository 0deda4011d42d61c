import {
  ApplicationFailure,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CpuActivities } from '../activities/cpu';
import type { DeployActivities, DeployResult } from '../activities/deploy';
import type { EvalActivities } from '../activities/eval';
import type { GpuActivities } from '../activities/gpu';
import type { CheckpointRef, EncodedShardRef, EvaluationMetrics, ModelRef, ShardRef } from '../lib/refs';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import type { Pool } from '../workers/task-queues';
import { progressQuery, STAGES, type PipelineProgress, type StageName } from './progress';
import { MODEL, STAGE } from './search-attributes';

export interface TrainingPipelineInput {
  /** A spec that already passed validation on the client (parsePipelineSpec). */
  spec: PipelineSpec;
  /** Task queue of each pool, resolved by the client so workflow code reads no environment. */
  queues: Record<Pool, string>;
}

export interface TrainingPipelineResult {
  runId: string;
  model: DeployResult;
  metrics: EvaluationMetrics;
  backend: string;
  rows: number;
  quarantinedRows: number;
  stageSeconds: Record<StageName, number>;
}

const NON_RETRYABLE = ['PipelineInputError'];

/**
 * ingest → validate → transform → train → evaluate → register → deploy, each step an activity on
 * its pool. Only references (URIs, hashes, counts) pass through here; the data stays in the
 * artifact store. A worker that dies mid-step loses only that step: Temporal retries it, and
 * training resumes from the last epoch's checkpoint.
 */
export async function trainingPipeline(input: TrainingPipelineInput): Promise<TrainingPipelineResult> {
  const { spec, queues } = input;
  const runId = workflowInfo().workflowId;
  const modelName = spec.model.name ?? spec.name;

  // Work runs in threads while the activity's main thread heartbeats every 5 s, so a missed 30 s
  // heartbeat means the worker is gone: Temporal retries the step elsewhere within half a minute.
  const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE };
  const cpu = proxyActivities<CpuActivities>({ taskQueue: queues.cpu, startToCloseTimeout: '2h', heartbeatTimeout: '30s', retry });
  const gpu = proxyActivities<GpuActivities>({ taskQueue: queues.gpu, startToCloseTimeout: '6h', heartbeatTimeout: '30s', retry });
  const evaluation = proxyActivities<EvalActivities>({ taskQueue: queues.eval, startToCloseTimeout: '2h', heartbeatTimeout: '30s', retry });
  const deploy = proxyActivities<DeployActivities>({ taskQueue: queues.deploy, startToCloseTimeout: '5m', retry });

  const progress: PipelineProgress = {
    pipeline: spec.name,
    model: modelName,
    stage: 'ingest',
    stages: Object.fromEntries(STAGES.map((s) => [s, { status: 'pending', done: 0, total: 1, unit: 'step', seconds: 0 }])) as PipelineProgress['stages'],
  };
  setHandler(progressQuery, () => progress);
  upsertSearchAttributes([{ key: MODEL, value: modelName }]);

  let stageStarted = Date.now();
  const begin = (stage: StageName, total: number, unit: string): void => {
    progress.stage = stage;
    progress.stages[stage] = { status: 'running', done: 0, total, unit, seconds: 0 };
    stageStarted = Date.now();
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
  };
  const tick = (stage: StageName): void => {
    progress.stages[stage].done++;
  };
  const end = (stage: StageName): void => {
    const s = progress.stages[stage];
    s.status = 'done';
    s.done = s.total;
    s.seconds = (Date.now() - stageStarted) / 1000;
    log.info(`stage ${stage} done`, { seconds: s.seconds });
  };
  const stageSeconds = (): Record<StageName, number> =>
    Object.fromEntries(STAGES.map((s) => [s, progress.stages[s].seconds])) as Record<StageName, number>;

  await deploy.recordRunStarted({ runId, temporalRunId: workflowInfo().runId, pipeline: spec.name, spec });
  try {
    // ingest: N key-range partitions in parallel (bounded by spec.source.partitions <= 256).
    begin('ingest', spec.source.partitions, 'partitions');
    const plan = await cpu.planIngest.executeWithOptions({ summary: `check ${spec.source.table} and plan ${spec.source.partitions} partitions` }, [spec]);
    progress.stages.ingest.total = plan.ranges.length;
    const shards: ShardRef[] = await Promise.all(
      plan.ranges.map(async (range) => {
        const shard = await cpu.ingestPartition.executeWithOptions(
          { summary: `ingest ${plan.schema.table} partition ${range.partition}: ${plan.schema.key} in [${range.lo}, ${range.hi})` },
          [{ schema: plan.schema, range }],
        );
        tick('ingest');
        return shard;
      }),
    );
    end('ingest');

    begin('validate', 1, 'checks');
    const dataset = await cpu.checkDataset.executeWithOptions({ summary: 'quarantine threshold and dataset hash' }, [{ spec, shards }]);
    progress.rows = dataset.rows;
    progress.quarantinedRows = dataset.quarantinedRows;
    end('validate');

    begin('transform', dataset.shards.length + 1, 'shards');
    const transform = await cpu.fitTransform.executeWithOptions({ summary: `fit transform on the train split of ${dataset.rows} rows` }, [{ spec, dataset }]);
    tick('transform');
    const encoded: EncodedShardRef[] = await Promise.all(
      dataset.shards.map(async (shard) => {
        const out = await cpu.applyTransform.executeWithOptions({ summary: `apply transform to shard ${shard.partition}` }, [{ transform, shard }]);
        tick('transform');
        return out;
      }),
    );
    end('transform');

    begin('train', spec.model.epochs, 'epochs');
    let checkpoint: CheckpointRef | undefined;
    let backend = 'unknown';
    let trainSeconds = 0;
    let trainSamples = 0;
    const losses: number[] = [];
    for (let epoch = 0; epoch < spec.model.epochs; epoch++) {
      const result = await gpu.trainEpoch.executeWithOptions({ summary: `train ${spec.model.type} epoch ${epoch + 1}/${spec.model.epochs}` }, [
        { model: spec.model, transform, shards: encoded, epoch, ...(checkpoint ? { from: checkpoint } : {}) },
      ]);
      checkpoint = result.checkpoint;
      backend = result.backend;
      trainSeconds += result.seconds;
      trainSamples += result.samples;
      losses.push(result.loss);
      progress.trainLoss = losses;
      progress.backend = backend;
      tick('train');
    }
    end('train');
    const model: ModelRef = {
      ...checkpoint!,
      backend,
      epochs: spec.model.epochs,
      trainSamples,
      trainSeconds,
      finalLoss: losses[losses.length - 1]!,
    };

    begin('evaluate', 1, 'test sets');
    const { backend: _evalBackend, ...metrics } = await evaluation.evaluateModel.executeWithOptions({ summary: 'ROC-AUC, log loss, accuracy on the held-out split' }, [
      { model, transform, shards: encoded },
    ]);
    progress.metrics = metrics;
    end('evaluate');

    begin('register', 1, 'versions');
    const registered = await deploy.registerModel.executeWithOptions({ summary: `register ${modelName}` }, [
      { name: modelName, runId, model, transform, metrics, datasetSha256: dataset.sha256, spec },
    ]);
    progress.modelVersion = registered.version;
    end('register');

    begin('deploy', 1, 'deployments');
    const deployed = await deploy.deployModel.executeWithOptions({ summary: `deploy ${modelName} v${registered.version}` }, [registered]);
    end('deploy');

    progress.stage = 'finished';
    upsertSearchAttributes([{ key: STAGE, value: 'finished' }]);
    await deploy.recordRunFinished({ runId, status: 'succeeded', metrics, stageSeconds: stageSeconds() });
    return {
      runId,
      model: deployed,
      metrics,
      backend,
      rows: dataset.rows,
      quarantinedRows: dataset.quarantinedRows,
      stageSeconds: stageSeconds(),
    };
  } catch (err) {
    const failedStage = progress.stage as StageName;
    if (progress.stages[failedStage]) progress.stages[failedStage].status = 'failed';
    progress.stage = 'failed';
    progress.error = rootMessage(err);
    upsertSearchAttributes([{ key: STAGE, value: 'failed' }]);
    await deploy.recordRunFinished({ runId, status: 'failed', metrics: { error: progress.error, stage: failedStage }, stageSeconds: stageSeconds() });
    // Re-throw user mistakes as the workflow's own non-retryable failure so the Web UI shows the message at the top.
    if (isInputFailure(err)) throw ApplicationFailure.nonRetryable(`${failedStage}: ${progress.error}`, 'PipelineInputError');
    throw err;
  }
}

function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as { cause: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}

function isInputFailure(err: unknown): boolean {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof ApplicationFailure && e.type === 'PipelineInputError') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
