import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ArtifactStore } from '../../lib/artifacts/artifact-store';
import { FeatureEncoder } from '../../lib/features/feature-encoder';
import type { FittedTransform } from '../../lib/features/transform-format';
import { createAdam } from '../../lib/models/adam';
import { initBackend } from '../../lib/models/backend';
import {
  buildModel,
  checkModelFitsTransform,
  deepInputLayout,
  fastLossFor,
  lossFor,
  modelInputs,
  setTrainingStep,
  type ModelHead,
} from '../../lib/models/build-model';
import { loadSavedModel, restoreOptimizer, saveModel } from '../../lib/models/model-io';
import { predictCodes } from '../../lib/models/predict';
import { SeededDropout } from '../../lib/models/seeded-dropout';
import { SparseDense } from '../../lib/models/sparse-dense';
import { denseMatMul, sparseMatMul } from '../../lib/models/sparse-ops';
import { PIPELINE_INPUT_ERROR } from '../../contracts/failures';
import { mulberry32 } from '../../lib/random';
import { modelSpecSchema, type ModelSpec } from '../../lib/spec/model-spec';
import { everyKindTransform, numericOnlyTransform, randomCodes, transformOf } from './fixtures/encoded-shards';

/**
 * The model families over the sparse input: SparseDense is the dense layer on the one-hot matrix
 * (values and gradients, wasm and cpu), every model type builds, trains and round-trips through
 * save/load, dropout is seeded per step, and a model meets a transform it does not fit with a
 * message that says so.
 */

const transform = everyKindTransform();
const encoder = new FeatureEncoder(transform);
const nnz = encoder.nonZerosPerRow;
const featureCount = transform.features.length;

function batchOf(t: FittedTransform, rows: number, seed: number) {
  const enc = new FeatureEncoder(t);
  const codes = randomCodes(enc.transform, rows, seed);
  const k = enc.nonZerosPerRow;
  const n = enc.transform.features.length;
  const slots = new Int32Array(rows * k);
  const values = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++) enc.sparseInto(codes.subarray(r * n, (r + 1) * n), slots, values, r * k);
  return { rows, slots, values, codes };
}

const spec = (m: object): ModelSpec => modelSpecSchema.parse({ seed: 5, ...m });

const TYPES: Array<[string, object, ModelHead]> = [
  ['logistic', { type: 'logistic' }, { task: 'binary', units: 1 }],
  ['linear', { type: 'linear' }, { task: 'regression', units: 1 }],
  [
    'mlp (multiclass, dropout, l2)',
    {
      type: 'mlp',
      l2: 0.001,
      layers: [
        { units: 8, dropout: 0.3 },
        { units: 4, activation: 'tanh' },
      ],
    },
    { task: 'multiclass', units: 3 },
  ],
  ['mlp without layers', { type: 'mlp', layers: [] }, { task: 'binary', units: 1 }],
  ['wideDeep', { type: 'wideDeep', hidden: [8, 4], layers: undefined }, { task: 'binary', units: 1 }],
  ['wideDeep (multiclass, embeddingDim)', { type: 'wideDeep', embeddingDim: 3, layers: [{ units: 6, dropout: 0.2 }] }, { task: 'multiclass', units: 4 }],
];

const labelsFor = (head: ModelHead, rows: number): tf.Tensor =>
  tf.tensor2d(
    Float32Array.from({ length: rows }, (_, i) => (head.task === 'regression' ? Math.sin(i) : i % head.units)),
    [rows, 1],
  );

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pw-models-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
  beforeAll(async () => {
    expect(await initBackend(backend)).toBe(backend);
  });

  test('SparseDense forward and gradients equal a Dense layer on the one-hot matrix', () => {
    const rows = 40;
    const units = 5;
    const batch = batchOf(transform, rows, 2);
    const dim = transform.inputDim;
    const dense = new Float32Array(rows * dim);
    for (let r = 0; r < rows; r++) encoder.denseInto(batch.codes.subarray(r * featureCount, (r + 1) * featureCount), dense, r * dim);
    const random = mulberry32(3);
    const w = tf.tensor2d(
      Float32Array.from({ length: dim * units }, () => random() - 0.5),
      [dim, units],
    );
    const b = tf.tensor1d(Float32Array.from({ length: units }, () => random() - 0.5));
    const up = tf.tensor2d(
      Float32Array.from({ length: rows * units }, () => random() - 0.5),
      [rows, units],
    );
    const slots = tf.tensor2d(batch.slots, [rows, nnz], 'int32');
    const values = tf.tensor2d(batch.values, [rows, nnz]);
    const x = tf.tensor2d(dense, [rows, dim]);
    for (const relu of [false, true]) {
      // A loss that weighs every output differently, so each gradient entry is checked.
      const viaSparse = tf.grads((wt: tf.Tensor, bt: tf.Tensor) => tf.sum(tf.mul(sparseMatMul(slots, values, wt, bt, relu), up)));
      const viaDense = tf.grads((wt: tf.Tensor, bt: tf.Tensor) => {
        const z = tf.add(tf.matMul(x, wt), bt);
        return tf.sum(tf.mul(relu ? tf.relu(z) : z, up));
      });
      const [sw, sb] = viaSparse([w, b]);
      const [dw, db] = viaDense([w, b]);
      expectClose(sw!, dw!);
      expectClose(sb!, db!);
      expectClose(sparseMatMul(slots, values, w, b, relu), relu ? tf.relu(tf.add(tf.matMul(x, w), b)) : tf.add(tf.matMul(x, w), b));
    }
    tf.dispose([w, b, up, slots, values, x]);
  });

  test('the dense product (FastDense) gives the values and gradients of matMul + bias + act', () => {
    for (const [rows, inDim, outDim] of [
      [33, 7, 5],
      [64, 16, 40],
    ] as const) {
      const random = mulberry32(rows);
      const t = (shape: number[], zeros = false) =>
        tf.tensor(
          Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (zeros && random() < 0.3 ? 0 : random() - 0.5)),
          shape,
        );
      const x = t([rows, inDim], true);
      const w = t([inDim, outDim]);
      const b = t([outDim]);
      const up = t([rows, outDim]);
      for (const relu of [false, true]) {
        const act = (z: tf.Tensor) => (relu ? tf.relu(z) : z);
        const fast = tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) => tf.sum(tf.mul(denseMatMul(xs, ws, bs, relu), up)))([x, w, b]);
        const stock = tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) => tf.sum(tf.mul(act(tf.add(tf.matMul(xs, ws), bs)), up)))([x, w, b]);
        fast.forEach((g, i) => expectClose(g, stock[i]!));
        expectClose(denseMatMul(x, w, b, relu), act(tf.add(tf.matMul(x, w), b)));
      }
    }
  });

  test('a slot outside the input width is refused', () => {
    const slots = tf.tensor2d([[0, 9]], [1, 2], 'int32');
    const values = tf.tensor2d([[1, 1]], [1, 2]);
    expect(() => sparseMatMul(slots, values, tf.zeros([9, 2]), tf.zeros([2]), false)).toThrow(/feature width that does not match the transform/);
  });

  test.each(TYPES)('%s builds, trains a few steps and round-trips save / load', async (_name, m, head) => {
    const s = spec(m);
    const batch = batchOf(transform, 48, 7);
    const model = buildModel(s, transform, head);
    const optimizer = createAdam(0.05);
    model.compile({ optimizer, loss: fastLossFor(head.task) });
    const xs = modelInputs(model, transform, batch);
    const ys = labelsFor(head, batch.rows);
    const losses: number[] = [];
    for (let step = 0; step < 8; step++) {
      setTrainingStep(step);
      losses.push((await model.trainOnBatch(xs, ys)) as number);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);

    const ref = await saveModel(new ArtifactStore(dir), 'models', model, optimizer);
    const { model: loaded, saved } = await loadSavedModel(ref, transform);
    const before = model.predict(xs, { batchSize: batch.rows }) as tf.Tensor;
    const after = loaded.predict(modelInputs(loaded, transform, batch), { batchSize: batch.rows }) as tf.Tensor;
    expect(after.shape).toEqual([batch.rows, head.units]);
    expect(Array.from(await after.data())).toEqual(Array.from(await before.data()));
    // predictCodes (the model server's path) gives the same outputs from the raw codes.
    expect(Array.from(await predictCodes(loaded, transform, batch.codes, batch.rows))).toEqual(Array.from(await before.data()));

    // Training continues identically from the checkpoint (weights and optimizer state).
    const resumedOptimizer = createAdam(0.05);
    loaded.compile({ optimizer: resumedOptimizer, loss: fastLossFor(head.task) });
    await restoreOptimizer(resumedOptimizer, saved);
    setTrainingStep(8);
    const next = (await model.trainOnBatch(xs, ys)) as number;
    setTrainingStep(8);
    const nextLoaded = (await loaded.trainOnBatch(modelInputs(loaded, transform, batch), ys)) as number;
    expect(nextLoaded).toBe(next);
    tf.dispose([...xs, ys, before, after]);
    model.dispose();
    loaded.dispose();
  });

  test('training steps and predictions hold no tensors or heap memory after they return', async () => {
    for (const [, m, head] of TYPES) {
      const model = buildModel(spec(m), transform, head);
      const optimizer = createAdam(0.01);
      model.compile({ optimizer, loss: fastLossFor(head.task) });
      const batch = batchOf(transform, 16, 3);
      const ys = labelsFor(head, batch.rows);
      const step = async (s: number): Promise<void> => {
        setTrainingStep(s);
        const xs = modelInputs(model, transform, batch);
        await model.trainOnBatch(xs, ys);
        tf.dispose(xs);
        await predictCodes(model, transform, batch.codes, batch.rows);
      };
      await step(0); // creates the optimizer's moments
      const before = tf.memory();
      for (let s = 1; s < 4; s++) await step(s);
      expect(tf.memory().numTensors).toBe(before.numTensors);
      expect(tf.memory().numBytes).toBe(before.numBytes);
      ys.dispose();
      model.dispose();
      optimizer.dispose();
    }
  });

  test('the same spec builds bit-identical initial weights', () => {
    for (const [, m, head] of TYPES) {
      const a = buildModel(spec(m), transform, head);
      const b = buildModel(spec(m), transform, head);
      const wa = a.getWeights();
      const wb = b.getWeights();
      expect(wa.map((w) => w.shape)).toEqual(wb.map((w) => w.shape));
      wa.forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(Array.from(wb[i]!.dataSync())));
      const other = buildModel(spec({ ...m, seed: 6 }), transform, head);
      expect(Array.from(other.getWeights()[0]!.dataSync())).not.toEqual(Array.from(wa[0]!.dataSync()));
      [a, b, other].forEach((x) => x.dispose());
    }
  });

  test('fastLossFor("binary") gives the loss and gradients of "binaryCrossentropy"', () => {
    const labels = tf.tensor2d([[1], [0], [1], [0], [1]]);
    const p = tf.tensor2d([[0.9], [0.2], [1e-9], [0.999999999], [0.5]]);
    const fast = fastLossFor('binary') as (y: tf.Tensor, p: tf.Tensor) => tf.Tensor;
    const stock = (y: tf.Tensor, q: tf.Tensor) => tfl.metrics.binaryCrossentropy(y, q);
    expectClose(fast(labels, p), stock(labels, p));
    expectClose(tf.grad((q: tf.Tensor) => tf.mean(fast(labels, q)))(p), tf.grad((q: tf.Tensor) => tf.mean(stock(labels, q)))(p));
  });
});

function expectClose(a: tf.Tensor, b: tf.Tensor, tolerance = 1e-5): void {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(y[i]!)));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

describe('dropout', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  test('masks repeat for the same step and differ between steps; inference is the identity', () => {
    const layer = new SeededDropout({ rate: 0.5, seed: 3, index: 0 });
    const x = tf.ones([64, 16]);
    const run = (step: number): number[] => {
      setTrainingStep(step);
      return Array.from((layer.apply(x, { training: true }) as tf.Tensor).dataSync());
    };
    const a = run(10);
    expect(run(10)).toEqual(a);
    const b = run(11);
    expect(b).not.toEqual(a);
    // About half the units kept, scaled by 2.
    const kept = a.filter((v) => v !== 0);
    expect(new Set(kept)).toEqual(new Set([2]));
    expect(kept.length / a.length).toBeGreaterThan(0.4);
    expect(kept.length / a.length).toBeLessThan(0.6);
    // Another layer index draws another mask at the same step.
    setTrainingStep(10);
    const other = Array.from((new SeededDropout({ rate: 0.5, seed: 3, index: 1 }).apply(x, { training: true }) as tf.Tensor).dataSync());
    expect(other).not.toEqual(a);
    expect(Array.from((layer.apply(x) as tf.Tensor).dataSync())).toEqual(Array.from(x.dataSync()));
  });

  test('training the same steps twice from the same spec gives the same weights', async () => {
    const m = spec({
      type: 'mlp',
      layers: [
        { units: 8, dropout: 0.5 },
        { units: 8, dropout: 0.5 },
      ],
    });
    const head: ModelHead = { task: 'binary', units: 1 };
    const batch = batchOf(transform, 32, 4);
    const train = async (): Promise<number[]> => {
      const model = buildModel(m, transform, head);
      model.compile({ optimizer: createAdam(0.05), loss: fastLossFor('binary') });
      const xs = modelInputs(model, transform, batch);
      const ys = labelsFor(head, batch.rows);
      for (let step = 0; step < 5; step++) {
        setTrainingStep(100 + step);
        await model.trainOnBatch(xs, ys);
      }
      const weights = model.getWeights().flatMap((w) => Array.from(w.dataSync()));
      tf.dispose([...xs, ys]);
      model.dispose();
      return weights;
    };
    expect(await train()).toEqual(await train());
  });
});

describe('models and transforms that do not fit', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  test('wideDeep on a transform with no categorical feature says to use mlp', () => {
    const attempt = () => buildModel(spec({ type: 'wideDeep' }), numericOnlyTransform(), { task: 'binary', units: 1 });
    expect(attempt).toThrow(/use model.type "mlp"/);
    try {
      attempt();
    } catch (err) {
      expect((err as Error).name).toBe(PIPELINE_INPUT_ERROR);
    }
  });

  test('a loaded model meets a transform of another width', async () => {
    const head: ModelHead = { task: 'binary', units: 1 };
    for (const m of [{ type: 'logistic' }, { type: 'mlp', hidden: [4] }, { type: 'wideDeep', hidden: [4] }]) {
      const model = buildModel(spec(m), transform, head);
      const ref = await saveModel(new ArtifactStore(dir), 'models', model);
      model.dispose();
      // Same features, one categorical one slot wider.
      const wider = transformOf(
        transform.features.map((f) => (f.kind === 'categorical' ? { ...f, width: f.width + 1, vocabulary: [...f.vocabulary, 'z'] } : f)),
      );
      await expect(loadSavedModel(ref, wider)).rejects.toThrow(/feature width that does not match the transform/);
      const { model: loaded } = await loadSavedModel(ref, transform);
      expect(() => checkModelFitsTransform(loaded, wider)).toThrow(/feature width that does not match the transform/);
      expect(() => modelInputs(loaded, wider, batchOf(wider, 2, 1))).toThrow(/feature width that does not match the transform/);
      loaded.dispose();
    }
  });

  test('a model of the earlier dense form is fed the one-hot matrix', async () => {
    const dense = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [transform.inputDim], units: 1, activation: 'sigmoid' })] });
    const sparse = buildModel(spec({ type: 'logistic' }), transform, { task: 'binary', units: 1 });
    // Same weights in both.
    const [kernel, bias] = sparse.getWeights();
    dense.setWeights([kernel!, bias!]);
    const batch = batchOf(transform, 10, 9);
    const a = dense.predict(modelInputs(dense, transform, batch)) as tf.Tensor;
    const b = sparse.predict(modelInputs(sparse, transform, batch)) as tf.Tensor;
    expectClose(a, b);
    const narrower = transformOf(transform.features.slice(1));
    expect(() => modelInputs(dense, narrower, batchOf(narrower, 2, 1))).toThrow(/feature width that does not match the transform/);
  });

  test('the deep input embeds each one-hot position and passes values', () => {
    const layout = deepInputLayout(transform);
    // amount, season (2 cyclical parts: 4 values) and dist pass through; the rest embed.
    expect(layout.positions.filter((p) => p < 0)).toHaveLength(6);
    expect(layout.tables.map((t) => t.name)).toEqual(['origin', 'hour', 'weekday', 'dist_q', 'tail', 'route', 'when_hour', 'when_weekday', 'month']);
    expect(layout.tables.find((t) => t.name === 'hour')!.dim).toBe(Math.min(16, Math.ceil(1.6 * 24 ** 0.56)));
    expect(lossFor('multiclass')).toBe('sparseCategoricalCrossentropy');
    expect(new SparseDense({ inputDim: 3, units: 2, seed: 1 }).getConfig()).toMatchObject({ inputDim: 3, units: 2, activation: 'linear' });
  });
});
