/**
 * What the fast workflow tests share: a local Temporal dev server from the CLI the project builds
 * (never the SDK's download, which needs the internet), the workflow bundle, the flights spec,
 * and fake activities by their real names that return small refs of the right types.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DeployActivities } from '../../activities/deploy';
import type { EvaluateActivities } from '../../activities/evaluate';
import type { IngestActivities } from '../../activities/ingest';
import type { RegistryActivities } from '../../activities/registry';
import type { TrainActivities } from '../../activities/train';
import type { TransformActivities } from '../../activities/transform';
import type { ValidateActivities } from '../../activities/validate';
import {
  ALERT,
  MODEL,
  PIPELINE,
  STAGE,
  WORKER_POOLS,
  type CheckpointRef,
  type EncodedShardRef,
  type EvaluationMetrics,
  type PoolQueues,
  type RunFinished,
  type RunStarted,
  type ShardRef,
  type TrainingPipelineInput,
  type TrainShardsHeartbeat,
} from '../../contracts';
import type { StepKeys } from '../../lib/cache/step-keys';
import type { BaselineLookup } from '../../lib/blessing/production-baseline';
import { describePartition, planKeyRanges } from '../../lib/data/partitions';
import { sourceFrom, type SourceSchema } from '../../lib/data/source-schema';
import { loadConfig } from '../../lib/config';
import { describeSource, parsePipelineSpec, postgresSourceOf, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import { groupShards } from '../../lib/training/shard-groups';
import { findTemporalCli } from '../../scripts/stack/temporal-cli';
import type { trainingPipeline } from '../../workflows';

/** Every activity the workflows call, as the activity modules define them. */
export type AllActivities = IngestActivities &
  ValidateActivities &
  TransformActivities &
  TrainActivities &
  EvaluateActivities &
  RegistryActivities &
  DeployActivities;

/** A dev server on a free port with pipewright's search attributes, from the project's Temporal CLI. */
export async function startTestEnvironment(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const cli = findTemporalCli(loadConfig());
  if (!cli) {
    throw new Error(
      'No Temporal CLI found (tried $TEMPORAL_CLI, PATH and the pipewright cache). Run `npm run temporal:cli` to build it, then run the workflow tests again.',
    );
  }
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: [PIPELINE, MODEL, STAGE, ALERT],
      extraArgs: [
        // As `pipewright up` does: one partition per task queue, so no poll waits on an empty partition.
        '--dynamic-config-value',
        'matching.numTaskqueueReadPartitions=1',
        '--dynamic-config-value',
        'matching.numTaskqueueWritePartitions=1',
        ...extraArgs,
      ],
    },
  });
}

/** The dev server and the workflow bundle a test file shares, set in its beforeAll. */
export interface WorkflowSuite {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundleWithSourceMap;
}

/**
 * Starts a local dev server (with `extraArgs`) and bundles the workflows once for the calling test
 * file, and tears the server down after its tests: call it at the top level of the file.
 */
export function useWorkflowEnvironment(extraArgs: string[] = []): WorkflowSuite {
  const suite = {} as WorkflowSuite;
  beforeAll(async () => {
    [suite.env, suite.bundle] = await Promise.all([startTestEnvironment(extraArgs), bundleWorkflows()]);
  });
  afterAll(async () => {
    await suite.env?.teardown();
  });
  return suite;
}

/** Workers and workflows log errors only: the tests provoke failures and retries on purpose, and assert on them. */
export function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } } });
  } catch {
    // Already installed in this test file.
  }
}

/** The workflows, bundled once per test file and shared by its Workers. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger });
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: unknown) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: unknown) => console.error(message, meta ?? ''),
};

/** examples/flights.json as the client parses it, with overrides of `model`. */
export function flightsSpec(model: Partial<PipelineSpec['model']> = {}): PipelineSpec {
  const example = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights.json'), 'utf8')) as { model: object };
  return parsePipelineSpec({ ...example, model: { ...example.model, ...model } });
}

/** The same queue for every pool, so one Worker serves the workflows and every (fake) activity. */
export function sameQueueForEveryPool(taskQueue: string): PoolQueues {
  return Object.fromEntries(WORKER_POOLS.map((pool) => [pool, taskQueue])) as PoolQueues;
}

let queueCounter = 0;
/** A task queue (and workflow id stem) of its own for each test. */
export function uniqueName(label: string): string {
  return `${label}-${process.pid}-${++queueCounter}-${Date.now().toString(36)}`;
}

/** One activity call, in the order the worker ran them. */
export interface Call {
  name: keyof AllActivities;
  input: unknown;
  attempt: number;
  /** What the previous attempt heartbeated last (a retried trainShards resumes from it); undefined on attempt 1. */
  heartbeatDetails: unknown;
}

export interface FakeOptions {
  /** Partitions planIngest returns; default one per spec partition. */
  partitions?: number;
  /** Rows per ingested shard. */
  rowsPerShard?: number;
  /** The workflow input's reuseSteps (default: left out, i.e. reuse). */
  reuseSteps?: boolean;
  /** Validation rows per encoded shard (default 0: the split has no validation fraction, no validation loss). */
  validationRows?: number;
  /** Validation loss of each epoch (0-based) that mergeRound returns; default fakeValidationLoss. */
  validationLosses?: number[];
  /** What productionBaseline answers (default: no production version yet). */
  production?: BaselineLookup;
  /** Metrics mergeEvaluation returns for a model (by its URI); default FAKE_METRICS for every model. */
  metricsOf?: (modelUri: string) => EvaluationMetrics;
  /** Wraps each fake: throw, wait or count before (or instead of) the default. */
  around?: Partial<{ [K in keyof AllActivities]: (call: Call, next: () => ReturnType<AllActivities[K]>) => ReturnType<AllActivities[K]> }>;
}

/**
 * Loss of epoch N in the fakes: falling, and distinct per epoch. A power of two, so the
 * example-weighted mean over workers and rounds that trainModel computes is exactly this again.
 */
export const fakeLoss = (epoch: number): number => 0.5 ** (epoch + 1);
/** Validation loss and metric of epoch N in the fakes (when the split has validation rows): improving every epoch. */
export const fakeValidationLoss = (epoch: number): number => 0.5 + 0.5 ** (epoch + 2);
export const fakeValidationMetric = (epoch: number): { name: string; value: number } => ({ name: 'auc', value: 0.5 + epoch / 16 });

/** Train batches per epoch of a shard in the fakes' training plan: 3 + its partition, so groups differ. */
export const fakeBatchesOf = (partitions: readonly number[]): number => partitions.reduce((n, p) => n + 3 + p, 0);
/** Examples per batch in the fake trainShards. */
export const FAKE_BATCH_ROWS = 10;
/** Seconds a round takes worker `w` (0-based) in the fakes: the last worker is the slowest. */
export const fakeRoundSeconds = (worker: number): number => 0.25 * (worker + 1);

export const FAKE_METRICS = { auc: 0.75, logLoss: 0.48, accuracy: 0.8, positiveRate: 0.2, rows: 800 };
export const FAKE_VERSION = 3;
export const FAKE_BACKEND = 'fake-cpu';

/** Step-cache keys named after their step, so a test can tell which result was stored under which key. */
export function fakeStepKeys(shards: ReadonlyArray<{ partition: number }>): StepKeys {
  return {
    fit: 'key-fit',
    apply: Object.fromEntries(shards.map((s) => [s.partition, `key-apply-${s.partition}`])),
    train: 'key-train',
    evaluate: 'key-evaluate',
  };
}

const FAKE_URI = 'file:///fake/';
export const artifact = (name: string): { uri: string; sha256: string; bytes: number } => ({ uri: `${FAKE_URI}${name}`, sha256: `sha-${name}`, bytes: 100 });

/** The fakes' checkpoint of worker `worker` after round `round` of epoch `epoch`. */
export const fakeShardCheckpoint = (epoch: number, round: number, worker: number): CheckpointRef => ({
  ...artifact(`checkpoint-e${epoch}-r${round}-w${worker}`),
  epoch,
});
/** The fakes' merged checkpoint of a round: named after its parts, in the order given. */
export const fakeMergedCheckpoint = (epoch: number, parts: ReadonlyArray<Pick<CheckpointRef, 'uri'>>): CheckpointRef => ({
  ...artifact(`merged(${parts.map((p) => p.uri.slice(FAKE_URI.length)).join('+')})`),
  epoch,
});

/** A worker's batches when the rows are shared out: its share of the group's, the shares adding up to the whole. */
export function fakeShareBatches(partitions: number[], worker: number, workers: number): number {
  return Math.floor((fakeBatchesOf(partitions) + workers - 1 - worker) / workers);
}

/**
 * Fake activities by their real names, recording every call (name, input, attempt) in `calls`.
 * They return refs shaped like the real ones, with values a test can check downstream.
 */
export function fakeActivities(options: FakeOptions = {}): { activities: AllActivities; calls: Call[] } {
  const calls: Call[] = [];
  const rowsPerShard = options.rowsPerShard ?? 250;
  const validationRows = options.validationRows ?? 0;
  const defaults: AllActivities = {
    async planIngest(spec) {
      const count = options.partitions ?? spec.source.partitions;
      const key = spec.source.key ?? 'id';
      const partitions = planKeyRanges(0, count * 1000 - 1, count).map((partition) => ({ partition, describe: describePartition(partition, key) }));
      const schema: SourceSchema = {
        name: describeSource(spec.source),
        from: sourceFrom(postgresSourceOf(spec)),
        key,
        columns: [{ name: key, kind: 'number', select: key, wire: 'int8' }],
      };
      return { schema, partitions, rows: count * rowsPerShard };
    },
    async ingestPartition({ partition }): Promise<ShardRef> {
      return {
        ...artifact(`shard-${partition.partition}.arrow`),
        partition: partition.partition,
        rows: rowsPerShard,
        quarantinedRows: 0,
        statistics: artifact(`statistics-${partition.partition}.json`),
      };
    },
    async checkDataset({ spec, shards }) {
      const dataset = {
        source: describeSource(spec.source),
        shards,
        rows: shards.reduce((n, s) => n + s.rows, 0),
        quarantinedRows: 0,
        sha256: 'sha-dataset',
        statistics: artifact('statistics.json'),
        validation: { report: artifact('validation.json'), errors: 0, warnings: 1 },
      };
      return { dataset, steps: { keys: fakeStepKeys(shards), apply: {} } };
    },
    async fitTransform({ dataset }) {
      return { ...artifact('transform.json'), inputDim: 12, trainRows: Math.round(dataset.rows * 0.8) };
    },
    async planFolds({ folds, stratify }) {
      return {
        k: folds,
        stratified: stratify,
        bounds: [Array.from({ length: folds - 1 }, (_, j) => (j + 1) * 1000)],
        testRows: new Array<number>(folds).fill(100),
      };
    },
    async applyTransform({ shard }) {
      const encoded: EncodedShardRef = {
        ...artifact(`encoded-${shard.partition}.arrow`),
        partition: shard.partition,
        trainRows: shard.rows - 50 - validationRows,
        testRows: 50,
      };
      return validationRows > 0 ? { ...encoded, validationRows } : encoded;
    },
    async planTraining({ model, shards }) {
      // The real grouping (it is pure); batch counts from fakeBatchesOf instead of reading shards.
      const { workers, share } = model.parallelism;
      const rowShares = share === 'rows' && workers > 1;
      const all = shards.map((s) => s.partition).sort((a, b) => a - b);
      const groups = rowShares ? Array.from({ length: workers }, () => all) : groupShards(shards, workers);
      return {
        groups,
        ...(rowShares ? { rowShares } : {}),
        batches: groups.map((group, worker) => (rowShares ? fakeShareBatches(group, worker, workers) : fakeBatchesOf(group))),
        validationRows: shards.reduce((n, s) => n + (s.validationRows ?? 0), 0),
        task: 'binary',
        units: 1,
      };
    },
    async trainShards({ epoch, round, worker, fromBatch, toBatch }) {
      // As the real activity: a retried attempt resumes at the batch its last heartbeat names, with the same result.
      const resume = (Context.current().info.heartbeatDetails as TrainShardsHeartbeat | undefined)?.resume;
      const samples = (toBatch - fromBatch) * FAKE_BATCH_ROWS;
      return {
        checkpoint: fakeShardCheckpoint(epoch, round, worker),
        backend: FAKE_BACKEND,
        samples,
        lossSum: fakeLoss(epoch) * samples,
        batches: toBatch - fromBatch,
        seconds: fakeRoundSeconds(worker),
        ...(resume ? { resumedAtBatch: resume.nextBatch } : {}),
      };
    },
    async mergeRound({ parts, epoch, validateOn }) {
      // As the real activity: one part is its own checkpoint; validation only when asked for and there are rows.
      const checkpoint =
        parts.length === 1
          ? parts[0]!.checkpoint
          : fakeMergedCheckpoint(
              epoch,
              parts.map((p) => p.checkpoint),
            );
      const rows = (validateOn ?? []).reduce((n, s) => n + (s.validationRows ?? 0), 0);
      if (rows === 0) return { checkpoint };
      return { checkpoint, validationLoss: options.validationLosses?.[epoch] ?? fakeValidationLoss(epoch), validationMetric: fakeValidationMetric(epoch) };
    },
    async trainEpoch({ epoch }) {
      const checkpoint: CheckpointRef = { ...artifact(`checkpoint-${epoch}`), epoch };
      return { checkpoint, backend: FAKE_BACKEND, loss: fakeLoss(epoch), samples: 800, seconds: 0.5 };
    },
    async evaluateModel() {
      return { ...FAKE_METRICS, backend: FAKE_BACKEND };
    },
    async evaluateShard({ model, shard }) {
      // The state's name carries the model's, so the fake merge can tell candidate from production.
      const name = model.uri.slice(FAKE_URI.length);
      return { ...artifact(`state-${name}-${shard.partition}`), partition: shard.partition, rows: shard.testRows, backend: FAKE_BACKEND };
    },
    async mergeEvaluation({ states }) {
      const modelUri = `${FAKE_URI}${states[0]!.uri.slice(FAKE_URI.length + 'state-'.length).replace(/-\d+$/, '')}`;
      const metrics = options.metricsOf?.(modelUri) ?? { task: 'binary' as const, ...FAKE_METRICS };
      return { metrics, report: artifact('evaluation.json') };
    },
    async permutationImportance({ repeats, maxRows }) {
      return { metric: 'auc', baseline: FAKE_METRICS.auc, rows: maxRows, repeats, features: [{ feature: 'distance', drop: 0.1, std: 0.01, drops: [0.1] }] };
    },
    async productionBaseline() {
      return options.production ?? { none: true as const };
    },
    async recordRunStarted(_run: RunStarted) {},
    async recordRunFinished(_run: RunFinished) {},
    async registerModel({ name }) {
      return { name, version: FAKE_VERSION };
    },
    async deployModel(model) {
      return { ...model, servedBy: null };
    },
  };
  const activities = Object.fromEntries(
    (Object.keys(defaults) as Array<keyof AllActivities>).map((name) => {
      const fn = async (input: unknown): Promise<unknown> => {
        const { attempt, heartbeatDetails } = Context.current().info;
        const call: Call = { name, input, attempt, heartbeatDetails };
        calls.push(call);
        const next = (): Promise<unknown> => (defaults[name] as (i: unknown) => Promise<unknown>)(input);
        const around = options.around?.[name] as ((c: Call, n: () => Promise<unknown>) => Promise<unknown>) | undefined;
        return around ? around(call, next) : next();
      };
      return [name, fn];
    }),
  ) as unknown as AllActivities;
  return { activities, calls };
}

/** Runs `body` while a Worker with the workflows and the fakes polls a task queue of its own. */
export async function withWorker<T>(
  env: TestWorkflowEnvironment,
  workflowBundle: WorkflowBundleWithSourceMap,
  fakes: FakeOptions,
  body: (worker: { taskQueue: string; calls: Call[] }) => Promise<T>,
): Promise<T> {
  const taskQueue = uniqueName('wf');
  const { activities, calls } = fakeActivities(fakes);
  const worker = await Worker.create({ connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue, workflowBundle, activities });
  return worker.runUntil(() => body({ taskQueue, calls }));
}

export interface PipelineRun {
  handle: WorkflowHandle<typeof trainingPipeline>;
  calls: Call[];
  taskQueue: string;
}

/**
 * Starts trainingPipeline as the client does (search attributes included; id = its task queue),
 * with every pool on one queue, and keeps a Worker with the fakes running while `body` runs.
 */
export function withPipeline<T>(
  env: TestWorkflowEnvironment,
  workflowBundle: WorkflowBundleWithSourceMap,
  spec: PipelineSpec,
  fakes: FakeOptions,
  body: (run: PipelineRun) => Promise<T>,
): Promise<T> {
  return withWorker(env, workflowBundle, fakes, async ({ taskQueue, calls }) => {
    const input: TrainingPipelineInput = {
      spec,
      queues: sameQueueForEveryPool(taskQueue),
      ...(fakes.reuseSteps !== undefined ? { reuseSteps: fakes.reuseSteps } : {}),
    };
    const handle = await env.client.workflow.start<typeof trainingPipeline>('trainingPipeline', {
      taskQueue,
      workflowId: taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: PIPELINE, value: spec.name },
        { key: MODEL, value: spec.model.name ?? spec.name },
        { key: STAGE, value: 'queued' },
      ],
    });
    return body({ handle, calls, taskQueue });
  });
}

/** Resolves once `predicate` holds (polled), or fails naming what it waited for. */
export async function eventually<T>(what: string, probe: () => Promise<T>, predicate: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await probe();
      if (predicate(last)) return last;
    } catch {
      // e.g. a query before the first workflow task: try again.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A promise and the function that resolves it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The activity type of each ActivityTaskScheduled event, by its event id. */
export function scheduledActivities(events: HistoryEvent[]): Map<string, string> {
  const byId = new Map<string, string>();
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) byId.set(String(e.eventId), name);
  }
  return byId;
}
