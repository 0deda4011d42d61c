/**
 * crossValidate on a local dev server with fake activities: the plan once, the k folds in parallel
 * (their fits overlap in time), each fold's fit given its fold, its training child named after it,
 * its activities' summaries naming it, the mean and deviation over the folds' metrics, and a failed
 * fold failing the whole, named.
 */
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import {
  PIPELINE_INPUT_ERROR,
  type CrossValidateInput,
  type CrossValidationResult,
  type DatasetRef,
  type EncodedShardRef,
  type EvaluationMetrics,
  type FitTransformInput,
  type FoldPlan,
  type PlanFoldsInput,
  type ShardRef,
  type TrainShardsInput,
} from '../../contracts';
import { meanAndStd } from '../../workflows/evaluate/cv-summary';
import type { crossValidate } from '../../workflows';
import { artifact, fakeActivities, flightsSpec, gate, sameQueueForEveryPool, useWorkflowEnvironment, uniqueName } from './helpers';

const suite = useWorkflowEnvironment();

const SHARDS = 3;
/** Test rows of fold i in shard p, in the fakes: distinct per fold and shard. */
const foldTestRows = (fold: number, partition: number): number => 20 + 5 * fold + partition;
/** The fakes' metrics of fold i: distinct per fold, so the summary shows which values it averaged. */
const foldMetrics = (fold: number): EvaluationMetrics => ({
  task: 'binary',
  auc: 0.7 + 0.03 * fold,
  logLoss: 0.5 - 0.02 * fold * fold,
  accuracy: 0.8,
  positiveRate: 0.2 + 0.01 * fold,
  rows: Array.from({ length: SHARDS }, (_, p) => foldTestRows(fold, p)).reduce((a, b) => a + b, 0),
});
/** The fold a fake ref belongs to, from the name the fake fit gave its transform. */
const foldOf = (uri: string): number => Number(/fold-(\d+)/.exec(uri)![1]);

function dataset(): DatasetRef {
  const shards: ShardRef[] = Array.from({ length: SHARDS }, (_, p) => ({
    ...artifact(`shard-${p}.arrow`),
    partition: p,
    rows: 400,
    quarantinedRows: 0,
    statistics: artifact(`statistics-${p}.json`),
  }));
  return {
    source: 't',
    shards,
    rows: 400 * SHARDS,
    quarantinedRows: 0,
    sha256: 'sha-dataset',
    statistics: artifact('statistics.json'),
    validation: { report: artifact('validation.json'), errors: 0, warnings: 0 },
  };
}

interface Fakes {
  /** Fails this fold's fit (0-based). */
  failFit?: number;
  /** Fails this fold's training (its trainShards). */
  failTrain?: number;
  /** How long a fit waits for every fold's fit to start (10 s): folds run one at a time wait it out each. */
  holdMs?: number;
}

interface Timed {
  fold: number;
  start: number;
  end: number;
}

/** Runs crossValidate with the fakes; returns its outcome, every fit's input and timing, and the plan's inputs. */
async function runCv(k: number, fakes: Fakes = {}, override: Partial<CrossValidateInput> = {}) {
  const taskQueue = uniqueName('cv');
  const fits: Array<FitTransformInput & Timed> = [];
  const plans: PlanFoldsInput[] = [];
  const allFitsStarted = gate();
  const train = fakeActivities().activities;
  const activities = {
    planTraining: train.planTraining,
    trainShards: async (input: TrainShardsInput) => {
      if (foldOf(input.transform.uri) === fakes.failTrain) throw ApplicationFailure.nonRetryable('the gpu caught fire', 'Boom');
      return train.trainShards(input);
    },
    mergeRound: train.mergeRound,
    async planFolds(input: PlanFoldsInput): Promise<FoldPlan> {
      plans.push(input);
      return {
        k: input.folds,
        stratified: input.stratify,
        bounds: [Array.from({ length: input.folds - 1 }, (_, j) => (j + 1) * 1000)],
        testRows: Array.from({ length: input.folds }, (_, i) => foldTestRows(i, 0) + foldTestRows(i, 1) + foldTestRows(i, 2)),
      };
    },
    async fitTransform(input: FitTransformInput) {
      const fold = input.fold!.index;
      const record = { ...input, fold: input.fold!, start: Date.now(), end: 0 };
      fits.push(record as FitTransformInput & Timed);
      if (fits.length === k) allFitsStarted.open();
      // Held until every fold's fit has started (or 10 s): run one after the other, they never would.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([allFitsStarted.promise, new Promise((r) => (timer = setTimeout(r, fakes.holdMs ?? 10_000)))]);
      clearTimeout(timer);
      record.end = Date.now();
      if (fold === fakes.failFit) throw ApplicationFailure.nonRetryable("the fold's train split is empty", PIPELINE_INPUT_ERROR);
      return { ...artifact(`transform-fold-${fold}.json`), inputDim: 12, trainRows: 900 };
    },
    async applyTransform({ transform, shard }: { transform: { uri: string }; shard: ShardRef }): Promise<EncodedShardRef> {
      const fold = foldOf(transform.uri);
      return {
        ...artifact(`encoded-fold-${fold}-${shard.partition}.arrow`),
        partition: shard.partition,
        trainRows: 300,
        testRows: foldTestRows(fold, shard.partition),
      };
    },
    async evaluateShard({ transform, shard }: { transform: { uri: string }; shard: EncodedShardRef }) {
      return { ...artifact(`state-fold-${foldOf(transform.uri)}-${shard.partition}`), partition: shard.partition, rows: shard.testRows, backend: 'fake' };
    },
    async mergeEvaluation({ transform, states }: { transform: { uri: string }; states: Array<{ rows: number }> }) {
      const fold = foldOf(transform.uri);
      expect(states.reduce((n, s) => n + s.rows, 0)).toBe(foldMetrics(fold).rows);
      return { metrics: foldMetrics(fold), report: artifact(`report-fold-${fold}.json`) };
    },
  };
  const worker = await Worker.create({
    connection: suite.env.nativeConnection,
    namespace: suite.env.namespace ?? 'default',
    taskQueue,
    workflowBundle: suite.bundle,
    activities,
  });
  const input: CrossValidateInput = {
    spec: flightsSpec({ epochs: 1 }),
    dataset: dataset(),
    folds: k,
    stratify: true,
    queues: sameQueueForEveryPool(taskQueue),
    ...override,
  };
  return worker.runUntil(async () => {
    const handle = await suite.env.client.workflow.start<typeof crossValidate>('crossValidate', { taskQueue, workflowId: taskQueue, args: [input] });
    let result: CrossValidationResult | undefined;
    let error: unknown;
    try {
      result = await handle.result();
    } catch (err) {
      error = err;
    }
    const history = await handle.fetchHistory();
    const summaries = (history.events ?? []).flatMap((e) => {
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
      const summary = e.userMetadata?.summary;
      return name && summary ? [{ name, summary: defaultPayloadConverter.fromPayload<string>(summary) }] : [];
    });
    const children = (history.events ?? []).flatMap((e) => {
      const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      return id ? [id] : [];
    });
    return { result, error, fits, plans, summaries, children, workflowId: taskQueue };
  });
}

describe('crossValidate (fake activities, local dev server)', () => {
  test('plans once, runs the k folds in parallel, each with its fold, and averages their metrics', async () => {
    const k = 4;
    const { result, error, fits, plans, summaries, children, workflowId } = await runCv(k);
    expect(error).toBeUndefined();

    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({ folds: k, stratify: true });
    // Every fold's fit got its fold, with the plan's cut points.
    expect(fits.map((f) => f.fold!.index).sort()).toEqual([0, 1, 2, 3]);
    for (const f of fits) expect(f.fold).toEqual({ k, index: f.fold!.index, bounds: [[1000, 2000, 3000]] });
    // In parallel: every fit started before any ended.
    expect(Math.max(...fits.map((f) => f.start))).toBeLessThanOrEqual(Math.min(...fits.map((f) => f.end)));

    // Each fold's training is a child named after the fold.
    expect(children.sort()).toEqual([1, 2, 3, 4].map((i) => `${workflowId}-fold-${i}-train`));
    for (const id of children) expect((await suite.env.client.workflow.getHandle(id).describe()).status.name).toBe('COMPLETED');

    // Each activity's summary names its fold (the plan's, the folds').
    expect(summaries.filter((s) => s.name === 'planFolds')).toEqual([
      { name: 'planFolds', summary: `plan ${k} stratified folds of the train split of 1200 rows` },
    ]);
    const perFold = summaries.filter((s) => s.name !== 'planFolds');
    expect(perFold.map((s) => s.name).sort()).toEqual(
      [
        ...Array(k).fill('fitTransform'),
        ...Array(k * SHARDS).fill('applyTransform'),
        ...Array(k * SHARDS).fill('evaluateShard'),
        ...Array(k).fill('mergeEvaluation'),
      ].sort(),
    );
    for (const s of perFold) expect(s.summary).toMatch(/^fold [1-4]\/4: /);
    for (let i = 1; i <= k; i++) expect(perFold.filter((s) => s.summary.startsWith(`fold ${i}/4: `))).toHaveLength(2 + 2 * SHARDS);

    const expected = Array.from({ length: k }, (_, i) => foldMetrics(i));
    expect(result!.folds).toBe(k);
    expect(result!.stratified).toBe(true);
    expect(result!.perFold).toEqual(expected);
    expect(Object.keys(result!.metrics).sort()).toEqual(['accuracy', 'auc', 'logLoss', 'positiveRate', 'rows']);
    for (const name of ['auc', 'logLoss', 'positiveRate', 'rows'] as const) {
      const values = expected.map((m) => (m as unknown as Record<string, number>)[name]!);
      const { mean, std } = meanAndStd(values);
      expect(result!.metrics[name]!.values).toEqual(values);
      expect(result!.metrics[name]!.mean).toBeCloseTo(mean, 12);
      expect(result!.metrics[name]!.std).toBeCloseTo(std, 12);
    }
    expect(result!.metrics.auc!.mean).toBeCloseTo(0.745, 12);
    expect(result!.metrics.auc!.std).toBeCloseTo(0.03 * Math.sqrt(5 / 3), 12);
    expect(result!.metrics.accuracy).toEqual({ mean: 0.8, std: 0, values: [0.8, 0.8, 0.8, 0.8] });
  });

  test('maxParallelFolds 1 runs the folds one after another, in fold order, to the same result', async () => {
    const k = 3;
    // Each fit is held 300 ms: folds that overlapped would show it in the fits' spans.
    const { result, error, fits } = await runCv(k, { holdMs: 300 }, { maxParallelFolds: 1 });
    expect(error).toBeUndefined();
    expect(fits.map((f) => f.fold!.index)).toEqual([0, 1, 2]);
    for (let i = 1; i < k; i++) expect(fits[i]!.start).toBeGreaterThanOrEqual(fits[i - 1]!.end);
    expect(result!.perFold).toEqual(Array.from({ length: k }, (_, i) => foldMetrics(i)));

    const zero = await runCv(2, {}, { maxParallelFolds: 0 });
    const cause = (zero.error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(PIPELINE_INPUT_ERROR);
    expect(cause.message).toBe('maxParallelFolds is 0: give a whole number of folds, 1 or more');
    expect(zero.plans).toHaveLength(0);
  });

  test("a fold whose fit fails fails the cross-validation, naming the fold, as the user's mistake it is", async () => {
    const { error } = await runCv(3, { failFit: 1 });
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.message).toBe("cross-validation fold 2/3 failed: the fold's train split is empty");
    expect(cause.type).toBe(PIPELINE_INPUT_ERROR);
  });

  test('a fold whose training child fails fails the cross-validation, naming the fold', async () => {
    const { error, children, workflowId } = await runCv(3, { failTrain: 2 });
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.message).toBe('cross-validation fold 3/3 failed: the gpu caught fire');
    expect(cause.type).toBe('CrossValidationFoldFailed');
    expect(children).toContain(`${workflowId}-fold-3-train`);
  });

  test('refuses, before any activity, a fold count out of range and a time split', async () => {
    const few = await runCv(1);
    expect(((few.error as WorkflowFailedError).cause as ApplicationFailure).message).toContain('cross-validation takes 2 to 20 folds');
    expect(few.plans).toHaveLength(0);
    const spec = flightsSpec({ epochs: 1 });
    const timed = await runCv(3, {}, { spec: { ...spec, split: { ...spec.split, timeColumn: 'date' } } });
    const cause = (timed.error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(PIPELINE_INPUT_ERROR);
    expect(cause.message).toBe(
      'cross-validation folds rows by hash; a time split needs forward-chaining validation, which pipewright does not do yet: drop evaluation.crossValidation or split.timeColumn',
    );
    expect(timed.summaries).toHaveLength(0);
  });
});
