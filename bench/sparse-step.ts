import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { FeatureEncoder } from '../lib/features/feature-encoder';
import type { FittedTransform } from '../lib/features/transform-format';
import { createAdam } from '../lib/models/adam';
import { initBackend, type BackendChoice } from '../lib/models/backend';
import { buildDenseModel, buildModel, fastLossFor, lossFor, modelInputs, setTrainingStep } from '../lib/models/build-model';
import { deriveSeed, mulberry32 } from '../lib/random';
import { modelSpecSchema, type ModelSpec } from '../lib/spec/model-spec';
import { recordResult } from './record';

/**
 * Training-step throughput of the sparse model input against the dense one-hot input it replaced,
 * on one backend (default wasm, one thread), for the flights-like transform of train-backends
 * (inputDim 234: distance, origin and destination top 100, hour, weekday) and a wider one (topK
 * 300 airports: inputDim 634), at batches of 1024 and 4096. A step is what the trainer does per
 * batch: encode the batch from its codes, upload it, model.trainOnBatch, read the loss.
 *
 *   dense      the old path: denseInto rows, a Sequential of dense layers, tf.train.adam, 'binaryCrossentropy'
 *   stock      buildModel's sparse model with tf.train.adam and lossFor (string losses)
 *   fused      the same model with createAdam (one kernel per variable update) and fastLossFor
 *              (binary cross-entropy as one kernel each way)
 *
 * Also counts the kernels one step dispatches (tf.profile): on wasm each costs a few microseconds
 * of JavaScript whatever its size, which is what bounds a small model's step.
 *
 * Env: BENCH_BACKEND (wasm), BENCH_SECONDS per case (default 3), BENCH_WARMUP steps (default 15),
 * BENCH_BATCHES (default 1024,4096), BENCH_DIMS (default 234,634), BENCH_ONLY (";"-separated
 * "model/path" prefixes, e.g. "logistic;mlp [64,32]/fused"), BENCH_OUT (a folder that also gets
 * sparse-step.json).
 * Run: npm run build && node dist/bench/sparse-step.js
 */

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

function flightsTransform(topK: number): FittedTransform {
  const vocabulary = Array.from({ length: topK }, (_, i) => `A${i}`);
  const w = topK + 1;
  return {
    format: 'pipewright.transform/v1',
    key: 'id',
    label: { column: 'delay', greaterThan: 15 },
    split: { testFraction: 0.2, seed: 42 },
    features: [
      { kind: 'numeric', name: 'distance', column: 'distance', offset: 0, width: 1, mean: 0, std: 1 },
      { kind: 'categorical', name: 'origin', column: 'origin', offset: 1, width: w, vocabulary },
      { kind: 'categorical', name: 'destination', column: 'destination', offset: 1 + w, width: w, vocabulary },
      { kind: 'hourOfDay', name: 'hour', column: 'date', offset: 1 + 2 * w, width: 24 },
      { kind: 'dayOfWeek', name: 'day_of_week', column: 'date', offset: 25 + 2 * w, width: 7 },
    ],
    inputDim: 32 + 2 * w,
    trainRows: 0,
  };
}

/** Seeded rows in code form with labels from a fixed logistic rule (as train-backends makes them). */
function syntheticRows(transform: FittedTransform, rows: number) {
  const rand = mulberry32(deriveSeed(7, 'bench-data'));
  const wRand = mulberry32(deriveSeed(7, 'bench-rule'));
  const oneHot = transform.features.slice(1).map((f) => f.width);
  const weights = oneHot.map((n) => Float32Array.from({ length: n }, () => (wRand() - 0.5) * 3));
  const features = transform.features.length;
  const codes = new Float32Array(rows * features);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const n = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    codes[r * features] = n;
    let logit = -1 + 0.8 * n;
    for (let f = 0; f < oneHot.length; f++) {
      const c = Math.min(oneHot[f]! - 1, Math.floor(oneHot[f]! * rand() ** 2));
      codes[r * features + 1 + f] = c;
      logit += weights[f]![c]!;
    }
    y[r] = rand() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { codes, y };
}

type Path = 'dense' | 'stock' | 'fused';

interface Case {
  model: string;
  spec: ModelSpec;
  path: Path;
}

const spec = (m: object): ModelSpec => modelSpecSchema.parse({ learningRate: 0.005, seed: 7, ...m });

const CASES: Case[] = [
  { model: 'mlp [32]', spec: spec({ type: 'mlp', hidden: [32] }), path: 'dense' },
  { model: 'mlp [32]', spec: spec({ type: 'mlp', hidden: [32] }), path: 'stock' },
  { model: 'mlp [32]', spec: spec({ type: 'mlp', hidden: [32] }), path: 'fused' },
  { model: 'mlp [64,32]', spec: spec({ type: 'mlp', hidden: [64, 32] }), path: 'stock' },
  { model: 'mlp [64,32]', spec: spec({ type: 'mlp', hidden: [64, 32] }), path: 'fused' },
  { model: 'logistic', spec: spec({ type: 'logistic' }), path: 'stock' },
  { model: 'logistic', spec: spec({ type: 'logistic' }), path: 'fused' },
  { model: 'wideDeep [64,32]', spec: spec({ type: 'wideDeep', hidden: [64, 32] }), path: 'stock' },
  { model: 'wideDeep [64,32]', spec: spec({ type: 'wideDeep', hidden: [64, 32] }), path: 'fused' },
];

interface Row {
  inputDim: number;
  batchSize: number;
  model: string;
  path: Path;
  samplesPerSec: number;
  msPerStep: number;
  /** Process CPU time per step (user + system): on a shared machine, closer to the step's own cost than wall time. */
  cpuMsPerStep: number;
  /** batchSize / (CPU ms per step of the best 0.5 s window): the throughput of an otherwise idle core, approximately. */
  samplesPerCpuSec: number;
  /** Share of the step spent building the batch in JavaScript (encode + upload). */
  batchShare: number;
  kernelsPerStep: number;
  finalLoss: number;
}

async function measure(transform: FittedTransform, c: Case, batchSize: number): Promise<Row> {
  const encoder = new FeatureEncoder(transform);
  const dim = transform.inputDim;
  const nnz = encoder.nonZerosPerRow;
  const features = transform.features.length;
  const batches = 16;
  const data = syntheticRows(transform, batches * batchSize);
  const head = { task: 'binary' as const, units: 1 };
  const model: tfl.LayersModel = c.path === 'dense' ? buildDenseModel(c.spec, dim) : buildModel(c.spec, transform, head);
  const optimizer = c.path === 'fused' ? createAdam(c.spec.learningRate) : tf.train.adam(c.spec.learningRate);
  model.compile({ optimizer, loss: c.path === 'fused' ? fastLossFor('binary') : lossFor('binary') });
  const x = new Float32Array(c.path === 'dense' ? batchSize * dim : 0);
  const slots = new Int32Array(batchSize * nnz);
  const values = new Float32Array(batchSize * nnz);
  const y = new Float32Array(batchSize);
  let batchMs = 0;
  const step = async (s: number): Promise<number> => {
    const t0 = performance.now();
    const start = (s % batches) * batchSize;
    const codes = data.codes.subarray(start * features, (start + batchSize) * features);
    if (c.path === 'dense') {
      x.fill(0);
      for (let i = 0; i < batchSize; i++) encoder.denseInto(codes.subarray(i * features, (i + 1) * features), x, i * dim);
    } else {
      for (let i = 0; i < batchSize; i++) encoder.sparseInto(codes.subarray(i * features, (i + 1) * features), slots, values, i * nnz);
    }
    y.set(data.y.subarray(start, start + batchSize));
    const xs = c.path === 'dense' ? [tf.tensor2d(x, [batchSize, dim])] : modelInputs(model, transform, { rows: batchSize, slots, values, codes });
    const ys = tf.tensor2d(y, [batchSize, 1]);
    batchMs += performance.now() - t0;
    setTrainingStep(s);
    const loss = (await model.trainOnBatch(xs.length === 1 ? xs[0]! : xs, ys)) as number;
    tf.dispose([...xs, ys]);
    return loss;
  };
  const warmup = num('BENCH_WARMUP', 15);
  for (let s = 0; s < warmup; s++) await step(s);
  const profile = await tf.profile(() => step(warmup));
  batchMs = 0;
  const seconds = num('BENCH_SECONDS', 3);
  let steps = 0;
  let loss = NaN;
  const cpu = process.cpuUsage();
  const started = performance.now();
  // Also the best of ~0.5 s windows in CPU time: other processes on a shared machine inflate
  // both clocks, the best window least.
  let bestCpuMsPerStep = Infinity;
  while (performance.now() - started < seconds * 1000) {
    const windowCpu = process.cpuUsage();
    const windowStart = performance.now();
    let windowSteps = 0;
    while (performance.now() - windowStart < 500) {
      loss = await step(warmup + 1 + steps++);
      windowSteps++;
    }
    const used = process.cpuUsage(windowCpu);
    bestCpuMsPerStep = Math.min(bestCpuMsPerStep, (used.user + used.system) / 1000 / windowSteps);
  }
  const ms = performance.now() - started;
  const cpuUsed = process.cpuUsage(cpu);
  const cpuMs = (cpuUsed.user + cpuUsed.system) / 1000;
  model.dispose();
  optimizer.dispose();
  return {
    inputDim: dim,
    batchSize,
    model: c.model,
    path: c.path,
    samplesPerSec: Math.round((steps * batchSize) / (ms / 1000)),
    msPerStep: ms / steps,
    cpuMsPerStep: cpuMs / steps,
    samplesPerCpuSec: Math.round(batchSize / (bestCpuMsPerStep / 1000)),
    batchShare: batchMs / ms,
    kernelsPerStep: profile.kernels.length,
    finalLoss: loss,
  };
}

async function main(): Promise<void> {
  const choice = (process.env.BENCH_BACKEND ?? 'wasm') as BackendChoice;
  const backend = await initBackend(choice);
  const batchSizes = (process.env.BENCH_BATCHES ?? '1024,4096').split(',').map(Number);
  const rows: Row[] = [];
  console.log(`backend ${backend}`);
  console.log('inputDim | batch | model            | path  | samples/s | ms/step | cpu ms/step | best samples/cpu-s | batch build | kernels/step | loss');
  const dims = (process.env.BENCH_DIMS ?? '234,634').split(',').map(Number);
  for (const topK of [100, 300]) {
    const transform = flightsTransform(topK);
    if (!dims.includes(transform.inputDim)) continue;
    for (const batchSize of batchSizes) {
      for (const c of CASES.filter((k) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(';').some((o) => `${k.model}/${k.path}`.startsWith(o)))) {
        const r = await measure(transform, c, batchSize);
        rows.push(r);
        console.log(
          `${String(r.inputDim).padStart(8)} | ${String(r.batchSize).padStart(5)} | ${r.model.padEnd(16)} | ${r.path.padEnd(5)} | ${String(r.samplesPerSec).padStart(9)} | ${r.msPerStep.toFixed(2).padStart(7)} | ${r.cpuMsPerStep.toFixed(2).padStart(11)} | ${String(r.samplesPerCpuSec).padStart(18)} | ${(100 * r.batchShare).toFixed(0).padStart(10)}% | ${String(r.kernelsPerStep).padStart(12)} | ${r.finalLoss.toFixed(3)}`,
        );
      }
    }
  }
  const at = (model: string, path: Path) => {
    const r = rows.find((x) => x.inputDim === 234 && x.batchSize === 1024 && x.model === model && x.path === path);
    return r ? `${r.samplesPerSec} (${r.samplesPerCpuSec} per CPU-second)` : 'not run';
  };
  const headline = `${backend}, batch 1024, inputDim 234, samples/s: mlp [64,32] ${at('mlp [64,32]', 'fused')}, logistic ${at('logistic', 'fused')}, mlp [32] sparse ${at('mlp [32]', 'fused')} vs dense ${at('mlp [32]', 'dense')}`;
  console.log(headline);
  await recordResult('sparse-step', { backend, headline, rows }, process.env.BENCH_OUT);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
