/**
 * trainingPipeline and its training child on a real (local) Temporal dev server, with fake
 * activities: the DAG's order, fan-out, checkpoint chaining, progress, search attributes, failure
 * mapping and retries, in seconds. One dev server and one workflow bundle for the whole file.
 */
import { ApplicationFailure, CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { asTemporalFailure, runActivity } from '../../activities/support/run-task';
import {
  MODEL,
  PIPELINE,
  PIPELINE_INPUT_ERROR,
  progressQuery,
  STAGE,
  STAGES,
  type CheckpointRef,
  type EncodedShardRef,
  type PipelineProgress,
  type RegisterInput,
  type RunFinished,
  type RunStarted,
  type ShardRef,
  type TrainEpochInput,
} from '../../contracts';
import { PipelineInputError } from '../../lib/errors';
import {
  artifact,
  bundleWorkflows,
  eventually,
  FAKE_BACKEND,
  FAKE_METRICS,
  FAKE_VERSION,
  fakeLoss,
  flightsSpec,
  gate,
  scheduledActivities,
  startTestEnvironment,
  withPipeline,
  type Call,
  type FakeOptions,
} from './helpers';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([startTestEnvironment(), bundleWorkflows()]);
});

afterAll(async () => {
  await env?.teardown();
});

const inputsOf = <T>(calls: Call[], name: Call['name']): T[] => calls.filter((c) => c.name === name).map((c) => c.input as T);

/** The call sequence with runs of the same activity collapsed: ingestPartition x4 -> one entry. */
function collapsed(calls: Call[]): string[] {
  const out: string[] = [];
  for (const c of calls) if (out[out.length - 1] !== c.name) out.push(c.name);
  return out;
}

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
  test('runs the stages in order: ingest fans out in parallel, epochs chain checkpoints, and returns the run', async () => {
    const spec = flightsSpec({ epochs: 3 });
    const partitions = spec.source.partitions;
    let inFlight = 0;
    let maxInFlight = 0;
    const allStarted = gate();
    await withPipeline(
      env,
      workflowBundle,
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
          'trainEpoch',
          'evaluateModel',
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

        // Epochs one after another, each from the previous epoch's checkpoint.
        const epochs = inputsOf<TrainEpochInput>(calls, 'trainEpoch');
        expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);
        expect(epochs[0]!.from).toBeUndefined();
        expect(epochs[1]!.from).toEqual<CheckpointRef>({ uri: 'file:///fake/checkpoint-0', sha256: 'sha-checkpoint-0', bytes: 100, epoch: 0 });
        expect(epochs[2]!.from?.epoch).toBe(1);
        for (const e of epochs) {
          expect(e.model).toEqual(spec.model);
          expect(e.transform.uri).toBe('file:///fake/transform.json');
          expect(e.shards.map((s: EncodedShardRef) => s.partition).sort()).toEqual([0, 1, 2, 3]);
        }

        // What the registry is told: the last checkpoint as the model, with its lineage.
        const [registered] = inputsOf<RegisterInput>(calls, 'registerModel');
        expect(registered).toMatchObject({ name: 'flights', runId: handle.workflowId, metrics: FAKE_METRICS, datasetSha256: 'sha-dataset', spec });
        expect(registered!.model).toEqual({
          uri: 'file:///fake/checkpoint-2',
          sha256: 'sha-checkpoint-2',
          bytes: 100,
          epoch: 2,
          backend: FAKE_BACKEND,
          epochs: 3,
          trainSamples: 2400,
          trainSeconds: 1.5,
          finalLoss: fakeLoss(2),
        });
        // Everything after validate was computed, so the step cache learns every step under its key.
        expect(registered!.computedSteps.map((e) => e.key).sort()).toEqual(
          ['key-apply-0', 'key-apply-1', 'key-apply-2', 'key-apply-3', 'key-evaluate', 'key-fit', 'key-train'].sort(),
        );
        expect(registered!.computedSteps.find((e) => e.key === 'key-train')!.result).toMatchObject({ model: { uri: 'file:///fake/checkpoint-2' } });
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
      env,
      workflowBundle,
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
          'registerModel',
          'deployModel',
          'recordRunFinished',
        ]);
        // The one shard not cached is encoded with the cached transform.
        expect(inputsOf<{ shard: ShardRef; transform: { uri: string } }>(calls, 'applyTransform').map((i) => [i.shard.partition, i.transform.uri])).toEqual([
          [3, transform.uri],
        ]);
        await expect(env.client.workflow.getHandle(`${handle.workflowId}-train`).describe()).rejects.toThrow();
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
    await withPipeline(env, workflowBundle, flightsSpec(), { reuseSteps: false }, async ({ handle, calls }) => {
      await handle.result();
      expect(inputsOf<{ reuseSteps: boolean }>(calls, 'checkDataset')[0]!.reuseSteps).toBe(false);
    });
  });

  test('trains in a child workflow <id>-train of type trainModel whose epochs show in the parent progress as they end', async () => {
    const lastEpoch = gate();
    await withPipeline(
      env,
      workflowBundle,
      flightsSpec(),
      { around: { trainEpoch: async (call, next) => ((call.input as TrainEpochInput).epoch === 1 ? lastEpoch.promise.then(next) : next()) } },
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
        lastEpoch.open();
        await handle.result();

        const child = env.client.workflow.getHandle(`${handle.workflowId}-train`);
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
      },
    );
  });

  test('progress query: statuses and done/total per stage while running and at the end; search attributes on the run', async () => {
    const ingestGate = gate();
    // Fewer partitions than the spec asks for (a small table): ingest counts the planned ones.
    await withPipeline(
      env,
      workflowBundle,
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
          evaluate: ['done', 1, 1, 'test sets'],
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
    await withPipeline(env, workflowBundle, flightsSpec(), { around: { checkDataset } }, async ({ handle, calls }) => {
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
      trainEpoch: (call, next) =>
        (call.input as TrainEpochInput).epoch === 1 ? Promise.reject(ApplicationFailure.nonRetryable(message, PIPELINE_INPUT_ERROR)) : next(),
    };
    await withPipeline(env, workflowBundle, flightsSpec(), { around }, async ({ handle, calls }) => {
      const failure = await failureOf(handle.result());
      expect(failure.type).toBe(PIPELINE_INPUT_ERROR);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toBe(`train: ${message}`);

      expect(calls.filter((c) => c.name === 'trainEpoch').map((c) => [(c.input as TrainEpochInput).epoch, c.attempt])).toEqual([
        [0, 1],
        [1, 1],
      ]);
      expect(calls.some((c) => c.name === 'evaluateModel')).toBe(false);
      expect(inputsOf<RunFinished>(calls, 'recordRunFinished')[0]).toMatchObject({ status: 'failed', metrics: { error: message, stage: 'train' } });

      const child = await env.client.workflow.getHandle(`${handle.workflowId}-train`).describe();
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
      env,
      workflowBundle,
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
      env,
      workflowBundle,
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
});
