/**
 * trainingPipeline and its training child on a real (local) Temporal dev server, with fake
 * activities: the DAG's order, fan-out, checkpoint chaining, progress, search attributes, failure
 * mapping and retries, in seconds. One dev server and one workflow bundle for the whole file.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { asTemporalFailure, runActivity } from '../../activities/support/run-task';
import {
  MODEL,
  PIPELINE,
  PIPELINE_INPUT_ERROR,
  progressQuery,
  STAGE,
  STAGES,
  type EncodedShardRef,
  type MergeRoundInput,
  type ModelRef,
  type PipelineProgress,
  type RegisterInput,
  type RunFinished,
  type RunStarted,
  type ShardRef,
  type TrainEpochInput,
  type TrainShardsHeartbeat,
  type TrainShardsInput,
  type TrainShardsResult,
} from '../../contracts';
import { PipelineInputError } from '../../lib/errors';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import {
  artifact,
  eventually,
  FAKE_BACKEND,
  FAKE_BATCH_ROWS,
  FAKE_METRICS,
  FAKE_VERSION,
  fakeBatchesOf,
  fakeShareBatches,
  fakeLoss,
  fakeMergedCheckpoint,
  fakeRoundSeconds,
  fakeShardCheckpoint,
  flightsSpec,
  gate,
  scheduledActivities,
  useWorkflowEnvironment,
  withPipeline,
  type Call,
  type FakeOptions,
  type PipelineRun,
} from './helpers';

const suite = useWorkflowEnvironment();

const inputsOf = <T>(calls: Call[], name: Call['name']): T[] => calls.filter((c) => c.name === name).map((c) => c.input as T);

/** The call sequence with runs of the same activity collapsed: ingestPartition x4 -> one entry. */
function collapsed(calls: Call[]): string[] {
  const out: string[] = [];
  for (const c of calls) if (out[out.length - 1] !== c.name) out.push(c.name);
  return out;
}

/** The workers' checkpoints of the flights spec's default plan (2 workers, 1 round) merged after `epoch`. */
const mergedAfter = (epoch: number): ModelRef['uri'] => fakeMergedCheckpoint(epoch, [fakeShardCheckpoint(epoch, 0, 0), fakeShardCheckpoint(epoch, 0, 1)]).uri;
/** Examples of one epoch of the fakes over the flights shards 0..3 (every batch of every shard once). */
const EPOCH_SAMPLES = fakeBatchesOf([0, 1, 2, 3]) * FAKE_BATCH_ROWS;
/** trainShards calls as [epoch, round, worker, attempt], in that order (workers of a round run in parallel). */
const shardCalls = (calls: Call[]): number[][] =>
  calls
    .filter((c) => c.name === 'trainShards')
    .map((c) => {
      const i = c.input as TrainShardsInput;
      return [i.epoch, i.round, i.worker, c.attempt];
    })
    .sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]! || a[3]! - b[3]!);

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => {
      throw new Error('the run should have failed');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

describe('trainingPipeline (fake activities, local dev server)', () => {
  test('runs the stages in order: ingest fans out in parallel, epochs train on two workers from the merged checkpoint, and returns the run', async () => {
    const spec = flightsSpec({ epochs: 3 });
    const partitions = spec.source.partitions;
    let inFlight = 0;
    let maxInFlight = 0;
    const allStarted = gate();
    await withPipeline(
      suite.env,
      suite.bundle,
      spec,
      {
        around: {
          // Each partition waits until every partition has started: only a parallel fan-out gets past.
          ingestPartition: async (_call, next) => {
            maxInFlight = Math.max(maxInFlight, ++inFlight);
            if (inFlight === partitions) allStarted.open();
            await Promise.race([allStarted.promise, new Promise((r) => setTimeout(r, 5_000))]);
            inFlight--;
            return next();
          },
        },
      },
      async ({ handle, calls }) => {
        const result = await handle.result();

        expect(collapsed(calls)).toEqual([
          'recordRunStarted',
          'planIngest',
          'ingestPartition',
          'checkDataset',
          'fitTransform',
          'applyTransform',
          'planTraining',
          // flights: 2 workers (the default), 1 round per epoch: both workers, then the merge, each epoch.
          ...[0, 1, 2].flatMap(() => ['trainShards', 'mergeRound']),
          // Each shard's test rows into a metric state, in parallel; then one merge.
          'evaluateShard',
          'mergeEvaluation',
          // examples/flights.json asks for importance, and a blessing against production.
          'permutationImportance',
          'productionBaseline',
          'registerModel',
          'deployModel',
          'recordRunFinished',
        ]);
        expect(maxInFlight).toBe(partitions);
        expect(
          inputsOf<{ partition: { partition: number } }>(calls, 'ingestPartition')
            .map((i) => i.partition.partition)
            .sort(),
        ).toEqual([0, 1, 2, 3]);
        // validate sees every shard; every shard is encoded; training and evaluation get every encoded shard.
        expect(
          inputsOf<{ shards: ShardRef[] }>(calls, 'checkDataset')[0]!
            .shards.map((s) => s.partition)
            .sort(),
        ).toEqual([0, 1, 2, 3]);
        expect(
          inputsOf<{ shard: ShardRef }>(calls, 'applyTransform')
            .map((i) => i.shard.partition)
            .sort(),
        ).toEqual([0, 1, 2, 3]);

        // One plan over every encoded shard; then per epoch both workers, each on its share of the
        // rows of every shard, from the previous epoch's merged checkpoint.
        const [plan] = inputsOf<{ shards: EncodedShardRef[] }>(calls, 'planTraining');
        expect(plan!.shards.map((s) => s.partition).sort()).toEqual([0, 1, 2, 3]);
        const shares = inputsOf<TrainShardsInput>(calls, 'trainShards');
        expect(shardCalls(calls)).toEqual([0, 1, 2].flatMap((epoch) => [0, 1].map((worker) => [epoch, 0, worker, 1])));
        for (const e of shares) {
          expect(e.model).toEqual(spec.model);
          expect(e.transform.uri).toBe('file:///fake/transform.json');
          expect(e.shards.map((s) => s.partition)).toEqual([0, 1, 2, 3]);
          expect(e.share).toEqual({ index: e.worker, count: 2 });
          expect(e.from?.uri).toBe(e.epoch === 0 ? undefined : mergedAfter(e.epoch - 1));
          const batches = fakeShareBatches([0, 1, 2, 3], e.worker, 2);
          expect([e.fromBatch, e.toBatch, e.batchesPerEpoch]).toEqual([0, batches, batches]);
        }
        const merges = inputsOf<MergeRoundInput>(calls, 'mergeRound');
        expect(merges.map((m) => [m.epoch, m.parts.map((p) => p.checkpoint.uri)])).toEqual(
          [0, 1, 2].map((epoch) => [epoch, [fakeShardCheckpoint(epoch, 0, 0).uri, fakeShardCheckpoint(epoch, 0, 1).uri]]),
        );
        // The flights split has no validation fraction: no validation loss is asked for.
        for (const m of merges) expect(m.validateOn).toBeUndefined();

        // What the registry is told: the last checkpoint as the model, with its lineage.
        const [registered] = inputsOf<RegisterInput>(calls, 'registerModel');
        expect(registered).toMatchObject({ name: 'flights', runId: handle.workflowId, metrics: FAKE_METRICS, datasetSha256: 'sha-dataset', spec });
        expect(registered!.model).toEqual({
          ...fakeMergedCheckpoint(2, [fakeShardCheckpoint(2, 0, 0), fakeShardCheckpoint(2, 0, 1)]),
          backend: FAKE_BACKEND,
          epochs: 3,
          trainSamples: 3 * EPOCH_SAMPLES,
          // Workers run side by side: an epoch takes as long as its slowest worker.
          trainSeconds: 3 * fakeRoundSeconds(1),
          finalLoss: fakeLoss(2),
        });
        // Everything after validate was computed, so the step cache learns every step under its key.
        expect(registered!.computedSteps.map((e) => e.key).sort()).toEqual(
          ['key-apply-0', 'key-apply-1', 'key-apply-2', 'key-apply-3', 'key-evaluate', 'key-fit', 'key-train'].sort(),
        );
        expect(registered!.computedSteps.find((e) => e.key === 'key-train')!.result).toMatchObject({ model: { uri: mergedAfter(2) } });
        expect(inputsOf<{ reuseSteps: boolean }>(calls, 'checkDataset')[0]!.reuseSteps).toBe(true);
        expect(inputsOf<RunStarted>(calls, 'recordRunStarted')[0]).toMatchObject({ runId: handle.workflowId, pipeline: 'flights', spec });
        expect(inputsOf<RunFinished>(calls, 'recordRunFinished')[0]).toMatchObject({ runId: handle.workflowId, status: 'succeeded', metrics: FAKE_METRICS });

        expect(result).toMatchObject({
          runId: handle.workflowId,
          model: { name: 'flights', version: FAKE_VERSION, servedBy: null },
          metrics: FAKE_METRICS,
          backend: FAKE_BACKEND,
          rows: 4 * 250,
          quarantinedRows: 0,
        });
        // The evaluation's backend goes to the result's `backend`, not into the metrics.
        expect(result.metrics).not.toHaveProperty('backend');
        expect(Object.keys(result.stageSeconds).sort()).toEqual([...STAGES].sort());
        for (const s of Object.values(result.stageSeconds)) expect(s).toBeGreaterThanOrEqual(0);
      },
    );
  });

  test('reuses cached steps: no fit, no encoding of cached shards, no training child, no evaluation; progress and details say so', async () => {
    const spec = flightsSpec();
    const earlier = 'flights-earlier-run';
    const transform = { ...artifact('cached-transform.json'), inputDim: 12, trainRows: 800 };
    const model = { ...artifact('cached-model'), epoch: 1, backend: FAKE_BACKEND, epochs: 2, trainSamples: 1600, trainSeconds: 1, finalLoss: 0.3 };
    const cachedMetrics = { ...FAKE_METRICS, auc: 0.77 };
    await withPipeline(
      suite.env,
      suite.bundle,
      spec,
      {
        around: {
          // Every step cached except shard 3's encoding.
          checkDataset: async (_call, next) => {
            const validated = await next();
            const encoded = (p: number): EncodedShardRef => ({ ...artifact(`cached-encoded-${p}`), partition: p, trainRows: 200, testRows: 50 });
            return {
              ...validated,
              steps: {
                ...validated.steps,
                fit: { result: transform, runId: earlier },
                apply: { 0: { result: encoded(0), runId: earlier }, 1: { result: encoded(1), runId: earlier }, 2: { result: encoded(2), runId: earlier } },
                train: { result: { model, losses: [0.5, 0.3] }, runId: earlier },
                evaluate: { result: { ...cachedMetrics, backend: FAKE_BACKEND }, runId: earlier },
              },
            };
          },
        },
      },
      async ({ handle, calls }) => {
        const result = await handle.result();
        expect(collapsed(calls)).toEqual([
          'recordRunStarted',
          'planIngest',
          'ingestPartition',
          'checkDataset',
          'applyTransform',
          'productionBaseline', // the blessing compares with production even when the evaluation is reused
          'registerModel',
          'deployModel',
          'recordRunFinished',
        ]);
        // The one shard not cached is encoded with the cached transform.
        expect(inputsOf<{ shard: ShardRef; transform: { uri: string } }>(calls, 'applyTransform').map((i) => [i.shard.partition, i.transform.uri])).toEqual([
          [3, transform.uri],
        ]);
        await expect(suite.env.client.workflow.getHandle(`${handle.workflowId}-train`).describe()).rejects.toThrow();
        const [registered] = inputsOf<RegisterInput>(calls, 'registerModel');
        expect(registered).toMatchObject({ model, transform, metrics: cachedMetrics });
        expect(registered!.computedSteps.map((e) => e.key)).toEqual(['key-apply-3']);
        expect(result.metrics).toEqual(cachedMetrics);
        const progress = await handle.query(progressQuery);
        expect(progress.stages.transform).toMatchObject({ status: 'done', done: 5, total: 5, cached: 4 });
        expect(progress.stages.train).toMatchObject({ status: 'done', cached: 1 });
        expect(progress.stages.evaluate).toMatchObject({ status: 'done', cached: 1 });
        expect(progress.trainLoss).toEqual([0.5, 0.3]);
        // What the Web UI shows as the run's current details comes from the built-in metadata query.
        const { currentDetails: details } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
        expect(details).toContain('Reused from the step cache');
        expect(details).toContain(`trained model, from run \`${earlier}\``);
      },
    );
  });

  test('--no-cache: the workflow asks for no reuse', async () => {
    await withPipeline(suite.env, suite.bundle, flightsSpec(), { reuseSteps: false }, async ({ handle, calls }) => {
      await handle.result();
      expect(inputsOf<{ reuseSteps: boolean }>(calls, 'checkDataset')[0]!.reuseSteps).toBe(false);
    });
  });

  test('trains in a child workflow <id>-train of type trainModel whose epochs show in the parent progress as they end', async () => {
    const lastEpoch = gate();
    await withPipeline(
      suite.env,
      suite.bundle,
      flightsSpec(),
      { around: { trainShards: async (call, next) => ((call.input as TrainShardsInput).epoch === 1 ? lastEpoch.promise.then(next) : next()) } },
      async ({ handle }) => {
        // While epoch 1 runs, the parent already knows epoch 0's loss (the child's signal).
        const live = await eventually(
          'epoch 0 in the progress',
          () => handle.query(progressQuery),
          (p) => p.trainLoss?.length === 1,
        );
        expect(live.stage).toBe('train');
        expect(live.stages.train).toMatchObject({ status: 'running', done: 1, total: 2, unit: 'epochs' });
        expect(live.trainLoss).toEqual([fakeLoss(0)]);
        expect(live.backend).toBe(FAKE_BACKEND);
        expect(live.training).toEqual({ epoch: 0, round: 1, rounds: 1, workers: 2 });
        lastEpoch.open();
        await handle.result();

        const child = suite.env.client.workflow.getHandle(`${handle.workflowId}-train`);
        const described = await child.describe();
        expect(described.type).toBe('trainModel');
        expect(described.status.name).toBe('COMPLETED');
        expect(described.parentExecution?.workflowId).toBe(handle.workflowId);
        expect(described.typedSearchAttributes.get(MODEL)).toBe('flights');
        expect(await child.result()).toMatchObject({ losses: [fakeLoss(0), fakeLoss(1)], model: { epochs: 2, backend: FAKE_BACKEND, finalLoss: fakeLoss(1) } });

        const progress = await handle.query(progressQuery);
        expect(progress.trainLoss).toEqual([fakeLoss(0), fakeLoss(1)]);
        expect(progress.backend).toBe(FAKE_BACKEND);
        expect(progress.stages.train).toMatchObject({ status: 'done', done: 2, total: 2 });
        expect(progress.training).toEqual({ epoch: 1, round: 1, rounds: 1, workers: 2 });
        // No validation rows in the flights split: no validation figures.
        expect(progress.validationLoss).toBeUndefined();
        expect(progress.validationMetric).toBeUndefined();
      },
    );
  });

  test('progress query: statuses and done/total per stage while running and at the end; search attributes on the run', async () => {
    const ingestGate = gate();
    // Fewer partitions than the spec asks for (a small table): ingest counts the planned ones.
    await withPipeline(
      suite.env,
      suite.bundle,
      flightsSpec(),
      { partitions: 3, around: { ingestPartition: (_c, next) => ingestGate.promise.then(next) } },
      async ({ handle }) => {
        const live = await eventually(
          'the planned ingest',
          () => handle.query(progressQuery),
          (p) => p.stages.ingest.total === 3,
        );
        expect(live.stage).toBe('ingest');
        expect(live.stages.ingest).toMatchObject({ status: 'running', done: 0, total: 3, unit: 'partitions' });
        for (const s of STAGES.slice(1)) expect(live.stages[s].status).toBe('pending');
        const running = await handle.describe();
        expect(running.typedSearchAttributes.get(STAGE)).toBe('ingest');
        ingestGate.open();
        await handle.result();

        const progress: PipelineProgress = await handle.query(progressQuery);
        expect(progress).toMatchObject({
          pipeline: 'flights',
          model: 'flights',
          stage: 'finished',
          rows: 750,
          quarantinedRows: 0,
          modelVersion: FAKE_VERSION,
          metrics: FAKE_METRICS,
        });
        expect(progress.error).toBeUndefined();
        const units = Object.fromEntries(
          STAGES.map((s) => [s, [progress.stages[s].status, progress.stages[s].done, progress.stages[s].total, progress.stages[s].unit]]),
        );
        expect(units).toEqual({
          ingest: ['done', 3, 3, 'partitions'],
          validate: ['done', 1, 1, 'checks'],
          transform: ['done', 4, 4, 'shards'], // fit + one per shard
          train: ['done', 2, 2, 'epochs'],
          evaluate: ['done', 5, 5, 'steps'], // one per shard, the merge, the blessing
          register: ['done', 1, 1, 'versions'],
          deploy: ['done', 1, 1, 'deployments'],
        });

        const finished = await handle.describe();
        expect(finished.status.name).toBe('COMPLETED');
        expect(finished.typedSearchAttributes.get(PIPELINE)).toBe('flights');
        expect(finished.typedSearchAttributes.get(MODEL)).toBe('flights');
        expect(finished.typedSearchAttributes.get(STAGE)).toBe('finished');
      },
    );
  });

  test('a PipelineInputError in validate fails the run once, non-retryable, as "validate: ..."', async () => {
    const message = '12.0% of rows are malformed, over quarantine.maxFraction 5%';
    // The real activity frame turns lib's PipelineInputError into the non-retryable Temporal failure.
    const checkDataset = (): Promise<never> =>
      runActivity(async () => {
        throw new PipelineInputError(message);
      });
    await withPipeline(suite.env, suite.bundle, flightsSpec(), { around: { checkDataset } }, async ({ handle, calls }) => {
      const failure = await failureOf(handle.result());
      expect(failure.type).toBe(PIPELINE_INPUT_ERROR);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toBe(`validate: ${message}`);
      expect(failure.message.startsWith('validate: ')).toBe(true);

      expect(calls.filter((c) => c.name === 'checkDataset').map((c) => c.attempt)).toEqual([1]);
      expect(calls.some((c) => c.name === 'fitTransform')).toBe(false);
      expect(inputsOf<RunFinished>(calls, 'recordRunFinished')).toEqual([
        { runId: handle.workflowId, status: 'failed', metrics: { error: message, stage: 'validate' }, stageSeconds: expect.any(Object) },
      ]);

      const progress = await handle.query(progressQuery);
      expect(progress.stage).toBe('failed');
      expect(progress.error).toBe(message);
      expect(progress.stages.ingest.status).toBe('done');
      expect(progress.stages.validate.status).toBe('failed');
      expect(progress.stages.transform.status).toBe('pending');
      expect((await handle.describe()).typedSearchAttributes.get(STAGE)).toBe('failed');
    });
  });

  test('a PipelineInputError inside the training child fails the run as "train: ..."', async () => {
    const message = 'model.hidden [4096, 4096] needs more memory than the gpu pool has';
    const around: FakeOptions['around'] = {
      trainShards: (call, next) => {
        const { epoch, worker } = call.input as TrainShardsInput;
        return epoch === 1 && worker === 1 ? Promise.reject(ApplicationFailure.nonRetryable(message, PIPELINE_INPUT_ERROR)) : next();
      },
    };
    await withPipeline(suite.env, suite.bundle, flightsSpec(), { around }, async ({ handle, calls }) => {
      const failure = await failureOf(handle.result());
      expect(failure.type).toBe(PIPELINE_INPUT_ERROR);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toBe(`train: ${message}`);

      // Not retried; the other worker of epoch 1 had run (or was cancelled with the child), and nothing was merged after the failure.
      expect(shardCalls(calls).filter(([epoch, , worker]) => epoch === 0 || worker === 1)).toEqual([
        [0, 0, 0, 1],
        [0, 0, 1, 1],
        [1, 0, 1, 1],
      ]);
      expect(inputsOf<MergeRoundInput>(calls, 'mergeRound').map((m) => m.epoch)).toEqual([0]);
      expect(calls.some((c) => c.name === 'evaluateModel')).toBe(false);
      expect(inputsOf<RunFinished>(calls, 'recordRunFinished')[0]).toMatchObject({ status: 'failed', metrics: { error: message, stage: 'train' } });

      const child = await suite.env.client.workflow.getHandle(`${handle.workflowId}-train`).describe();
      expect(child.status.name).toBe('FAILED');
      const progress = await handle.query(progressQuery);
      expect(progress.stage).toBe('failed');
      expect(progress.stages.transform.status).toBe('done');
      expect(progress.stages.train).toMatchObject({ status: 'failed', done: 1, total: 2 });
      expect(progress.trainLoss).toEqual([fakeLoss(0)]);
      expect((await handle.describe()).typedSearchAttributes.get(STAGE)).toBe('failed');
    });
  });

  test('a cancelled run is recorded as cancelled in the stage it was in (progress, search attribute, run log)', async () => {
    const fitting = gate();
    await withPipeline(
      suite.env,
      suite.bundle,
      flightsSpec(),
      { around: { fitTransform: (_c, next) => fitting.promise.then(next) } },
      async ({ handle, calls }) => {
        await eventually(
          'the transform stage',
          () => handle.query(progressQuery),
          (p) => p.stage === 'transform',
        );
        await handle.cancel();
        const err = await handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(WorkflowFailedError);
        expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
        expect((await handle.describe()).status.name).toBe('CANCELLED');
        // recordRunFinished runs in a non-cancellable scope: the run log does not stay 'running'.
        expect(inputsOf<RunFinished>(calls, 'recordRunFinished')).toEqual([
          {
            runId: handle.workflowId,
            status: 'cancelled',
            metrics: { error: 'cancelled during transform', stage: 'transform' },
            stageSeconds: expect.any(Object),
          },
        ]);
        const progress = await handle.query(progressQuery);
        expect(progress.stage).toBe('cancelled');
        expect(progress.stages.transform.status).toBe('cancelled');
        expect(progress.stages.validate.status).toBe('done');
        expect((await handle.describe()).typedSearchAttributes.get(STAGE)).toBe('cancelled');
        fitting.open();
      },
    );
  });

  test('an activity that fails once with a plain Error is retried, and the history shows attempt 2', async () => {
    const message = 'transient: artifact store busy';
    await withPipeline(
      suite.env,
      suite.bundle,
      flightsSpec(),
      {
        around: {
          fitTransform: (call, next) => {
            // A plain Error stays retryable through the real frame (only PipelineInputError is not).
            if (call.attempt === 1) return Promise.reject(asTemporalFailure(new Error(message)));
            return next();
          },
        },
      },
      async ({ handle, calls }) => {
        const result = await handle.result();
        expect(result.model.version).toBe(FAKE_VERSION);
        expect(calls.filter((c) => c.name === 'fitTransform').map((c) => c.attempt)).toEqual([1, 2]);

        const events = (await handle.fetchHistory()).events ?? [];
        const scheduled = scheduledActivities(events);
        const started = events.filter(
          (e) => e.activityTaskStartedEventAttributes && scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) === 'fitTransform',
        );
        expect(started).toHaveLength(1);
        expect(started[0]!.activityTaskStartedEventAttributes!.attempt).toBe(2);
        expect(started[0]!.activityTaskStartedEventAttributes!.lastFailure?.message).toBe(message);
        // Every other activity ran once.
        for (const e of events) {
          const a = e.activityTaskStartedEventAttributes;
          if (a && scheduled.get(String(a.scheduledEventId)) !== 'fitTransform') expect(a.attempt).toBe(1);
        }
        expect(events.some((e) => e.workflowExecutionCompletedEventAttributes)).toBe(true);
      },
    );
  });

  /** The trainShards results in the training child's history (every run of it), as [epoch, worker, result]. */
  async function trainShardsResults(handle: PipelineRun['handle']): Promise<Array<[number, number, TrainShardsResult]>> {
    const events = (await suite.env.client.workflow.getHandle(`${handle.workflowId}-train`).fetchHistory()).events ?? [];
    const scheduled = new Map(
      events
        .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainShards')
        .map((e) => [String(e.eventId), defaultPayloadConverter.fromPayload<TrainShardsInput>(e.activityTaskScheduledEventAttributes!.input!.payloads![0]!)]),
    );
    return events.flatMap((e) => {
      const done = e.activityTaskCompletedEventAttributes;
      const input = done && scheduled.get(String(done.scheduledEventId));
      return input
        ? [
            [input.epoch, input.worker, defaultPayloadConverter.fromPayload<TrainShardsResult>(done.result!.payloads![0]!)] as [
              number,
              number,
              TrainShardsResult,
            ],
          ]
        : [];
    });
  }

  test("a worker's trainShards that fails once is retried from the round's checkpoint; the other worker is not rerun and the model is the same", async () => {
    const message = 'transient: gpu worker lost its artifact store mount';
    const isVictim = (call: Call): boolean => {
      const { epoch, worker } = call.input as TrainShardsInput;
      return epoch === 1 && worker === 0;
    };
    await withPipeline(
      suite.env,
      suite.bundle,
      flightsSpec(),
      { around: { trainShards: (call, next) => (isVictim(call) && call.attempt === 1 ? Promise.reject(asTemporalFailure(new Error(message))) : next()) } },
      async ({ handle, calls }) => {
        const result = await handle.result();
        expect(result.model.version).toBe(FAKE_VERSION);
        expect(shardCalls(calls)).toEqual([
          [0, 0, 0, 1],
          [0, 0, 1, 1],
          [1, 0, 0, 1],
          [1, 0, 0, 2],
          [1, 0, 1, 1],
        ]);
        // Both attempts got the same input: the round's start, the merged checkpoint of epoch 0. No heartbeat, so nothing to resume from.
        const [first, second] = calls.filter(isVictim);
        expect(second!.input).toEqual(first!.input);
        expect((second!.input as TrainShardsInput).from?.uri).toBe(mergedAfter(0));
        expect(second!.heartbeatDetails).toBeUndefined();
        // The merge waited for the retried worker, and the model is the one an undisturbed run gives.
        expect(inputsOf<MergeRoundInput>(calls, 'mergeRound')[1]!.parts.map((p) => p.checkpoint.uri)).toEqual([
          fakeShardCheckpoint(1, 0, 0).uri,
          fakeShardCheckpoint(1, 0, 1).uri,
        ]);
        expect(inputsOf<RegisterInput>(calls, 'registerModel')[0]!.model).toMatchObject({ uri: mergedAfter(1), trainSamples: 2 * EPOCH_SAMPLES });
        expect((await trainShardsResults(handle)).every(([, , r]) => r.resumedAtBatch === undefined)).toBe(true);

        const events = (await suite.env.client.workflow.getHandle(`${handle.workflowId}-train`).fetchHistory()).events ?? [];
        const retried = events.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
        expect(retried).toHaveLength(1);
        expect(retried[0]!.activityTaskStartedEventAttributes!.lastFailure?.message).toBe(message);
      },
    );
  });

  test('a worker that dies mid-round after heartbeating a mid-epoch checkpoint: the retry resumes there, and the run finishes with the same model', async () => {
    const resume: NonNullable<TrainShardsHeartbeat['resume']> = {
      checkpoint: { ...artifact('mid-epoch-e1-w1-b2'), epoch: 1 },
      nextBatch: 2,
      samples: 2 * FAKE_BATCH_ROWS,
      lossSum: 2 * FAKE_BATCH_ROWS * fakeLoss(1),
      seconds: 0.1,
    };
    await withPipeline(
      suite.env,
      suite.bundle,
      flightsSpec(),
      {
        around: {
          trainShards: async (call, next) => {
            const { epoch, worker } = call.input as TrainShardsInput;
            if (epoch === 1 && worker === 1 && call.attempt === 1) {
              // As the real activity does every checkpointEveryBatches batches; then the worker is gone.
              Context.current().heartbeat({ progress: resume.samples, resume } satisfies TrainShardsHeartbeat);
              await new Promise((r) => setTimeout(r, 200));
              throw asTemporalFailure(new Error('gpu worker lost'));
            }
            return next();
          },
        },
      },
      async ({ handle, calls }) => {
        await handle.result();
        const attempts = calls.filter(
          (c) => c.name === 'trainShards' && (c.input as TrainShardsInput).epoch === 1 && (c.input as TrainShardsInput).worker === 1,
        );
        expect(attempts.map((c) => [c.attempt, c.heartbeatDetails])).toEqual([
          [1, undefined],
          [2, { progress: resume.samples, resume }],
        ]);
        // Only the retried share resumed, at the heartbeat's batch; its result is what an unbroken attempt returns.
        const results = await trainShardsResults(handle);
        expect(results.filter(([, , r]) => r.resumedAtBatch !== undefined).map(([epoch, worker, r]) => [epoch, worker, r.resumedAtBatch])).toEqual([[1, 1, 2]]);
        expect(results.find(([epoch, worker]) => epoch === 1 && worker === 1)![2].checkpoint).toEqual(fakeShardCheckpoint(1, 0, 1));
        expect(inputsOf<RegisterInput>(calls, 'registerModel')[0]!.model).toMatchObject({
          uri: mergedAfter(1),
          trainSamples: 2 * EPOCH_SAMPLES,
          finalLoss: fakeLoss(1),
        });
      },
    );
  });

  test('a pipeline whose spec predates data-parallel training (no model.parallelism) trains epoch by epoch, as it would have', async () => {
    const current = flightsSpec();
    const { parallelism: _parallelism, ...model } = current.model;
    const spec = { ...current, model: model as PipelineSpec['model'] };
    await withPipeline(suite.env, suite.bundle, spec, {}, async ({ handle, calls }) => {
      const result = await handle.result();
      expect(result.model.version).toBe(FAKE_VERSION);
      expect(calls.some((c) => c.name === 'planTraining' || c.name === 'trainShards' || c.name === 'mergeRound')).toBe(false);
      const epochs = inputsOf<TrainEpochInput>(calls, 'trainEpoch');
      expect(epochs.map((e) => [e.epoch, e.from?.uri])).toEqual([
        [0, undefined],
        [1, 'file:///fake/checkpoint-0'],
      ]);
      expect(inputsOf<RegisterInput>(calls, 'registerModel')[0]!.model).toMatchObject({ uri: 'file:///fake/checkpoint-1', epochs: 2, finalLoss: fakeLoss(1) });
      const progress = await handle.query(progressQuery);
      expect(progress.trainLoss).toEqual([fakeLoss(0), fakeLoss(1)]);
      expect(progress.stages.train).toMatchObject({ status: 'done', done: 2, total: 2 });
      expect(progress.training).toBeUndefined();
      // No patch marker: the child's history is one the code before data-parallel training would write.
      const events = (await suite.env.client.workflow.getHandle(`${handle.workflowId}-train`).fetchHistory()).events ?? [];
      expect(events.some((e) => e.markerRecordedEventAttributes)).toBe(false);
    });
  });
});
