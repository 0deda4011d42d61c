/**
 * Replays the histories of a real flights run (recorded by record-histories.ts, see there) against
 * the current workflow code: a change to workflows/ that would break runs already in flight fails
 * here with a determinism error. No server needed.
 *
 * Re-record (after a deliberate change that old runs need not survive):
 *   npm run build && node dist/test/workflows/record-histories.js
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflows, quietRuntime } from './helpers';

const HISTORIES = path.join(__dirname, 'histories');

interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}
interface JsonEvent {
  eventType: string;
  workflowExecutionStartedEventAttributes?: {
    workflowType: { name: string };
    parentWorkflowExecution?: { workflowId: string };
    input?: { payloads: JsonPayload[] };
  };
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  startChildWorkflowExecutionInitiatedEventAttributes?: { workflowId: string; workflowType: { name: string } };
}
interface JsonHistory {
  events: JsonEvent[];
}

const load = (file: string): JsonHistory => JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8')) as JsonHistory;

/** A recorded pipeline run and its training child, with the ids they had (the child's is `<pipeline id>-train`). */
interface RecordedRun {
  pipeline: JsonHistory;
  train: JsonHistory;
  pipelineId: string;
  trainId: string;
}

function recorded(pipelineFile: string, trainFile: string): RecordedRun {
  const pipeline = load(pipelineFile);
  const train = load(trainFile);
  return {
    pipeline,
    train,
    trainId:
      pipeline.events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? '',
    pipelineId: train.events[0]?.workflowExecutionStartedEventAttributes?.parentWorkflowExecution?.workflowId ?? '',
  };
}

/** Training in data-parallel rounds, before per-shard metric states and blessing. */
const current = recorded('flights-pipeline-rounds.json', 'flights-train-rounds.json');
/** Recorded before data-parallel training (one activity per epoch): runs of that time must still finish. */
const epochs = recorded('flights-pipeline-epochs.json', 'flights-train-epochs.json');
const { pipeline: pipelineJson, train: trainJson, pipelineId, trainId } = epochs;

const workflowType = (h: JsonHistory): string | undefined => h.events[0]?.workflowExecutionStartedEventAttributes?.workflowType.name;
const activityCounts = (h: JsonHistory): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const e of h.events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType.name;
    if (name) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
};

let workflowBundle: WorkflowBundleWithSourceMap;

/** Replays the histories together; each must replay without an error (a determinism violation or another). */
async function expectReplays(histories: Array<{ workflowId: string; history: ReturnType<typeof historyFromJSON> }>): Promise<void> {
  const results: Array<{ workflowId: string; error: unknown }> = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle }, histories)) results.push({ workflowId: r.workflowId, error: r.error });
  expect(results).toEqual(histories.map((h) => ({ workflowId: h.workflowId, error: undefined })));
}

beforeAll(async () => {
  quietRuntime();
  workflowBundle = await bundleWorkflows();
});

describe('recorded histories of a real flights run from before data-parallel training', () => {
  test('are a complete pipeline run and its epoch-by-epoch training child, not stale or empty', () => {
    expect(workflowType(pipelineJson)).toBe('trainingPipeline');
    expect(pipelineJson.events[pipelineJson.events.length - 1]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    const partitions = 4; // examples/flights.json
    expect(activityCounts(pipelineJson)).toEqual({
      recordRunStarted: 1,
      planIngest: 1,
      ingestPartition: partitions,
      checkDataset: 1,
      fitTransform: 1,
      applyTransform: partitions,
      evaluateModel: 1,
      registerModel: 1,
      deployModel: 1,
      recordRunFinished: 1,
    });
    const child = pipelineJson.events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)?.startChildWorkflowExecutionInitiatedEventAttributes;
    expect(child?.workflowType.name).toBe('trainModel');

    // The child is this pipeline's training: `<pipeline id>-train`, started by it.
    expect(workflowType(trainJson)).toBe('trainModel');
    expect(pipelineId).toMatch(/^flights-\d{8}-\d{6}-\d{3}$/);
    expect(trainId).toBe(`${pipelineId}-train`);
    expect(trainJson.events[trainJson.events.length - 1]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(activityCounts(trainJson)).toEqual({ trainEpoch: 2 });
    // Recorded before data-parallel training: no patch marker, so trainModel replays it epoch by epoch.
    expect(trainJson.events.filter((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED')).toEqual([]);
    // Each epoch is reported to the parent.
    expect(trainJson.events.filter((e) => e.eventType === 'EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED')).toHaveLength(2);
  });

  test('replay against the current workflow code without a determinism error', async () => {
    const histories = [
      { workflowId: pipelineId, history: historyFromJSON(pipelineJson) },
      { workflowId: trainId, history: historyFromJSON(trainJson) },
    ];
    await expectReplays(histories);
  });

  test('a training history without the patch marker replays epoch by epoch also when its spec has model.parallelism', async () => {
    // The recorded spec predates model.parallelism, which alone sends trainModel epoch by epoch; a
    // run started after the spec gained it (but before the workflow trained in rounds) is told
    // apart by the missing patch marker only. The same history with parallelism in its input:
    const withParallelism = JSON.parse(JSON.stringify(trainJson)) as JsonHistory;
    const payload = withParallelism.events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads[0]!;
    const input = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as { model: Record<string, unknown> };
    expect(input.model.parallelism).toBeUndefined();
    input.model.parallelism = { workers: 2, roundsPerEpoch: 1 };
    payload.data = Buffer.from(JSON.stringify(input)).toString('base64');
    await expect(Worker.runReplayHistory({ workflowBundle }, historyFromJSON(withParallelism), trainId)).resolves.toBeUndefined();
  });

  test('a history the code would not produce does fail replay (the check is not vacuous)', async () => {
    // The pipeline's first command is recordRunStarted; a history that says otherwise must not replay.
    const tampered = JSON.parse(JSON.stringify(pipelineJson)) as JsonHistory;
    const first = tampered.events.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!;
    expect(first.activityType.name).toBe('recordRunStarted');
    first.activityType.name = 'somethingElse';
    await expect(Worker.runReplayHistory({ workflowBundle }, historyFromJSON(tampered), pipelineId)).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});

describe('recorded histories of a real flights run training in data-parallel rounds', () => {
  test('are a complete pipeline run and its training child with the patch marker, two workers and a merge per epoch', () => {
    expect(workflowType(current.pipeline)).toBe('trainingPipeline');
    expect(current.pipeline.events[current.pipeline.events.length - 1]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(current.trainId).toBe(`${current.pipelineId}-train`);
    expect(workflowType(current.train)).toBe('trainModel');
    expect(current.train.events[current.train.events.length - 1]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    // examples/flights.json: 2 epochs, 2 workers, 1 round each.
    expect(activityCounts(current.train)).toEqual({ planTraining: 1, trainShards: 4, mergeRound: 2 });
    expect(current.train.events.filter((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED')).toHaveLength(1);
  });

  test('replay against the current workflow code without a determinism error', async () => {
    const histories = [
      { workflowId: current.pipelineId, history: historyFromJSON(current.pipeline) },
      { workflowId: current.trainId, history: historyFromJSON(current.train) },
    ];
    await expectReplays(histories);
  });
});

/** Today's: per-shard metric states merged, importance, the blessing (with the production lookup) and aliases. */
const today = recorded('flights-pipeline.json', 'flights-train.json');
/** Today's tuned example: an ASHA search and cross-validation as children of the pipeline. */
const tuned = {
  pipeline: load('flights-tuned-pipeline.json'),
  search: load('flights-tuned-search.json'),
  cv: load('flights-tuned-cv.json'),
};
const startedId = (h: JsonHistory, type: string): string =>
  h.events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType.name === type)?.startChildWorkflowExecutionInitiatedEventAttributes
    ?.workflowId ?? '';
const pipelineIdOf = (child: JsonHistory): string => child.events[0]?.workflowExecutionStartedEventAttributes?.parentWorkflowExecution?.workflowId ?? '';

describe('recorded histories of a real flights run with per-shard evaluation, importance and blessing', () => {
  test('evaluate each shard into a state, merge, measure importance, look up production, then register and deploy', () => {
    expect(workflowType(today.pipeline)).toBe('trainingPipeline');
    expect(today.pipeline.events[today.pipeline.events.length - 1]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    const partitions = 4; // examples/flights.json
    expect(activityCounts(today.pipeline)).toEqual({
      recordRunStarted: 1,
      planIngest: 1,
      ingestPartition: partitions,
      checkDataset: 1,
      fitTransform: 1,
      applyTransform: partitions,
      evaluateShard: partitions,
      mergeEvaluation: 1,
      permutationImportance: 1,
      productionBaseline: 1,
      registerModel: 1,
      deployModel: 1,
      recordRunFinished: 1,
    });
    // The evaluation patch's marker.
    expect(today.pipeline.events.filter((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED')).toHaveLength(1);
    expect(today.trainId).toBe(`${today.pipelineId}-train`);
  });

  test('replay against the current workflow code without a determinism error', async () => {
    const histories = [
      { workflowId: today.pipelineId, history: historyFromJSON(today.pipeline) },
      { workflowId: today.trainId, history: historyFromJSON(today.train) },
    ];
    await expectReplays(histories);
  });
});

describe('recorded histories of the tuned flights example: an ASHA search and 3-fold cross-validation', () => {
  test('the pipeline starts both children; the search runs its trials as trainModel children; the folds each fit, apply, train and evaluate', () => {
    expect(workflowType(tuned.search)).toBe('hyperparameterSearch');
    expect(workflowType(tuned.cv)).toBe('crossValidate');
    const pipelineId = pipelineIdOf(tuned.search);
    expect(pipelineIdOf(tuned.cv)).toBe(pipelineId);
    expect(startedId(tuned.pipeline, 'hyperparameterSearch')).toBe(`${pipelineId}-search`);
    expect(startedId(tuned.pipeline, 'crossValidate')).toBe(`${pipelineId}-cv`);
    const trials = tuned.search.events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType.name === 'trainModel');
    expect(trials).toHaveLength(4);
    expect(activityCounts(tuned.cv)).toEqual({ planFolds: 1, fitTransform: 3, applyTransform: 12, evaluateShard: 12, mergeEvaluation: 3 });
    for (const h of [tuned.pipeline, tuned.search, tuned.cv]) expect(h.events[h.events.length - 1]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  test('replay against the current workflow code without a determinism error', async () => {
    const pipelineId = pipelineIdOf(tuned.search);
    const histories = [
      { workflowId: pipelineId, history: historyFromJSON(tuned.pipeline) },
      { workflowId: `${pipelineId}-search`, history: historyFromJSON(tuned.search) },
      { workflowId: `${pipelineId}-cv`, history: historyFromJSON(tuned.cv) },
    ];
    await expectReplays(histories);
  });
});

/**
 * Federated runs recorded from `bench/federated.ts` on a real stack with three real site workers
 * (`temporal workflow show -o json` of its first two runs): FedAvg, and FedAvg with secure
 * aggregation (every round's self masks revealed). Re-record the same way after a deliberate change.
 */
describe('recorded histories of real federated runs (3 sites, 5 rounds)', () => {
  const plain = load('flights-federated.json');
  const secure = load('flights-federated-secure.json');

  test('are complete federatedTraining runs with every round at every site', () => {
    for (const h of [plain, secure]) {
      expect(workflowType(h)).toBe('federatedTraining');
      expect(h.events[h.events.length - 1]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
      expect(activityCounts(h)).toMatchObject({
        siteTransformStatistics: 3,
        fitFederatedTransform: 1,
        trainSiteRound: 15,
        aggregateRound: 5,
        evaluateAtSite: 15,
      });
    }
    expect(activityCounts(plain).revealSelfMask).toBeUndefined();
    expect(activityCounts(secure)).toMatchObject({ siteKeys: 3, revealSelfMask: 15 });
  });

  test('replay against the current workflow code without a determinism error', async () => {
    await expectReplays([
      { workflowId: 'flights-federated', history: historyFromJSON(plain) },
      { workflowId: 'flights-federated-secure', history: historyFromJSON(secure) },
    ]);
  });
});
