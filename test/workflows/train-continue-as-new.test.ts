/**
 * trainModel's continue-as-new: a dev server that suggests continuing as new after a few history
 * events (the server's `limit.historyCount.suggestContinueAsNew`, thousands by default), so a
 * multi-epoch training crosses runs in seconds. Its own file, because the setting is server-wide.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import {
  MODEL,
  progressQuery,
  type EncodedShardRef,
  type MergeRoundInput,
  type RegisterInput,
  type TrainingPlan,
  type TrainingState,
  type TrainModelInput,
  type TrainModelResult,
  type TrainEpochInput,
  type TrainShardsInput,
} from '../../contracts';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import type { trainModel } from '../../workflows';
import {
  artifact,
  FAKE_BACKEND,
  FAKE_BATCH_ROWS,
  fakeBatchesOf,
  fakeLoss,
  fakeMergedCheckpoint,
  fakeRoundSeconds,
  fakeShardCheckpoint,
  flightsSpec,
  sameQueueForEveryPool,
  useWorkflowEnvironment,
  withPipeline,
  withWorker,
  type Call,
} from './helpers';

/** Small enough that a run of trainModel is told to continue as new after an epoch or two. */
const SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS = 10;
const EPOCHS = 4;
/** 2 workers (shards [0, 2] and [1, 3] in the fakes' plan), 2 rounds per epoch. */
const PARALLELISM = { workers: 2, roundsPerEpoch: 2, share: 'shards' as const };
const ROUNDS = PARALLELISM.roundsPerEpoch;

const suite = useWorkflowEnvironment(['--dynamic-config-value', `limit.historyCount.suggestContinueAsNew=${SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS}`]);

/** The merged checkpoint after round `round` of `epoch` (both workers, in worker order). */
const mergedAfter = (epoch: number, round: number = ROUNDS - 1): ReturnType<typeof fakeMergedCheckpoint> =>
  fakeMergedCheckpoint(epoch, [fakeShardCheckpoint(epoch, round, 0), fakeShardCheckpoint(epoch, round, 1)]);

/** The plan the fakes make for the flights shards 0..3 with 2 workers. */
const PLAN: TrainingPlan = {
  groups: [
    [0, 2],
    [1, 3],
  ],
  batches: [fakeBatchesOf([0, 2]), fakeBatchesOf([1, 3])],
  validationRows: 0,
  task: 'binary',
  units: 1,
};

/** What training `epochs` epochs with the fakes returns, however many runs it took. */
function expectedTraining(epochs: number): TrainModelResult {
  const last = epochs - 1;
  return {
    model: {
      ...mergedAfter(last),
      backend: FAKE_BACKEND,
      epochs,
      trainSamples: fakeBatchesOf([0, 1, 2, 3]) * FAKE_BATCH_ROWS * epochs,
      trainSeconds: fakeRoundSeconds(1) * ROUNDS * epochs,
      finalLoss: fakeLoss(last),
    },
    losses: Array.from({ length: epochs }, (_, e) => fakeLoss(e)),
  };
}

interface Run {
  runId: string;
  /** The state the run started from (its input's `resume`). */
  resume: TrainingState | undefined;
  /** The state it continued as new with; undefined for the run that completed. */
  continuedWith: TrainingState | undefined;
  /** The epochs whose rounds the run trained. */
  epochs: number[];
  /** Activity types the run scheduled, how often. */
  activities: Record<string, number>;
  completed: boolean;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const firstInput = (payloads: temporal.api.common.v1.IPayloads | null | undefined): TrainModelInput =>
  defaultPayloadConverter.fromPayload(payloads!.payloads![0]!);

/** Every run of a workflow id, first to last, following its continue-as-new chain from `firstRunId`. */
async function runChain(client: Client, workflowId: string, firstRunId: string): Promise<Run[]> {
  const runs: Run[] = [];
  for (let runId: string | undefined = firstRunId; runId;) {
    const events: HistoryEvent[] = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    const started = events[0]!.workflowExecutionStartedEventAttributes!;
    const continued = events.find((e) => e.workflowExecutionContinuedAsNewEventAttributes)?.workflowExecutionContinuedAsNewEventAttributes;
    const scheduled = events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
    const epochs = scheduled
      .filter((a) => a.activityType?.name === 'trainShards')
      .map((a) => (defaultPayloadConverter.fromPayload(a.input!.payloads![0]!) as TrainShardsInput).epoch);
    const activities: Record<string, number> = {};
    for (const a of scheduled) activities[a.activityType!.name!] = (activities[a.activityType!.name!] ?? 0) + 1;
    runs.push({
      runId,
      resume: firstInput(started.input).resume,
      continuedWith: continued ? firstInput(continued.input).resume : undefined,
      epochs: [...new Set(epochs)],
      activities,
      completed: events.some((e) => e.workflowExecutionCompletedEventAttributes),
    });
    runId = continued?.newExecutionRunId ?? undefined;
  }
  return runs;
}

const trainShards = (calls: Call[]): TrainShardsInput[] => calls.filter((c) => c.name === 'trainShards').map((c) => c.input as TrainShardsInput);
/** The flights shards 0..3 as the fake applyTransform encodes them. */
const encodedShards = (validationRows = 0): EncodedShardRef[] =>
  [0, 1, 2, 3].map((p) => ({
    ...artifact(`encoded-${p}.arrow`),
    partition: p,
    trainRows: 200 - validationRows,
    testRows: 50,
    ...(validationRows > 0 ? { validationRows } : {}),
  }));

describe(`trainModel continues as new (server: limit.historyCount.suggestContinueAsNew=${SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS})`, () => {
  test('a multi-epoch training in the pipeline continues as new between epochs, carries the plan and the checkpoint, and returns the same result', async () => {
    await withPipeline(suite.env, suite.bundle, flightsSpec({ epochs: EPOCHS, parallelism: PARALLELISM }), {}, async ({ handle, calls }) => {
      const result = await handle.result();

      // One plan for the whole training, across runs.
      expect(calls.filter((c) => c.name === 'planTraining')).toHaveLength(1);
      // Each round of each epoch ran once per worker, in order, from the previous round's merge, across runs.
      const shares = trainShards(calls);
      expect(calls.filter((c) => c.name === 'trainShards').every((c) => c.attempt === 1)).toBe(true);
      expect(shares.map((s) => [s.epoch, s.round])).toEqual(
        Array.from({ length: EPOCHS * ROUNDS }, (_, i) => [Math.floor(i / ROUNDS), i % ROUNDS]).flatMap((er) => [er, er]),
      );
      for (const s of shares) {
        const from = s.round > 0 ? mergedAfter(s.epoch, s.round - 1) : s.epoch > 0 ? mergedAfter(s.epoch - 1) : undefined;
        expect(s.from).toEqual(from);
        expect(s.shards.map((x) => x.partition)).toEqual(PLAN.groups[s.worker]);
      }
      expect(calls.filter((c) => c.name === 'mergeRound')).toHaveLength(EPOCHS * ROUNDS);

      // The child's runs, from the parent's ChildWorkflowExecutionStarted.
      const childId = `${handle.workflowId}-train`;
      const parentEvents = (await handle.fetchHistory()).events ?? [];
      const childStarted = parentEvents.find((e) => e.childWorkflowExecutionStartedEventAttributes)!.childWorkflowExecutionStartedEventAttributes!;
      expect(childStarted.workflowExecution?.workflowId).toBe(childId);
      const runs = await runChain(suite.env.client, childId, childStarted.workflowExecution!.runId!);
      // The epochs split over several runs, in order, whole (never a round in one run and the next round in another).
      expect(runs.length).toBeGreaterThan(1);
      expect(runs.flatMap((r) => r.epochs)).toEqual([0, 1, 2, 3]);
      for (const run of runs) {
        expect(run.epochs.length).toBeGreaterThan(0);
        expect(run.activities.trainShards).toBe(run.epochs.length * ROUNDS * 2);
        expect(run.activities.mergeRound).toBe(run.epochs.length * ROUNDS);
      }
      // Only the first run plans; the others take the plan from their resume state.
      expect(runs.map((r) => r.activities.planTraining ?? 0)).toEqual(runs.map((_, i) => (i === 0 ? 1 : 0)));
      expect(runs[0]!.resume).toBeUndefined();
      expect(runs.map((r) => r.completed)).toEqual([...runs.slice(1).map(() => false), true]);
      for (let i = 1; i < runs.length; i++) {
        // A run starts from exactly the state the previous one continued with: the plan, the last merged checkpoint, losses so far.
        const resume = runs[i]!.resume!;
        expect(resume).toEqual(runs[i - 1]!.continuedWith);
        expect(resume.plan).toEqual(PLAN);
        expect(resume.checkpoint).toEqual(mergedAfter(resume.epochsDone - 1));
        expect(resume.losses).toEqual(Array.from({ length: resume.epochsDone }, (_, e) => fakeLoss(e)));
        expect(resume.stoppedEarly).toBeFalsy();
        expect(runs[i]!.epochs[0]).toBe(resume.epochsDone);
      }
      const latest = await suite.env.client.workflow.getHandle(childId).describe();
      expect(latest.runId).toBe(runs[runs.length - 1]!.runId);
      expect(latest.parentExecution?.workflowId).toBe(handle.workflowId);
      expect(latest.typedSearchAttributes.get(MODEL)).toBe('flights');

      // The same model as one run would give, and the parent heard every round from every run.
      const expected = expectedTraining(EPOCHS);
      expect(await suite.env.client.workflow.getHandle<typeof trainModel>(childId).result()).toEqual(expected);
      expect(calls.find((c) => c.name === 'registerModel')!.input as RegisterInput).toMatchObject({ model: expected.model });
      expect(result.backend).toBe(FAKE_BACKEND);
      const progress = await handle.query(progressQuery);
      expect(progress.trainLoss).toEqual(expected.losses);
      expect(progress.training).toEqual({ epoch: EPOCHS - 1, round: ROUNDS, rounds: ROUNDS, workers: 2 });
      expect(progress.stages.train).toMatchObject({ status: 'done', done: EPOCHS, total: EPOCHS });
    });
  });

  test('early stopping across runs: the best epoch, found in an earlier run, is carried and restored', async () => {
    const earlyStopping = { patience: 2, minDelta: 0, restoreBest: true };
    // Best at epoch 0; epochs 1 and 2 do not beat it: stops after epoch 2.
    const validationLosses = [0.5, 0.6, 0.55, 0.1, 0.1, 0.1];
    const spec = flightsSpec({ epochs: 6, earlyStopping, parallelism: PARALLELISM });
    await withPipeline(suite.env, suite.bundle, spec, { validationRows: 20, validationLosses }, async ({ handle, calls }) => {
      await handle.result();
      const childId = `${handle.workflowId}-train`;
      const childStarted = ((await handle.fetchHistory()).events ?? []).find(
        (e) => e.childWorkflowExecutionStartedEventAttributes,
      )!.childWorkflowExecutionStartedEventAttributes!;
      const runs = await runChain(suite.env.client, childId, childStarted.workflowExecution!.runId!);
      expect(runs.flatMap((r) => r.epochs)).toEqual([0, 1, 2]);
      expect(runs.length).toBeGreaterThan(1);
      for (const run of runs.slice(1)) expect(run.resume!.best).toEqual({ epoch: 0, loss: 0.5, checkpoint: mergedAfter(0) });
      // The run that stopped does not continue as new: it completes.
      expect(runs[runs.length - 1]!.completed).toBe(true);

      const result = await suite.env.client.workflow.getHandle<typeof trainModel>(childId).result();
      expect(result).toMatchObject({ stoppedAfterEpochs: 3, validationLosses: [0.5, 0.6, 0.55], losses: [0, 1, 2].map(fakeLoss) });
      expect(result.model).toMatchObject({ ...mergedAfter(0), epochs: 3, finalLoss: fakeLoss(2) });
      expect((calls.find((c) => c.name === 'registerModel')!.input as RegisterInput).model.uri).toBe(mergedAfter(0).uri);
      expect(calls.filter((c) => c.name === 'planTraining')).toHaveLength(1);
      // Validation every epoch's last round, over every shard.
      const merges = calls.filter((c) => c.name === 'mergeRound').map((c) => c.input as MergeRoundInput);
      expect(merges.map((m) => m.validateOn?.length ?? 0)).toEqual([0, 4, 0, 4, 0, 4]);
    });
  });

  test('trainModel started on its own with a resume state trains only the remaining epochs, from its checkpoint, with its plan', async () => {
    const spec = flightsSpec({ epochs: EPOCHS, parallelism: PARALLELISM });
    const resume: TrainingState = {
      epochsDone: 2,
      checkpoint: mergedAfter(1),
      losses: [fakeLoss(0), fakeLoss(1)],
      backend: FAKE_BACKEND,
      trainSamples: 2 * fakeBatchesOf([0, 1, 2, 3]) * FAKE_BATCH_ROWS,
      trainSeconds: 2 * ROUNDS * fakeRoundSeconds(1),
      plan: PLAN,
      validationLosses: [],
    };
    await withWorker(suite.env, suite.bundle, {}, async ({ taskQueue, calls }) => {
      const input: TrainModelInput = {
        model: spec.model,
        transform: { ...artifact('transform.json'), inputDim: 12, trainRows: 800 },
        shards: encodedShards(),
        queues: sameQueueForEveryPool(taskQueue),
        resume,
      };
      // No parent: nobody to signal rounds to.
      const result = await suite.env.client.workflow.execute<typeof trainModel>('trainModel', { taskQueue, workflowId: taskQueue, args: [input] });
      expect(result).toEqual(expectedTraining(EPOCHS));
      expect(calls.some((c) => c.name === 'planTraining')).toBe(false);
      expect(
        trainShards(calls)
          .filter((s) => s.worker === 0)
          .map((s) => [s.epoch, s.round, s.from?.uri]),
      ).toEqual([
        [2, 0, mergedAfter(1).uri],
        [2, 1, mergedAfter(2, 0).uri],
        [3, 0, mergedAfter(2).uri],
        [3, 1, mergedAfter(3, 0).uri],
      ]);
    });
  });

  test('a resume state without a plan (a run that began epoch by epoch) plans once and trains the remaining epochs from its checkpoint', async () => {
    const spec = flightsSpec({ epochs: 3, parallelism: PARALLELISM });
    const resume: TrainingState = {
      epochsDone: 1,
      checkpoint: { ...artifact('checkpoint-0'), epoch: 0 },
      losses: [fakeLoss(0)],
      backend: FAKE_BACKEND,
      trainSamples: 800,
      trainSeconds: 0.5,
    };
    await withWorker(suite.env, suite.bundle, {}, async ({ taskQueue, calls }) => {
      const input: TrainModelInput = {
        model: spec.model,
        transform: { ...artifact('transform.json'), inputDim: 12, trainRows: 800 },
        shards: encodedShards(),
        queues: sameQueueForEveryPool(taskQueue),
        resume,
      };
      const result = await suite.env.client.workflow.execute<typeof trainModel>('trainModel', { taskQueue, workflowId: taskQueue, args: [input] });
      expect(calls.filter((c) => c.name === 'planTraining')).toHaveLength(1);
      expect(
        trainShards(calls)
          .filter((s) => s.round === 0 && s.epoch === 1)
          .map((s) => s.from?.uri),
      ).toEqual([resume.checkpoint!.uri, resume.checkpoint!.uri]);
      expect(result.losses).toEqual([0, 1, 2].map(fakeLoss));
      expect(result.model).toMatchObject({ uri: mergedAfter(2).uri, epochs: 3, trainSamples: 800 + 2 * fakeBatchesOf([0, 1, 2, 3]) * FAKE_BATCH_ROWS });
    });
  });

  test('a training whose spec predates data-parallel training (no model.parallelism) continues as new epoch by epoch, without planning', async () => {
    const current = flightsSpec({ epochs: EPOCHS });
    const { parallelism: _parallelism, ...model } = current.model;
    const spec = { ...current, model: model as PipelineSpec['model'] };
    await withPipeline(suite.env, suite.bundle, spec, {}, async ({ handle, calls }) => {
      await handle.result();
      expect(calls.some((c) => c.name === 'planTraining' || c.name === 'trainShards' || c.name === 'mergeRound')).toBe(false);
      const epochs = calls.filter((c) => c.name === 'trainEpoch').map((c) => c.input as TrainEpochInput);
      expect(epochs.map((e) => [e.epoch, e.from?.uri])).toEqual([
        [0, undefined],
        [1, 'file:///fake/checkpoint-0'],
        [2, 'file:///fake/checkpoint-1'],
        [3, 'file:///fake/checkpoint-2'],
      ]);
      const childId = `${handle.workflowId}-train`;
      const childStarted = ((await handle.fetchHistory()).events ?? []).find(
        (e) => e.childWorkflowExecutionStartedEventAttributes,
      )!.childWorkflowExecutionStartedEventAttributes!;
      let runs = 0;
      for (let runId: string | undefined = childStarted.workflowExecution!.runId!; runId; runs++) {
        const events: HistoryEvent[] = (await suite.env.client.workflow.getHandle(childId, runId).fetchHistory()).events ?? [];
        // Every run of it is one the code before data-parallel training would write: no patch marker.
        expect(events.some((e) => e.markerRecordedEventAttributes)).toBe(false);
        runId =
          events.find((e) => e.workflowExecutionContinuedAsNewEventAttributes)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
      }
      expect(runs).toBeGreaterThan(1);
      expect(await suite.env.client.workflow.getHandle<typeof trainModel>(childId).result()).toMatchObject({
        model: { uri: 'file:///fake/checkpoint-3', epochs: EPOCHS },
        losses: [0, 1, 2, 3].map(fakeLoss),
      });
    });
  });
});
