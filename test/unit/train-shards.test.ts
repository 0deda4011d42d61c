import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TrainShardsHeartbeat, TrainShardsInput } from '../../contracts/stages';
import type { EncodedShardRef, TransformRef } from '../../contracts/refs';
import { ArtifactStore, fileStoreSettings, readArtifactJson } from '../../lib/artifacts/artifact-store';
import { countBatches } from '../../lib/features/encoded-batches';
import type { FittedLabel, FittedTransformV2 } from '../../lib/features/transform-format';
import { loadSavedModel } from '../../lib/models/model-io';
import { predictSplit } from '../../lib/models/predict';
import { modelSpecSchema } from '../../lib/spec/model-spec';
import { mergeRound } from '../../lib/training/merge-round';
import { planTraining } from '../../lib/training/plan-training';
import { trainShards } from '../../lib/training/train-shards';
import { transformOf, writeEncodedShards } from './fixtures/encoded-shards';

/**
 * The trainer without Temporal: one worker's round over encoded shards, as the trainShards activity
 * runs it in its thread. Determinism, resuming from a mid-epoch checkpoint, and each task learning
 * what crafted data makes learnable.
 */

const root = mkdtempSync(path.join(os.tmpdir(), 'pw-train-'));
const store = new ArtifactStore(root);

/** A colour (4 values + out-of-vocabulary) and a number: enough to make every task learnable. */
function craftedTransform(label: FittedLabel): FittedTransformV2 {
  return {
    ...transformOf([
      { kind: 'categorical', name: 'colour', column: 'colour', width: 5, vocabulary: ['red', 'green', 'blue', 'grey'] },
      { kind: 'numeric', name: 'x', column: 'x', width: 1, scale: { kind: 'none' } },
    ]),
    label,
  };
}

async function setUp(
  label: FittedLabel,
  labelOf: (codes: Float32Array) => number,
  rows = 4000,
): Promise<{ transform: TransformRef; shards: EncodedShardRef[] }> {
  const fitted = craftedTransform(label);
  const { shards } = await writeEncodedShards(
    fitted,
    [
      [rows / 2, rows / 2],
      [rows / 2, rows / 2],
    ],
    11,
    (_random, codes) => labelOf(codes),
  );
  const ref = await store.putJson('transforms', fitted);
  return { transform: { ...ref, inputDim: fitted.inputDim, trainRows: shards.reduce((n, s) => n + s.trainRows, 0) }, shards };
}

const binary: FittedLabel = { column: 'y', greaterThan: 0 };

async function round(
  data: { transform: TransformRef; shards: EncodedShardRef[] },
  model: object,
  extra: Partial<TrainShardsInput> & { resume?: TrainShardsHeartbeat['resume'] } = {},
  onDetails: (d: TrainShardsHeartbeat) => void = () => undefined,
) {
  const spec = modelSpecSchema.parse(model);
  const fitted = await readArtifactJson<FittedTransformV2>(data.transform);
  const batches = await countBatches(fitted, data.shards, { split: 'train', batchSize: spec.batchSize });
  return trainShards(
    {
      model: spec,
      transform: data.transform,
      shards: data.shards,
      epoch: 0,
      round: 0,
      worker: 0,
      fromBatch: 0,
      toBatch: batches,
      batchesPerEpoch: batches,
      artifactStore: fileStoreSettings(root),
      ...extra,
    },
    (_samples, details) => details && onDetails(details),
  );
}

/** Model outputs and labels of a split, as flat arrays. */
async function predictions(ref: { uri: string }, data: { transform: TransformRef; shards: EncodedShardRef[] }) {
  const fitted = await readArtifactJson<FittedTransformV2>(data.transform);
  const { model } = await loadSavedModel(ref, fitted);
  const outputs: number[] = [];
  const labels: number[] = [];
  let units = 1;
  await predictSplit(model, fitted, data.shards, 'test', (o, l, rows, u) => {
    units = u;
    outputs.push(...o.subarray(0, rows * u));
    labels.push(...l.subarray(0, rows));
  });
  model.dispose();
  return { outputs, labels, units };
}

describe('trainShards', () => {
  const mlp = { type: 'mlp', layers: [{ units: 16, dropout: 0.1 }, { units: 8 }], batchSize: 32, learningRate: 0.01, seed: 3, checkpointEveryBatches: 10 };

  test('the same input gives the same checkpoint, byte for byte', async () => {
    const data = await setUp(binary, (c) => (c[0] === 1 || c[1]! > 0.5 ? 1 : 0));
    const a = await round(data, mlp);
    const b = await round(data, mlp);
    expect(a.samples).toBe(data.shards.reduce((n, s) => n + s.trainRows, 0));
    expect(a.checkpoint.sha256).toBe(b.checkpoint.sha256);
    expect(a.lossSum).toBe(b.lossSum);
  });

  test('resuming from a mid-epoch checkpoint ends with the bytes of an unbroken run', async () => {
    const data = await setUp(binary, (c) => (c[0] === 2 ? 1 : 0));
    const heartbeats: TrainShardsHeartbeat[] = [];
    const unbroken = await round(data, mlp, {}, (d) => heartbeats.push(d));
    expect(heartbeats.length).toBeGreaterThanOrEqual(3);
    expect(heartbeats.map((h) => h.resume!.nextBatch).slice(0, 3)).toEqual([10, 20, 30]);
    // As if the worker died after its second checkpoint's heartbeat: the retry resumes from there.
    const resume = heartbeats[1]!.resume!;
    const resumed = await round(data, mlp, { resume });
    expect(resumed.resumedAtBatch).toBe(20);
    expect(resumed.checkpoint.sha256).toBe(unbroken.checkpoint.sha256);
    expect(resumed.samples).toBe(unbroken.samples);
    expect(resumed.lossSum).toBe(unbroken.lossSum);
  });

  test('a round over part of the batches trains on just those', async () => {
    const data = await setUp(binary, (c) => (c[0] === 2 ? 1 : 0));
    const result = await round(data, mlp, { fromBatch: 5, toBatch: 15 });
    expect(result.batches).toBe(10);
    expect(result.samples).toBe(10 * 32);
  });

  test('multiclass: the colour decides the class, and the model learns it', async () => {
    const label: FittedLabel = { column: 'y', task: 'multiclass', classes: ['warm', 'cool', 'neutral'] };
    // red -> warm, green/blue -> cool, grey/other -> neutral
    const data = await setUp(label, (c) => [0, 1, 1, 2, 2][c[0]!]!);
    const spec = { type: 'mlp', hidden: [8], batchSize: 64, learningRate: 0.05, seed: 1 };
    let from: Awaited<ReturnType<typeof round>>['checkpoint'] | undefined;
    for (let epoch = 0; epoch < 3; epoch++) from = (await round(data, spec, { epoch, ...(from ? { from } : {}) })).checkpoint;
    const { outputs, labels, units } = await predictions(from!, data);
    expect(units).toBe(3);
    let correct = 0;
    labels.forEach((y, r) => {
      const row = outputs.slice(r * 3, r * 3 + 3);
      if (row.indexOf(Math.max(...row)) === y) correct++;
    });
    expect(correct / labels.length).toBeGreaterThan(0.98);
  });

  test('regression: a linear model recovers y = 2x - 1 (standardised)', async () => {
    const label: FittedLabel = { column: 'y', task: 'regression', mean: 0, std: 1 };
    const data = await setUp(label, (c) => 2 * c[1]! - 1);
    const spec = { type: 'linear', batchSize: 32, learningRate: 0.05, seed: 1, epochs: 5 };
    let from: Awaited<ReturnType<typeof round>>['checkpoint'] | undefined;
    for (let epoch = 0; epoch < 5; epoch++) from = (await round(data, spec, { epoch, ...(from ? { from } : {}) })).checkpoint;
    const { outputs, labels } = await predictions(from!, data);
    const mse = labels.reduce((s, y, r) => s + (outputs[r]! - y) ** 2, 0) / labels.length;
    expect(Math.sqrt(mse)).toBeLessThan(0.05);
  });

  test('a non-finite value in a batch stops training with the batch named', async () => {
    const label: FittedLabel = { column: 'y', task: 'regression', mean: 0, std: 1 };
    const data = await setUp(label, (c) => (c[0] === 3 ? Number.NaN : c[1]!), 400);
    await expect(round(data, { type: 'linear', batchSize: 16 })).rejects.toMatchObject({
      name: 'PipelineInputError',
      message: expect.stringMatching(/^label NaN in epoch 1, batch \d+ of worker 0/),
    });
  });

  test('a checkpoint changed on disk is refused', async () => {
    const data = await setUp(binary, (c) => (c[0] === 2 ? 1 : 0), 400);
    const first = await round(data, { type: 'logistic', batchSize: 64 });
    await expect(round(data, { type: 'logistic', batchSize: 64 }, { from: { ...first.checkpoint, sha256: '0'.repeat(64) } })).rejects.toMatchObject({
      name: 'PipelineInputError',
      message: expect.stringContaining('was changed or corrupted'),
    });
  });
});

describe('mergeRound', () => {
  test('one worker: its checkpoint is the round’s, and the validation loss is scored', async () => {
    const data = await setUp(binary, (c) => (c[0] === 1 ? 1 : 0), 2000);
    const spec = modelSpecSchema.parse({ type: 'logistic', batchSize: 64, learningRate: 0.1 });
    const part = await round(data, spec);
    const merged = await mergeRound(
      {
        model: spec,
        transform: data.transform,
        parts: [{ checkpoint: part.checkpoint, samples: part.samples }],
        epoch: 0,
        validateOn: data.shards,
        artifactStore: fileStoreSettings(root),
      },
      () => undefined,
    );
    expect(merged.checkpoint).toEqual(part.checkpoint);
    expect(merged.validationLoss).toBeGreaterThan(0);
    expect(merged.validationLoss).toBeLessThan(0.4);
    expect(merged.validationMetric!.name).toBe('auc');
    expect(merged.validationMetric!.value).toBeGreaterThan(0.95);
  });

  test('two workers: the merged checkpoint is new, and scoring it works', async () => {
    const data = await setUp(binary, (c) => (c[0] === 1 ? 1 : 0), 2000);
    const spec = modelSpecSchema.parse({ type: 'mlp', hidden: [4], batchSize: 64, learningRate: 0.05 });
    const a = await round(data, spec, { shards: [data.shards[0]!], worker: 0, toBatch: 5 });
    const b = await round(data, spec, { shards: [data.shards[1]!], worker: 1, toBatch: 5 });
    expect(a.checkpoint.sha256).not.toBe(b.checkpoint.sha256);
    const merged = await mergeRound(
      {
        model: spec,
        transform: data.transform,
        parts: [
          { checkpoint: a.checkpoint, samples: a.samples },
          { checkpoint: b.checkpoint, samples: b.samples },
        ],
        epoch: 0,
        artifactStore: fileStoreSettings(root),
      },
      () => undefined,
    );
    expect([a.checkpoint.sha256, b.checkpoint.sha256]).not.toContain(merged.checkpoint.sha256);
    expect(merged.validationLoss).toBeUndefined();
  });
});

describe('planTraining', () => {
  test("shares the rows out: every worker reads every shard, and the workers' batches cover the train rows", async () => {
    const data = await setUp(binary, (c) => (c[0] === 1 ? 1 : 0), 2000);
    const model = modelSpecSchema.parse({ type: 'logistic', batchSize: 10, parallelism: { workers: 3 } });
    const plan = await planTraining({ model, transform: data.transform, shards: data.shards });
    expect(plan.rowShares).toBe(true);
    expect(plan.groups).toEqual([
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    const trainRows = data.shards.reduce((n, s) => n + s.trainRows, 0);
    expect(plan.batches.reduce((n, b) => n + b, 0)).toBeGreaterThanOrEqual(trainRows / 10);
    expect(plan.batches.reduce((n, b) => n + b, 0)).toBeLessThanOrEqual(trainRows / 10 + 3);
    expect(plan).toMatchObject({ task: 'binary', units: 1 });
  });

  test('early stopping without validation rows is refused with the fix', async () => {
    const data = await setUp(binary, (c) => (c[0] === 1 ? 1 : 0), 400);
    const model = modelSpecSchema.parse({ type: 'logistic', earlyStopping: { patience: 2 } });
    const shards = data.shards.map((s) => ({ ...s, validationRows: 0 }));
    await expect(planTraining({ model, transform: data.transform, shards })).rejects.toMatchObject({
      name: 'PipelineInputError',
      message: expect.stringContaining('set split.validationFraction'),
    });
  });
});
