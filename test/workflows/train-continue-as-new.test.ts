/**
 * trainModel's continue-as-new: a dev server that suggests continuing as new after a few history
 * events (the server's `limit.historyCount.suggestContinueAsNew`, thousands by default), so a
 * multi-epoch training crosses runs in seconds. Its own file, because the setting is server-wide.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import {
  MODEL,
  progressQuery,
  type RegisterInput,
  type TrainEpochInput,
  type TrainingState,
  type TrainModelInput,
  type TrainModelResult,
} from '../../contracts';
import type { trainModel } from '../../workflows';
import {
  bundleWorkflows,
  FAKE_BACKEND,
  fakeLoss,
  flightsSpec,
  sameQueueForEveryPool,
  startTestEnvironment,
  withPipeline,
  withWorker,
  type Call,
} from './helpers';

/** Small enough that a run of trainModel is told to continue as new after an epoch or two. */
const SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS = 10;
const EPOCHS = 4;

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([
    startTestEnvironment(['--dynamic-config-value', `limit.historyCount.suggestContinueAsNew=${SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS}`]),
    bundleWorkflows(),
  ]);
});

afterAll(async () => {
  await env?.teardown();
});

/** What training `epochs` epochs with the fakes returns, however many runs it took. */
function expectedTraining(epochs: number): TrainModelResult {
  const last = epochs - 1;
  return {
    model: {
      uri: `file:///fake/checkpoint-${last}`,
      sha256: `sha-checkpoint-${last}`,
      bytes: 100,
      epoch: last,
      backend: FAKE_BACKEND,
      epochs,
      trainSamples: 800 * epochs,
      trainSeconds: 0.5 * epochs,
      finalLoss: fakeLoss(last),
    } as TrainModelResult['model'],
    losses: Array.from({ length: epochs }, (_, e) => fakeLoss(e)),
  };
}

interface Run {
  runId: string;
  /** The state the run started from (its input's `resume`). */
  resume: TrainingState | undefined;
  /** The state it continued as new with; undefined for the run that completed. */
  continuedWith: TrainingState | undefined;
  epochs: number[];
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
    const epochs = events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainEpoch')
      .map((e) => (defaultPayloadConverter.fromPayload(e.activityTaskScheduledEventAttributes!.input!.payloads![0]!) as TrainEpochInput).epoch);
    runs.push({
      runId,
      resume: firstInput(started.input).resume,
      continuedWith: continued ? firstInput(continued.input).resume : undefined,
      epochs,
      completed: events.some((e) => e.workflowExecutionCompletedEventAttributes),
    });
    runId = continued?.newExecutionRunId ?? undefined;
  }
  return runs;
}

const trainEpochs = (calls: Call[]): TrainEpochInput[] => calls.filter((c) => c.name === 'trainEpoch').map((c) => c.input as TrainEpochInput);

describe(`trainModel continues as new (server: limit.historyCount.suggestContinueAsNew=${SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS})`, () => {
  test('a multi-epoch training in the pipeline continues as new between epochs, carries the checkpoint, and returns the same result', async () => {
    await withPipeline(env, workflowBundle, flightsSpec({ epochs: EPOCHS }), {}, async ({ handle, calls }) => {
      const result = await handle.result();

      // Each epoch ran once, in order, from the previous epoch's checkpoint, across runs.
      const epochs = trainEpochs(calls);
      expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
      expect(epochs.map((e) => e.from?.uri)).toEqual([undefined, 'file:///fake/checkpoint-0', 'file:///fake/checkpoint-1', 'file:///fake/checkpoint-2']);
      expect(calls.filter((c) => c.name === 'trainEpoch').every((c) => c.attempt === 1)).toBe(true);

      // The child's runs, from the parent's ChildWorkflowExecutionStarted.
      const childId = `${handle.workflowId}-train`;
      const parentEvents = (await handle.fetchHistory()).events ?? [];
      const childStarted = parentEvents.find((e) => e.childWorkflowExecutionStartedEventAttributes)!.childWorkflowExecutionStartedEventAttributes!;
      expect(childStarted.workflowExecution?.workflowId).toBe(childId);
      const runs = await runChain(env.client, childId, childStarted.workflowExecution!.runId!);
      // The epochs split over several runs, in order; how many per run depends on the events an epoch adds.
      expect(runs.length).toBeGreaterThan(1);
      expect(runs.flatMap((r) => r.epochs)).toEqual([0, 1, 2, 3]);
      for (const run of runs) expect(run.epochs.length).toBeGreaterThan(0);
      expect(runs[0]!.resume).toBeUndefined();
      expect(runs.map((r) => r.completed)).toEqual([...runs.slice(1).map(() => false), true]);
      for (let i = 1; i < runs.length; i++) {
        // A run starts from exactly the state the previous one continued with: the last checkpoint, losses so far.
        const resume = runs[i]!.resume!;
        expect(resume).toEqual(runs[i - 1]!.continuedWith);
        expect(resume.checkpoint?.epoch).toBe(resume.epochsDone - 1);
        expect(resume.losses).toEqual(Array.from({ length: resume.epochsDone }, (_, e) => fakeLoss(e)));
        expect(runs[i]!.epochs[0]).toBe(resume.epochsDone);
      }
      const latest = await env.client.workflow.getHandle(childId).describe();
      expect(latest.runId).toBe(runs[runs.length - 1]!.runId);
      expect(latest.parentExecution?.workflowId).toBe(handle.workflowId);
      expect(latest.typedSearchAttributes.get(MODEL)).toBe('flights');

      // The same model as one run would give, and the parent heard every epoch from every run.
      const expected = expectedTraining(EPOCHS);
      expect(await env.client.workflow.getHandle<typeof trainModel>(childId).result()).toEqual(expected);
      expect(calls.find((c) => c.name === 'registerModel')!.input as RegisterInput).toMatchObject({ model: expected.model });
      expect(result.backend).toBe(FAKE_BACKEND);
      const progress = await handle.query(progressQuery);
      expect(progress.trainLoss).toEqual(expected.losses);
      expect(progress.stages.train).toMatchObject({ status: 'done', done: EPOCHS, total: EPOCHS });
    });
  });

  test('trainModel started on its own with a resume state trains only the remaining epochs, from its checkpoint', async () => {
    const spec = flightsSpec({ epochs: EPOCHS });
    const resume: TrainingState = {
      epochsDone: 2,
      checkpoint: { uri: 'file:///fake/checkpoint-1', sha256: 'sha-checkpoint-1', bytes: 100, epoch: 1 },
      losses: [fakeLoss(0), fakeLoss(1)],
      backend: FAKE_BACKEND,
      trainSamples: 1600,
      trainSeconds: 1,
    };
    await withWorker(env, workflowBundle, {}, async ({ taskQueue, calls }) => {
      const input: TrainModelInput = {
        model: spec.model,
        transform: { uri: 'file:///fake/transform.json', sha256: 'sha-transform.json', bytes: 100, inputDim: 12, trainRows: 800 },
        shards: [{ uri: 'file:///fake/encoded-0.arrow', sha256: 'sha-encoded-0.arrow', bytes: 100, partition: 0, trainRows: 200, testRows: 50 }],
        queues: sameQueueForEveryPool(taskQueue),
        resume,
      };
      // No parent: nobody to signal epochs to.
      const result = await env.client.workflow.execute<typeof trainModel>('trainModel', { taskQueue, workflowId: taskQueue, args: [input] });
      expect(result).toEqual(expectedTraining(EPOCHS));
      expect(trainEpochs(calls).map((e) => [e.epoch, e.from?.uri])).toEqual([
        [2, 'file:///fake/checkpoint-1'],
        [3, 'file:///fake/checkpoint-2'],
      ]);
    });
  });
});
