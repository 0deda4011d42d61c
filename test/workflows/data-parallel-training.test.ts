/**
 * trainModel's data-parallel rounds on a local dev server with fake activities: the plan, each
 * round's workers and batch ranges, the merge (and when it is skipped), validation at an epoch's
 * end, early stopping, and what the pipeline's progress shows while the rounds run.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { asTemporalFailure } from '../../activities/support/run-task';
import {
  progressQuery,
  type EncodedShardRef,
  type MergeRoundInput,
  type PlanTrainingInput,
  type TrainModelInput,
  type TrainModelResult,
  type TrainShardsInput,
} from '../../contracts';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import type { trainModel } from '../../workflows';
import { DATA_PARALLEL_PATCH } from '../../workflows/train/train-model';
import { roundRange } from '../../workflows/train/training-schedule';
import {
  artifact,
  eventually,
  FAKE_BACKEND,
  FAKE_BATCH_ROWS,
  fakeBatchesOf,
  fakeLoss,
  fakeMergedCheckpoint,
  fakeRoundSeconds,
  fakeShardCheckpoint,
  fakeValidationLoss,
  fakeValidationMetric,
  flightsSpec,
  gate,
  sameQueueForEveryPool,
  useWorkflowEnvironment,
  withPipeline,
  withWorker,
  type Call,
  type FakeOptions,
} from './helpers';

const suite = useWorkflowEnvironment();

type ModelSpec = PipelineSpec['model'];

/** Encoded shards 0..count-1 as applyTransform returns them (200 train rows each), with validation rows when asked. */
function encodedShards(count: number, validationRows = 0): EncodedShardRef[] {
  return Array.from({ length: count }, (_, p) => ({
    ...artifact(`encoded-${p}.arrow`),
    partition: p,
    trainRows: 200,
    testRows: 50,
    ...(validationRows > 0 ? { validationRows } : {}),
  }));
}

/** The flights model with overrides, parsed as the client does (defaults filled in). */
function modelSpec(model: Partial<ModelSpec>): ModelSpec {
  return flightsSpec(model).model;
}

/** Runs trainModel on its own (no parent) over `shards` with the fakes; returns its result and every activity call. */
async function train(
  model: ModelSpec,
  fakes: FakeOptions = {},
  shards = encodedShards(4, fakes.validationRows),
): Promise<{ result: TrainModelResult; calls: Call[] }> {
  return withWorker(suite.env, suite.bundle, fakes, async ({ taskQueue, calls }) => {
    const input: TrainModelInput = {
      model,
      transform: { ...artifact('transform.json'), inputDim: 12, trainRows: 800 },
      shards,
      queues: sameQueueForEveryPool(taskQueue),
    };
    const result = await suite.env.client.workflow.execute<typeof trainModel>('trainModel', { taskQueue, workflowId: taskQueue, args: [input] });
    return { result, calls };
  });
}

const inputsOf = <T>(calls: Call[], name: Call['name']): T[] => calls.filter((c) => c.name === name).map((c) => c.input as T);
const partitionsOf = (i: TrainShardsInput): number[] => i.shards.map((s) => s.partition);
/** The merged checkpoint of round `round` of `epoch` with `workers` workers (in worker order). */
const merged = (epoch: number, round: number, workers: number): ReturnType<typeof fakeMergedCheckpoint> =>
  fakeMergedCheckpoint(
    epoch,
    Array.from({ length: workers }, (_, w) => fakeShardCheckpoint(epoch, round, w)),
  );

describe('trainModel in data-parallel rounds (fake activities, local dev server)', () => {
  test('2 workers, 2 rounds per epoch: one plan, per round both workers on their batch range from the same checkpoint, then a merge of both in worker order', async () => {
    const model = modelSpec({ epochs: 2, parallelism: { workers: 2, roundsPerEpoch: 2, share: 'shards' } });
    // Worker 0 is the slower one: the merge still lists the parts in worker order, not finishing order.
    const fakes: FakeOptions = {
      around: {
        trainShards: async (call, next) => ((call.input as TrainShardsInput).worker === 0 ? new Promise((r) => setTimeout(r, 150)).then(next) : next()),
      },
    };
    const { result, calls } = await train(model, fakes);

    // The order of the calls: plan, then per round both workers before that round's merge.
    expect(calls.map((c) => c.name)).toEqual(['planTraining', ...Array.from({ length: 4 }, () => ['trainShards', 'trainShards', 'mergeRound']).flat()]);
    expect(inputsOf<PlanTrainingInput>(calls, 'planTraining')).toEqual([
      { model, transform: expect.objectContaining({ uri: 'file:///fake/transform.json' }), shards: encodedShards(4) },
    ]);

    // The plan (the real grouping): [0, 2] and [1, 3], with 8 and 10 batches in the fakes.
    const groups = [
      [0, 2],
      [1, 3],
    ];
    const shares = inputsOf<TrainShardsInput>(calls, 'trainShards');
    for (let epoch = 0; epoch < 2; epoch++) {
      for (let round = 0; round < 2; round++) {
        const those = shares.filter((s) => s.epoch === epoch && s.round === round).sort((a, b) => a.worker - b.worker);
        expect(those.map((s) => s.worker)).toEqual([0, 1]);
        const from = round > 0 ? merged(epoch, round - 1, 2) : epoch > 0 ? merged(epoch - 1, 1, 2) : undefined;
        for (const s of those) {
          const group = groups[s.worker]!;
          expect(partitionsOf(s)).toEqual(group);
          expect(s.model).toEqual(model);
          expect(s.batchesPerEpoch).toBe(fakeBatchesOf(group));
          expect({ fromBatch: s.fromBatch, toBatch: s.toBatch }).toEqual(roundRange(fakeBatchesOf(group), round, 2));
          // Every worker of a round starts from the same checkpoint: the previous round's merge.
          expect(s.from).toEqual(from);
        }
      }
    }
    // The rounds of an epoch cover every batch of each group once: [0, 4) [4, 8) and [0, 5) [5, 10).
    expect(shares.filter((s) => s.epoch === 0).map((s) => [s.worker, s.fromBatch, s.toBatch])).toEqual(
      expect.arrayContaining([
        [0, 0, 4],
        [0, 4, 8],
        [1, 0, 5],
        [1, 5, 10],
      ]),
    );

    const merges = inputsOf<MergeRoundInput>(calls, 'mergeRound');
    expect(merges.map((m) => [m.epoch, m.parts])).toEqual(
      [0, 1].flatMap((epoch) =>
        [0, 1].map((round) => [
          epoch,
          [0, 1].map((worker) => {
            const range = roundRange(fakeBatchesOf(groups[worker]!), round, 2);
            return { checkpoint: fakeShardCheckpoint(epoch, round, worker), samples: (range.toBatch - range.fromBatch) * FAKE_BATCH_ROWS };
          }),
        ]),
      ),
    );
    // No validation rows: no merge asks for a validation loss.
    for (const m of merges) expect(m.validateOn).toBeUndefined();

    expect(result).toEqual<TrainModelResult>({
      model: {
        ...merged(1, 1, 2),
        backend: FAKE_BACKEND,
        epochs: 2,
        trainSamples: 2 * fakeBatchesOf([0, 1, 2, 3]) * FAKE_BATCH_ROWS,
        // Per round, the slowest worker's seconds.
        trainSeconds: 2 * 2 * fakeRoundSeconds(1),
        finalLoss: fakeLoss(1),
      },
      losses: [fakeLoss(0), fakeLoss(1)],
    });
  });

  test('the epoch loss is the example-weighted mean over workers and rounds', async () => {
    const model = modelSpec({ epochs: 1, parallelism: { workers: 2, roundsPerEpoch: 2, share: 'shards' } });
    // Worker 1's examples have loss 1, worker 0's loss 0: the mean is worker 1's share of the examples.
    const { result } = await train(model, {
      around: {
        trainShards: async (call, next) => {
          const out = await next();
          return { ...out, lossSum: (call.input as TrainShardsInput).worker === 1 ? out.samples : 0 };
        },
      },
    });
    expect(result.losses).toEqual([fakeBatchesOf([1, 3]) / fakeBatchesOf([0, 1, 2, 3])]);
  });

  test("with validation rows, only an epoch's last round asks for the validation loss, over every shard", async () => {
    const model = modelSpec({ epochs: 2, parallelism: { workers: 2, roundsPerEpoch: 3, share: 'shards' } });
    const { result, calls } = await train(model, { validationRows: 20 });
    expect(inputsOf<PlanTrainingInput>(calls, 'planTraining')[0]!.shards.every((s) => s.validationRows === 20)).toBe(true);
    const merges = inputsOf<MergeRoundInput>(calls, 'mergeRound');
    expect(merges).toHaveLength(6);
    expect(merges.map((m) => m.validateOn?.map((s) => s.partition) ?? null)).toEqual([null, null, [0, 1, 2, 3], null, null, [0, 1, 2, 3]]);
    expect(result.validationLosses).toEqual([fakeValidationLoss(0), fakeValidationLoss(1)]);
    // Improving every epoch, no earlyStopping in the spec: every epoch trains, the last merge is the model.
    expect(result.stoppedAfterEpochs).toBeUndefined();
    expect(result.model).toMatchObject({ uri: merged(1, 2, 2).uri, epochs: 2 });
  });

  test("1 worker without validation rows: no merge at all, and each round starts from the worker's own checkpoint", async () => {
    const model = modelSpec({ epochs: 2, parallelism: { workers: 1, roundsPerEpoch: 2, share: 'shards' } });
    const { result, calls } = await train(model);
    expect(calls.map((c) => c.name)).toEqual(['planTraining', 'trainShards', 'trainShards', 'trainShards', 'trainShards']);
    const batches = fakeBatchesOf([0, 1, 2, 3]);
    expect(
      inputsOf<TrainShardsInput>(calls, 'trainShards').map((s) => [s.epoch, s.round, s.worker, partitionsOf(s), s.fromBatch, s.toBatch, s.from?.uri]),
    ).toEqual([
      [0, 0, 0, [0, 1, 2, 3], 0, batches / 2, undefined],
      [0, 1, 0, [0, 1, 2, 3], batches / 2, batches, fakeShardCheckpoint(0, 0, 0).uri],
      [1, 0, 0, [0, 1, 2, 3], 0, batches / 2, fakeShardCheckpoint(0, 1, 0).uri],
      [1, 1, 0, [0, 1, 2, 3], batches / 2, batches, fakeShardCheckpoint(1, 0, 0).uri],
    ]);
    expect(result.model).toMatchObject({ ...fakeShardCheckpoint(1, 1, 0), epochs: 2, trainSeconds: 4 * fakeRoundSeconds(0), finalLoss: fakeLoss(1) });
    expect(result.losses).toEqual([fakeLoss(0), fakeLoss(1)]);
  });

  test("1 worker with validation rows: the epoch's last round is merged (scored) only, and the model is the worker's checkpoint", async () => {
    const model = modelSpec({ epochs: 2, parallelism: { workers: 1, roundsPerEpoch: 2, share: 'shards' } });
    const { result, calls } = await train(model, { validationRows: 20 });
    expect(calls.map((c) => c.name)).toEqual(['planTraining', 'trainShards', 'trainShards', 'mergeRound', 'trainShards', 'trainShards', 'mergeRound']);
    expect(inputsOf<MergeRoundInput>(calls, 'mergeRound').map((m) => [m.epoch, m.parts.map((p) => p.checkpoint.uri), m.validateOn?.length])).toEqual([
      [0, [fakeShardCheckpoint(0, 1, 0).uri], 4],
      [1, [fakeShardCheckpoint(1, 1, 0).uri], 4],
    ]);
    expect(inputsOf<TrainShardsInput>(calls, 'trainShards')[2]!.from).toEqual(fakeShardCheckpoint(0, 1, 0));
    expect(result.model.uri).toBe(fakeShardCheckpoint(1, 1, 0).uri);
    expect(result.validationLosses).toEqual([fakeValidationLoss(0), fakeValidationLoss(1)]);
  });

  test('rows shared out (the default): every worker reads every shard, and trains on its interleaved share of the rows', async () => {
    const model = modelSpec({ epochs: 1, parallelism: { workers: 3, roundsPerEpoch: 1, share: 'rows' } });
    const { calls } = await train(model, {}, encodedShards(2));
    const shares = inputsOf<TrainShardsInput>(calls, 'trainShards').sort((a, b) => a.worker - b.worker);
    expect(shares.map((s) => [s.worker, partitionsOf(s), s.share])).toEqual([
      [0, [0, 1], { index: 0, count: 3 }],
      [1, [0, 1], { index: 1, count: 3 }],
      [2, [0, 1], { index: 2, count: 3 }],
    ]);
  });

  test('more workers than shards: one worker per shard', async () => {
    const model = modelSpec({ epochs: 1, parallelism: { workers: 8, roundsPerEpoch: 1, share: 'shards' } });
    const { result, calls } = await train(model, {}, encodedShards(3));
    const shares = inputsOf<TrainShardsInput>(calls, 'trainShards').sort((a, b) => a.worker - b.worker);
    expect(shares.map((s) => [s.worker, partitionsOf(s), s.fromBatch, s.toBatch])).toEqual([
      [0, [0], 0, fakeBatchesOf([0])],
      [1, [1], 0, fakeBatchesOf([1])],
      [2, [2], 0, fakeBatchesOf([2])],
    ]);
    expect(inputsOf<MergeRoundInput>(calls, 'mergeRound')[0]!.parts.map((p) => p.checkpoint.uri)).toEqual(
      [0, 1, 2].map((w) => fakeShardCheckpoint(0, 0, w).uri),
    );
    expect(result.model.uri).toBe(merged(0, 0, 3).uri);
  });

  test('its history carries the data-parallel patch marker and replays against the code (parallel workers, a retry, validation)', async () => {
    const model = modelSpec({ epochs: 2, parallelism: { workers: 3, roundsPerEpoch: 2, share: 'shards' } });
    const fakes: FakeOptions = {
      validationRows: 20,
      around: {
        trainShards: (call, next) => {
          const { epoch, round, worker } = call.input as TrainShardsInput;
          return epoch === 1 && round === 0 && worker === 2 && call.attempt === 1 ? Promise.reject(asTemporalFailure(new Error('transient'))) : next();
        },
      },
    };
    const history = await withWorker(suite.env, suite.bundle, fakes, async ({ taskQueue }) => {
      const input: TrainModelInput = {
        model,
        transform: { ...artifact('transform.json'), inputDim: 12, trainRows: 800 },
        shards: encodedShards(4, 20),
        queues: sameQueueForEveryPool(taskQueue),
      };
      const handle = await suite.env.client.workflow.start<typeof trainModel>('trainModel', { taskQueue, workflowId: taskQueue, args: [input] });
      await handle.result();
      return handle.fetchHistory();
    });
    const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes);
    expect(markers).toHaveLength(1);
    const marker = markers[0]!.markerRecordedEventAttributes!;
    expect(marker.markerName).toBe('core_patch');
    expect(defaultPayloadConverter.fromPayload(marker.details!['patch-data']!.payloads![0]!)).toMatchObject({ id: DATA_PARALLEL_PATCH });
    await expect(Worker.runReplayHistory({ workflowBundle: suite.bundle }, history, 'data-parallel-replay')).resolves.toBeUndefined();
  });

  describe('early stopping', () => {
    const earlyStopping = { patience: 2, minDelta: 0, restoreBest: true };
    // Best at epoch 1; epochs 2 and 3 do not beat it, so training stops after epoch 3 (4 epochs).
    const validationLosses = [0.6, 0.5, 0.55, 0.52, 0.4, 0.3];

    test('stops after `patience` epochs without improvement and returns the best epoch’s checkpoint (restoreBest)', async () => {
      const model = modelSpec({ epochs: 6, earlyStopping, parallelism: { workers: 2, roundsPerEpoch: 2, share: 'shards' } });
      const { result, calls } = await train(model, { validationRows: 20, validationLosses });
      expect([...new Set(inputsOf<TrainShardsInput>(calls, 'trainShards').map((s) => s.epoch))]).toEqual([0, 1, 2, 3]);
      expect(result).toEqual<TrainModelResult>({
        model: {
          ...merged(1, 1, 2),
          backend: FAKE_BACKEND,
          epochs: 4,
          trainSamples: 4 * fakeBatchesOf([0, 1, 2, 3]) * FAKE_BATCH_ROWS,
          trainSeconds: 4 * 2 * fakeRoundSeconds(1),
          finalLoss: fakeLoss(3),
        },
        losses: [0, 1, 2, 3].map(fakeLoss),
        validationLosses: validationLosses.slice(0, 4),
        stoppedAfterEpochs: 4,
      });
    });

    test("without restoreBest, the last epoch's checkpoint", async () => {
      const model = modelSpec({
        epochs: 6,
        earlyStopping: { ...earlyStopping, restoreBest: false },
        parallelism: { workers: 2, roundsPerEpoch: 1, share: 'shards' },
      });
      const { result } = await train(model, { validationRows: 20, validationLosses });
      expect(result.stoppedAfterEpochs).toBe(4);
      expect(result.model).toMatchObject({ uri: merged(3, 0, 2).uri, epoch: 3, epochs: 4 });
    });

    test('an improvement smaller than minDelta is no improvement', async () => {
      // 0.58 and 0.57 beat 0.6 by less than 0.05: stops after epoch 2, the best is epoch 0.
      const model = modelSpec({
        epochs: 5,
        earlyStopping: { ...earlyStopping, minDelta: 0.05 },
        parallelism: { workers: 2, roundsPerEpoch: 1, share: 'shards' },
      });
      const { result } = await train(model, { validationRows: 20, validationLosses: [0.6, 0.58, 0.57, 0.3, 0.2] });
      expect(result.stoppedAfterEpochs).toBe(3);
      expect(result.validationLosses).toEqual([0.6, 0.58, 0.57]);
      expect(result.model.uri).toBe(merged(0, 0, 2).uri);
    });

    test('a validation loss that keeps improving trains every epoch', async () => {
      const model = modelSpec({ epochs: 4, earlyStopping, parallelism: { workers: 2, roundsPerEpoch: 1, share: 'shards' } });
      const { result } = await train(model, { validationRows: 20 });
      expect(result.stoppedAfterEpochs).toBeUndefined();
      expect(result.validationLosses).toEqual([0, 1, 2, 3].map(fakeValidationLoss));
      expect(result.model).toMatchObject({ uri: merged(3, 0, 2).uri, epochs: 4 });
    });
  });

  test("the pipeline's progress: losses, validation, the round running, and train.done counting epochs (not rounds)", async () => {
    const spec = flightsSpec({ epochs: 3, parallelism: { workers: 2, roundsPerEpoch: 2, share: 'shards' } });
    // Holds the second round of epoch 1, so the progress is seen mid-epoch.
    const held = gate();
    const isHeld = (call: Call): boolean => {
      const { epoch, round } = call.input as TrainShardsInput;
      return epoch === 1 && round === 1;
    };
    await withPipeline(
      suite.env,
      suite.bundle,
      spec,
      { validationRows: 20, around: { trainShards: (call, next) => (isHeld(call) ? held.promise.then(next) : next()) } },
      async ({ handle }) => {
        const live = await eventually(
          'round 1 of epoch 1 in the progress',
          () => handle.query(progressQuery),
          (p) => p.training?.epoch === 1,
        );
        expect(live.training).toEqual({ epoch: 1, round: 1, rounds: 2, workers: 2 });
        // Epoch 0 ended (scored on the validation rows); epoch 1 is half done and not counted yet.
        expect(live.stages.train).toMatchObject({ status: 'running', done: 1, total: 3, unit: 'epochs' });
        expect(live.trainLoss).toEqual([fakeLoss(0), fakeLoss(1)]);
        expect(live.validationLoss).toEqual([fakeValidationLoss(0)]);
        expect(live.validationMetric).toEqual(fakeValidationMetric(0));
        expect(live.backend).toBe(FAKE_BACKEND);
        held.open();
        await handle.result();

        const progress = await handle.query(progressQuery);
        expect(progress.training).toEqual({ epoch: 2, round: 2, rounds: 2, workers: 2 });
        expect(progress.stages.train).toMatchObject({ status: 'done', done: 3, total: 3 });
        expect(progress.trainLoss).toEqual([0, 1, 2].map(fakeLoss));
        expect(progress.validationLoss).toEqual([0, 1, 2].map(fakeValidationLoss));
        expect(progress.validationMetric).toEqual(fakeValidationMetric(2));
      },
    );
  });

  test('an early-stopped training in the pipeline: the best epoch is registered, the progress shows the epochs trained', async () => {
    const spec = flightsSpec({
      epochs: 6,
      earlyStopping: { patience: 1, minDelta: 0, restoreBest: true },
      parallelism: { workers: 2, roundsPerEpoch: 1, share: 'shards' },
    });
    await withPipeline(suite.env, suite.bundle, spec, { validationRows: 20, validationLosses: [0.6, 0.7] }, async ({ handle, calls }) => {
      await handle.result();
      expect(new Set(inputsOf<TrainShardsInput>(calls, 'trainShards').map((s) => s.epoch))).toEqual(new Set([0, 1]));
      const [registered] = inputsOf<{ model: { uri: string; epochs: number } }>(calls, 'registerModel');
      expect(registered!.model).toMatchObject({ uri: merged(0, 0, 2).uri, epochs: 2 });
      const progress = await handle.query(progressQuery);
      expect(progress.validationLoss).toEqual([0.6, 0.7]);
      expect(progress.trainLoss).toEqual([fakeLoss(0), fakeLoss(1)]);
      expect(progress.stages.train.status).toBe('done');
    });
  });
});
