/**
 * hyperparameterSearch on a local dev server with fake activities: trials are trainModel children
 * whose fake validation metric depends on the trial's learning rate and the epoch. ASHA stops weak
 * trials early, the best trial has the best parameters, no more than `parallelism` trials train at
 * once, trials carry their ids, summaries and memos, failures are recorded, and a search goes on
 * after its worker is lost.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import {
  PIPELINE_INPUT_ERROR,
  searchProgressQuery,
  type EncodedShardRef,
  type MergeRoundInput,
  type SearchInput,
  type SearchResult,
  type TrainShardsInput,
} from '../../contracts';
import { tuningSpecSchema } from '../../lib/spec/tuning-spec';
import type { hyperparameterSearch } from '../../workflows';
import {
  artifact,
  eventually,
  fakeActivities,
  flightsSpec,
  sameQueueForEveryPool,
  useWorkflowEnvironment,
  uniqueName,
  type Call,
  type FakeOptions,
} from './helpers';

const suite = useWorkflowEnvironment();

/** How good a learning rate is in the fakes: 1 at 0.01, falling by 1/3 per decade away from it. */
const quality = (learningRate: number): number => 1 - Math.abs(Math.log10(learningRate) + 2) / 3;
/** The fake validation AUC of a trial after `epoch` (0-based): better with quality, rising with epochs. */
const fakeAuc = (learningRate: number, epoch: number): number => 0.5 + 0.4 * quality(learningRate) * (1 - Math.exp(-(epoch + 1)));
/** The fake validation loss: falling with quality and epochs. */
const fakeLossOf = (learningRate: number, epoch: number): number => 1 - 0.5 * quality(learningRate) * (1 - Math.exp(-(epoch + 1)));

const shards: EncodedShardRef[] = [0, 1].map((p) => ({ ...artifact(`encoded-${p}.arrow`), partition: p, trainRows: 200, testRows: 50, validationRows: 20 }));
/** One worker, one round per epoch: one trainShards and one mergeRound (with validation) per epoch. */
const baseModel = flightsSpec({ epochs: 9, learningRate: 0.05, parallelism: { workers: 1, roundsPerEpoch: 1, share: 'rows' } }).model;

/** Concurrency of the fake trainShards, by the trial (workflow id) each call belongs to. */
interface Load {
  running: Map<string, number>;
  maxTrials: number;
}

/**
 * The fakes of a search: mergeRound's validation metric and loss follow the trial's learning rate
 * and epoch; trainShards takes `trainMs` and counts the trials training at once; `fail` decides,
 * per learning rate, that a trial's training fails (not retried).
 */
function searchFakes(load: Load, trainMs = 20, fail: (learningRate: number) => boolean = () => false, awaitTrials = 0): FakeOptions {
  return {
    around: {
      trainShards: async (call, next) => {
        const { model } = call.input as TrainShardsInput;
        if (fail(model.learningRate)) throw ApplicationFailure.nonRetryable(`learning rate ${model.learningRate} diverged`, PIPELINE_INPUT_ERROR);
        const trial = Context.current().info.workflowExecution?.workflowId ?? 'none';
        load.running.set(trial, (load.running.get(trial) ?? 0) + 1);
        load.maxTrials = Math.max(load.maxTrials, load.running.size);
        try {
          // Until `awaitTrials` trials have trained at once, a call waits for the others (at most 5 s):
          // on a busy machine 20 ms of training could end before the next trial's first call begins.
          for (const deadline = Date.now() + 5_000; load.maxTrials < awaitTrials && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
          await new Promise((r) => setTimeout(r, trainMs));
          return await next();
        } finally {
          const left = load.running.get(trial)! - 1;
          if (left === 0) load.running.delete(trial);
          else load.running.set(trial, left);
        }
      },
      mergeRound: async (call, next) => {
        const { model, epoch } = call.input as MergeRoundInput;
        const merged = await next();
        return {
          ...merged,
          validationLoss: fakeLossOf(model.learningRate, epoch),
          validationMetric: { name: 'auc', value: fakeAuc(model.learningRate, epoch) },
        };
      },
    },
  };
}

const newLoad = (): Load => ({ running: new Map(), maxTrials: 0 });

function searchInput(taskQueue: string, tuning: unknown, model = baseModel): SearchInput {
  return {
    model,
    tuning: tuningSpecSchema.parse(tuning),
    transform: { ...artifact('transform.json'), inputDim: 12, trainRows: 400 },
    shards,
    queues: sameQueueForEveryPool(taskQueue),
  };
}

/** Runs a search to its end with one Worker and the fakes; returns its result (or failure), every activity call and the load. */
async function search(
  tuning: unknown,
  fakes: (load: Load) => FakeOptions = (load) => searchFakes(load),
): Promise<{ result: SearchResult; calls: Call[]; load: Load; searchId: string }> {
  const load = newLoad();
  const taskQueue = uniqueName('search');
  const { activities, calls } = fakeActivities(fakes(load));
  const worker = await Worker.create({
    connection: suite.env.nativeConnection,
    namespace: suite.env.namespace ?? 'default',
    taskQueue,
    workflowBundle: suite.bundle,
    activities,
  });
  const result = await worker.runUntil(
    suite.env.client.workflow.execute<typeof hyperparameterSearch>('hyperparameterSearch', {
      taskQueue,
      workflowId: taskQueue,
      args: [searchInput(taskQueue, tuning)],
    }),
  );
  return { result, calls, load, searchId: taskQueue };
}

const trainCallsOf = (calls: Call[]): TrainShardsInput[] => calls.filter((c) => c.name === 'trainShards').map((c) => c.input as TrainShardsInput);
/** The trial whose learning rate is best in the fakes. */
const bestByParams = (result: SearchResult): string =>
  [...result.trials].sort((a, b) => quality(b.params.learningRate as number) - quality(a.params.learningRate as number))[0]!.trial;

describe('hyperparameterSearch (fake activities, local dev server)', () => {
  // 9 trials of learning rates between 1e-4 and 1 (seeded): the same trials under both strategies.
  const space = { learningRate: { logUniform: [1e-4, 1] } };

  test('ASHA stops weak trials at its rungs and trains fewer epochs than a random search of the same trials run to the end; both pick the best', async () => {
    // Epochs of 50 ms, so a stop lands while the epoch after the rung is still training.
    const fakes = (load: Load): FakeOptions => searchFakes(load, 50);
    const asha = await search({ strategy: 'asha', trials: 9, parallelism: 3, seed: 5, space, asha: { gracePeriod: 1, reductionFactor: 3 } }, fakes);
    // Random waits (at most 5 s) until 3 trials train at once, so that the limit is reached whatever the machine's load.
    const random = await search({ strategy: 'random', trials: 9, parallelism: 3, seed: 5, space }, (load) => searchFakes(load, 50, () => false, 3));

    // The same seed samples the same trials.
    expect(asha.result.trials.map((t) => t.params)).toEqual(random.result.trials.map((t) => t.params));
    // Random: every trial trains all 9 epochs.
    expect(random.result.trials.map((t) => [t.status, t.epochs])).toEqual(random.result.trials.map(() => ['completed', 9]));
    expect(trainCallsOf(random.calls)).toHaveLength(81);

    // ASHA (rungs at 1 and 3 epochs below the maximum of 9): a trial stops at a rung or trains to the end.
    const { trials } = asha.result;
    const stopped = trials.filter((t) => t.status === 'stopped');
    // Which trials stop depends on the order their reports arrive in (the first at a rung always goes
    // on), but the two worst meet better trials at the first rung whatever the timing: they stop there.
    const byQuality = [...trials].sort((a, b) => quality(a.params.learningRate as number) - quality(b.params.learningRate as number));
    expect(byQuality.slice(0, 2).map((t) => [t.status, t.epochs])).toEqual([
      ['stopped', 1],
      ['stopped', 1],
    ]);
    for (const t of trials) {
      expect(t.status === 'stopped' ? [1, 3] : [9]).toContain(t.epochs);
      expect(t.metricByEpoch).toHaveLength(t.epochs);
      expect(t.metric).toBe(t.metricByEpoch[t.epochs - 1]);
    }
    // A stopped trial's training ends soon after its rung: at most the epoch already under way.
    for (const t of stopped)
      expect(trainCallsOf(asha.calls).filter((c) => c.model.learningRate === t.params.learningRate).length).toBeLessThanOrEqual(t.epochs + 1);
    // Each stopped trial saved epochs: fewer trainShards calls than the random search's 81.
    expect(trainCallsOf(asha.calls).length).toBeLessThanOrEqual(81 - stopped.length * (9 - 3 - 1));

    // Both pick the trial with the best learning rate, with its final model and metric.
    for (const { result } of [asha, random]) {
      expect(result.best.trial).toBe(bestByParams(result));
      const best = result.trials.find((t) => t.trial === result.best.trial)!;
      expect(best.status).toBe('completed');
      expect(result.best.metric).toBeCloseTo(fakeAuc(best.params.learningRate as number, 8), 12);
      expect(result.best.params).toEqual(best.params);
      expect(result.best.result.model.epochs).toBe(9);
      expect(result.metric).toEqual({ name: 'auc', higherIsBetter: true });
    }
    expect(asha.result.best.params).toEqual(random.result.best.params);
    // Never more trials training at once than the parallelism (counted where no trial is cancelled mid-epoch).
    expect(random.load.maxTrials).toBe(3);
  });

  test('grid: every combination as a trial child with its id, summary and memo; at most `parallelism` at once; the trial model has the parameters', async () => {
    const { result, calls, load, searchId } = await search(
      {
        strategy: 'grid',
        parallelism: 2,
        space: { learningRate: { choice: [0.1, 0.01] }, hidden: { choice: [[8], [16, 8]] } },
      },
      (load) => searchFakes(load, 20, () => false, 2),
    );
    const params = [
      { learningRate: 0.1, hidden: [8] },
      { learningRate: 0.1, hidden: [16, 8] },
      { learningRate: 0.01, hidden: [8] },
      { learningRate: 0.01, hidden: [16, 8] },
    ];
    expect(result.trials.map((t) => [t.trial, t.workflowId, t.params, t.status, t.epochs])).toEqual(
      params.map((p, n) => [`0${n}`, `${searchId}-trial-0${n}`, p, 'completed', 9]),
    );
    // Learning rate 0.01 is best; the two trials with it tie, and the first wins.
    expect(result.best.trial).toBe('02');
    expect(load.maxTrials).toBe(2);

    for (const t of result.trials) {
      const description = await suite.env.client.workflow.getHandle(t.workflowId).describe();
      expect(description.type).toBe('trainModel');
      expect(description.parentExecution?.workflowId).toBe(searchId);
      expect(description.memo).toEqual({ trial: t.trial, params: t.params });
      expect(await description.staticSummary()).toBe(
        `Trial ${t.trial} of 4: learningRate=${t.params.learningRate}, hidden=[${(t.params.hidden as number[]).join(', ')}]`,
      );
    }
    // Each trial trains the base model with its parameters merged in.
    for (const [n, p] of params.entries()) {
      const trained = trainCallsOf(calls).filter((c) => c.model.learningRate === p.learningRate && JSON.stringify(c.model.hidden) === JSON.stringify(p.hidden));
      expect(trained).toHaveLength(9);
      expect(trained[0]!.model).toEqual({ ...baseModel, ...p });
      expect(result.trials[n]!.metricByEpoch).toEqual(Array.from({ length: 9 }, (_, e) => fakeAuc(p.learningRate, e)));
    }
  });

  test('the searchProgress query shows the trials started so far, with their metrics', async () => {
    const load = newLoad();
    const taskQueue = uniqueName('search-progress');
    const { activities } = fakeActivities(searchFakes(load, 60));
    const worker = await Worker.create({
      connection: suite.env.nativeConnection,
      namespace: suite.env.namespace ?? 'default',
      taskQueue,
      workflowBundle: suite.bundle,
      activities,
    });
    await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start<typeof hyperparameterSearch>('hyperparameterSearch', {
        taskQueue,
        workflowId: taskQueue,
        args: [searchInput(taskQueue, { strategy: 'random', trials: 4, parallelism: 2, space })],
      });
      const midway = await eventually(
        'two trials running with a metric',
        () => handle.query(searchProgressQuery),
        (ts) => ts.length === 2 && ts.every((t) => t.status === 'running' && t.metric !== null),
      );
      expect(midway.map((t) => t.trial)).toEqual(['00', '01']);
      const result = await handle.result();
      expect(await handle.query(searchProgressQuery)).toEqual(result.trials);
    });
  });

  test('loss as the metric (lower is better); a failed trial is recorded and the search goes on; if every trial fails, the search fails with the first error', async () => {
    const grid = { strategy: 'grid', metric: 'loss', parallelism: 2, space: { learningRate: { choice: [0.1, 0.01, 1] } } };
    const { result } = await search(grid, (load) => searchFakes(load, 5, (lr) => lr === 0.1));
    expect(result.metric).toEqual({ name: 'loss', higherIsBetter: false });
    expect(result.trials.map((t) => [t.trial, t.status])).toEqual([
      ['00', 'failed'],
      ['01', 'completed'],
      ['02', 'completed'],
    ]);
    expect(result.trials[0]!.error).toBe('learning rate 0.1 diverged');
    expect(result.trials[0]!.metric).toBeNull();
    expect(result.best).toMatchObject({ trial: '01', params: { learningRate: 0.01 } });
    expect(result.best.metric).toBeCloseTo(fakeLossOf(0.01, 8), 12);

    const failure = await search(grid, (load) => searchFakes(load, 5, () => true)).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.message).toBe('every trial failed; the first (trial 00): learning rate 0.1 diverged');
    expect(cause.type).toBe(PIPELINE_INPUT_ERROR);
  });

  test('a cancelled search cancels its running trials, waits for them, and starts no more', async () => {
    const load = newLoad();
    const taskQueue = uniqueName('search-cancel');
    const { activities } = fakeActivities(searchFakes(load, 60));
    const worker = await Worker.create({
      connection: suite.env.nativeConnection,
      namespace: suite.env.namespace ?? 'default',
      taskQueue,
      workflowBundle: suite.bundle,
      activities,
    });
    await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start<typeof hyperparameterSearch>('hyperparameterSearch', {
        taskQueue,
        workflowId: taskQueue,
        args: [searchInput(taskQueue, { strategy: 'random', trials: 4, parallelism: 2, space })],
      });
      await eventually(
        'two trials running',
        () => handle.query(searchProgressQuery),
        (ts) => ts.length === 2 && ts.every((t) => t.metric !== null),
      );
      await handle.cancel();
      const failure = await handle.result().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      for (const trial of ['00', '01']) {
        const { status } = await suite.env.client.workflow.getHandle(`${taskQueue}-trial-${trial}`).describe();
        expect(status.name).toBe('CANCELLED');
      }
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toHaveLength(2);
    });
  });

  test('a search survives the loss of its worker: another worker replays its history and finishes it, each trial started once', async () => {
    const taskQueue = uniqueName('search-lost');
    const input = searchInput(taskQueue, { strategy: 'asha', trials: 6, parallelism: 2, seed: 11, space });
    const load = newLoad();
    const first = fakeActivities(searchFakes(load, 30));
    const workerOptions = { connection: suite.env.nativeConnection, namespace: suite.env.namespace ?? 'default', taskQueue, workflowBundle: suite.bundle };
    const handle = await suite.env.client.workflow.start<typeof hyperparameterSearch>('hyperparameterSearch', {
      taskQueue,
      workflowId: taskQueue,
      args: [input],
    });

    // The first worker runs until two trials have reported, then goes away (its cached state with it).
    const lost = await Worker.create({ ...workerOptions, activities: first.activities });
    await lost.runUntil(
      eventually(
        'two trials with a metric',
        () => handle.query(searchProgressQuery),
        (ts) => ts.filter((t) => t.metric !== null).length >= 2,
      ),
    );
    // A fresh worker that keeps no workflow in its cache replays the whole history at every task.
    const second = fakeActivities(searchFakes(load, 30));
    const result = await (await Worker.create({ ...workerOptions, activities: second.activities, maxCachedWorkflows: 0 })).runUntil(handle.result());

    expect(result.trials).toHaveLength(6);
    expect(result.trials.every((t) => t.status === 'completed' || t.status === 'stopped')).toBe(true);
    expect(result.best.trial).toBe(bestByParams(result));
    expect(second.calls.length).toBeGreaterThan(0);
    // Each trial's child was started once, by id, though the second worker rebuilt the search from its history.
    const history = await handle.fetchHistory();
    const startedChildren = (history.events ?? []).flatMap((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? []);
    expect(startedChildren).toEqual(result.trials.map((t) => t.workflowId));
    // And the whole history replays on today's code.
    await expect(Worker.runReplayHistory({ workflowBundle: suite.bundle }, history, taskQueue)).resolves.toBeUndefined();
  });
});
