import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers the gradients
import { installFastTransposedMatMul } from '../../lib/models/wasm-matmul';
import { mulberry32 } from '../../lib/random';

/**
 * The patched wasm BatchMatMul must give the products the reference (cpu) backend gives, for
 * every transpose combination, both ways of choosing the side to move, and batched operands.
 */
type Case = { name: string; a: number[]; b: number[]; transposeA: boolean; transposeB: boolean; oneHotA?: boolean };

const CASES: Case[] = [
  { name: 'plain', a: [6, 5], b: [5, 4], transposeA: false, transposeB: false },
  { name: 'aᵀ·b, a large (moves b)', a: [300, 40], b: [300, 3], transposeA: true, transposeB: false },
  { name: 'aᵀ·b, b large (moves a)', a: [300, 3], b: [300, 40], transposeA: true, transposeB: false },
  { name: 'a·bᵀ, b small (moves b)', a: [300, 8], b: [5, 8], transposeA: false, transposeB: true },
  { name: 'a·bᵀ, a small (moves a)', a: [2, 64], b: [300, 64], transposeA: false, transposeB: true },
  { name: 'aᵀ·bᵀ', a: [7, 9], b: [4, 7], transposeA: true, transposeB: true },
  { name: 'batched aᵀ·b', a: [3, 20, 6], b: [3, 20, 2], transposeA: true, transposeB: false },
  // Large enough for the sparse path: a one-hot batch takes it, a dense one falls back midway.
  { name: 'aᵀ·b, one-hot a (sparse path)', a: [512, 234], b: [512, 32], transposeA: true, transposeB: false, oneHotA: true },
  { name: 'aᵀ·b, dense a past the sparse threshold', a: [400, 200], b: [400, 8], transposeA: true, transposeB: false },
  { name: 'batched a·bᵀ with a broadcast batch', a: [1, 6, 10], b: [4, 3, 10], transposeA: false, transposeB: true },
];

function values(shape: number[], seed: number, oneHot = false): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(shape.reduce((n, d) => n * d, 1));
  if (!oneHot) return out.map(() => rand() * 2 - 1);
  // Rows like the flights encoding: one standardised number, then one hot slot in each of 4 groups.
  const cols = shape[shape.length - 1]!;
  for (let r = 0; r < out.length / cols; r++) {
    out[r * cols] = rand() * 2 - 1;
    for (const [start, width] of [
      [1, 101],
      [102, 101],
      [203, 24],
      [227, 7],
    ] as const)
      out[r * cols + start + Math.floor(rand() * width)] = 1;
  }
  return out;
}

async function products(): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const [i, c] of CASES.entries()) {
    const product = tf.tidy(() =>
      tf.matMul(tf.tensor(values(c.a, 2 * i + 1, c.oneHotA), c.a), tf.tensor(values(c.b, 2 * i + 2), c.b), c.transposeA, c.transposeB),
    );
    out.push((await product.data()) as Float32Array);
    product.dispose();
  }
  return out;
}

test('transposed products on the patched wasm kernel equal the cpu backend', async () => {
  await tf.setBackend('cpu');
  const expected = await products();
  installFastTransposedMatMul();
  expect(await tf.setBackend('wasm')).toBe(true);
  const actual = await products();
  CASES.forEach((c, i) => {
    expect({ case: c.name, length: actual[i]!.length }).toEqual({ case: c.name, length: expected[i]!.length });
    actual[i]!.forEach((v, j) => expect(Math.abs(v - expected[i]![j]!)).toBeLessThan(1e-4));
  });
  // Nothing leaks: the kernel's temporaries live only in the backend, so count its buffers.
  const before = tf.engine().backend.numDataIds();
  await products();
  expect(tf.engine().backend.numDataIds()).toBe(before);
});

test('gradients through a dense layer match the cpu backend', async () => {
  const x = values([64, 12], 7);
  const w = values([12, 5], 8);
  const grads = async (): Promise<Float32Array[]> => {
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.relu(tf.matMul(a, b))));
    const [ga, gb] = g([tf.tensor2d(x, [64, 12]), tf.tensor2d(w, [12, 5])]);
    return [(await ga!.data()) as Float32Array, (await gb!.data()) as Float32Array];
  };
  await tf.setBackend('cpu');
  const expected = await grads();
  await tf.setBackend('wasm');
  const actual = await grads();
  for (let k = 0; k < 2; k++) actual[k]!.forEach((v, j) => expect(Math.abs(v - expected[k]![j]!)).toBeLessThan(1e-4));
});
