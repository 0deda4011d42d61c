import { rmSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { createAdam } from '../../lib/models/adam';
import { initBackend } from '../../lib/models/backend';
import { buildModel, fastLossFor, modelInputs } from '../../lib/models/build-model';
import { predictCodes, predictSplit } from '../../lib/models/predict';
import { modelBatches } from '../../lib/features/encoded-batches';
import { mulberry32 } from '../../lib/random';
import { modelSpecSchema } from '../../lib/spec/model-spec';
import { simdLoopsFor } from '../../lib/models/wasm-simd';
import { everyKindTransform, writeEncodedShards, type WrittenShards } from './fixtures/encoded-shards';

/** The kernels behind the sparse layers, Adam in one kernel, and the predict helpers. */

const random = mulberry32(21);
const uniform = (shape: number[]): tf.Tensor =>
  tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1),
    shape,
  );

describe('the hand-assembled SIMD loops', () => {
  const Memory = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory;
  const memory = new Memory({ initial: 1 });
  const loops = simdLoopsFor(memory)!;
  const heap = new Float32Array(memory.buffer);
  const fill = (at: number, n: number) => {
    for (let i = 0; i < n; i++) heap[at + i] = Math.fround(random() * 2 - 1);
    return Array.from(heap.subarray(at, at + n));
  };

  test('build on Node 20', () => expect(loops).not.toBeNull());

  test.each([0, 1, 3, 4, 7, 16, 33])('axpy, maskPositive and adam over %i elements (SIMD body and scalar tail)', (n) => {
    const [A, B, C, D, E, F, G] = [0, 1000, 2000, 3000, 4000, 5000, 6000];
    const dst = fill(A, n);
    const src = fill(B, n);
    loops.axpy(A * 4, B * 4, n, 0.5);
    dst.forEach((d, i) => expect(heap[A + i]).toBe(Math.fround(d + Math.fround(0.5 * src[i]!))));
    const ref = fill(C, n);
    loops.maskPositive(D * 4, B * 4, C * 4, n);
    ref.forEach((r, i) => expect(heap[D + i]).toBe(r > 0 ? src[i]! : 0));
    const [x, g, m] = [fill(E, n), fill(F, n), fill(G, n)];
    const v = fill(7000, n).map(Math.abs);
    heap.set(v, 7000);
    loops.adam(8000 * 4, 9000 * 4, 10000 * 4, E * 4, F * 4, G * 4, 7000 * 4, n, 0.9, 0.1, 0.999, 0.001, -0.01, 0.19, 0.002, 1e-7);
    const f = Math.fround;
    for (let i = 0; i < n; i++) {
      const mi = f(f(m[i]! * f(0.9)) + f(g[i]! * f(0.1)));
      const vi = f(f(v[i]! * f(0.999)) + f(f(g[i]! * g[i]!) * f(0.001)));
      expect(heap[9000 + i]).toBe(mi);
      expect(heap[10000 + i]).toBe(vi);
      const step = f(f(f(mi / f(0.19)) / f(f(Math.sqrt(f(vi / f(0.002)))) + f(1e-7))) * f(-0.01));
      expect(heap[8000 + i]).toBe(f(x[i]! + step));
    }
  });
});

describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test("tf.gather's gradient (UnsortedSegmentSum) works and sums repeated indices", () => {
    const table = uniform([6, 3]);
    const indices = tf.tensor1d([0, 2, 2, 5, 0, 2], 'int32');
    const up = uniform([6, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, indices), up)))(table);
    const u = up.arraySync() as number[][];
    const expected = Array.from({ length: 6 }, () => [0, 0, 0]);
    [0, 2, 2, 5, 0, 2].forEach((row, i) => u[i]!.forEach((v, j) => (expected[row]![j]! += v)));
    const got = g.arraySync() as number[][];
    got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i]![j]!, 5)));
  });

  test('FastAdam follows tf.train.adam and keeps its state layout', async () => {
    const init = uniform([7, 5]);
    const grads = Array.from({ length: 6 }, () => uniform([7, 5]));
    const run = async (optimizer: tf.Optimizer) => {
      const v = tf.variable(init.clone(), true, `w_${Math.floor(random() * 1e9)}`);
      for (const g of grads) optimizer.applyGradients({ [v.name]: g });
      const weights = await optimizer.getWeights();
      return {
        value: Array.from(v.dataSync()),
        names: weights.map((w) => w.name.replace(/w_\d+/, 'w')),
        state: weights.map((w) => Array.from(w.tensor.dataSync())),
      };
    };
    const stock = await run(tf.train.adam(0.1));
    const fast = await run(createAdam(0.1));
    expect(fast.names).toEqual(stock.names);
    // Float32 rounding in another order, amplified by Adam's early steps: relative 1e-4.
    const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(b)));
    fast.value.forEach((x, i) => close(x, stock.value[i]!));
    fast.state.forEach((s, i) => s.forEach((x, j) => close(x, stock.state[i]![j]!)));
  });
});

describe('predict helpers', () => {
  const transform = everyKindTransform();
  let written: WrittenShards;
  beforeAll(async () => {
    await initBackend('wasm');
    written = await writeEncodedShards(transform, [[30, 12], [25]], 8);
  });
  afterAll(() => rmSync(written.dir, { recursive: true, force: true }));

  test('predictSplit runs every row of the split in partition order, with its labels', async () => {
    const model = buildModel(modelSpecSchema.parse({ type: 'mlp', hidden: [4] }), transform, { task: 'multiclass', units: 3 });
    model.compile({ optimizer: createAdam(0.01), loss: fastLossFor('multiclass') });
    const expectedOutputs: number[] = [];
    const expectedLabels: number[] = [];
    for await (const b of modelBatches(transform, written.shards, { split: 'test', batchSize: 7 })) {
      const xs = modelInputs(model, transform, b);
      expectedOutputs.push(...(model.predict(xs, { batchSize: b.rows }) as tf.Tensor).dataSync());
      expectedLabels.push(...b.y);
      tf.dispose(xs);
    }
    const outputs: number[] = [];
    const labels: number[] = [];
    // Shards given out of order: predictSplit sorts them by partition.
    await predictSplit(
      model,
      transform,
      [...written.shards].reverse(),
      'test',
      (out, y, rows, units) => {
        expect(units).toBe(3);
        expect(out.length).toBe(rows * units);
        outputs.push(...out);
        labels.push(...y.subarray(0, rows));
      },
      5,
    );
    expect(labels).toEqual(expectedLabels);
    outputs.forEach((v, i) => expect(v).toBeCloseTo(expectedOutputs[i]!, 6));
    expect(await predictCodes(model, transform, new Float32Array(0), 0)).toHaveLength(0);
    model.dispose();
  });
});
