import { spawn } from 'node:child_process';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { FeatureEncoder, type FittedTransform } from '../lib/features/transform';
import { initBackend, type BackendChoice } from '../lib/models/backend';
import { buildDenseModel } from '../lib/models/build-model';
import { deriveSeed, mulberry32 } from '../lib/random';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import { modelSpecSchema } from '../lib/spec/model-spec';
import { recordResult } from './record';

/**
 * Training throughput of the pipeline's own model on each TensorFlow.js backend, with wasm (the
 * default) as the baseline measured in the same run. Each backend runs in its own child process
 * (this script again, with BENCH_CHILD set): tfjs holds one backend per process, and a fresh
 * process keeps one backend's JIT, memory and GPU state out of another's timings.
 *
 * Env: BENCH_BACKENDS (comma list of wasm, webgpu, tensorflow, cpu; default all, failures are
 * reported), BENCH_ROWS (default 1,000,000), BENCH_WARMUP batches (default 3, untimed),
 * BENCH_MAX_SECONDS per run (default 60: stops early, throughput is over the rows it did),
 * BENCH_SWEEP batch sizes for webgpu (default 4096,16384,65536), BENCH_CHILD_TIMEOUT_S (default 300),
 * BENCH_OUT (a folder that also gets train-backends.json, rewritten after every run so a killed
 * bench still leaves what it measured).
 */

// wasm first: it is the baseline, and it is measured even if a later backend hangs.
const ALL: BackendChoice[] = ['wasm', 'webgpu', 'tensorflow', 'cpu'];
const MODEL: PipelineSpec['model'] = modelSpecSchema.parse({ type: 'mlp', hidden: [32], batchSize: 4096, learningRate: 0.005, seed: 7, epochs: 1 });
// The flights encoding: standardised distance, one-hot origin (top 100 + other), destination, hour,
// weekday. Batches are expanded by the pipeline's own FeatureEncoder, as trainEpoch does.
const vocabulary = Array.from({ length: 100 }, (_, i) => `A${i}`);
const TRANSFORM: FittedTransform = {
  format: 'pipewright.transform/v1',
  key: 'id',
  label: { column: 'delay', greaterThan: 15 },
  split: { testFraction: 0.2, seed: 42 },
  features: [
    { kind: 'numeric', name: 'distance', column: 'distance', offset: 0, width: 1, mean: 0, std: 1 },
    { kind: 'categorical', name: 'origin', column: 'origin', offset: 1, width: 101, vocabulary },
    { kind: 'categorical', name: 'destination', column: 'destination', offset: 102, width: 101, vocabulary },
    { kind: 'hourOfDay', name: 'hour', column: 'date', offset: 203, width: 24 },
    { kind: 'dayOfWeek', name: 'day_of_week', column: 'date', offset: 227, width: 7 },
  ],
  inputDim: 234,
  trainRows: 0,
};
const ONE_HOT = TRANSFORM.features.slice(1).map((f) => f.width);
const FEATURES = TRANSFORM.features.length;
const INPUT_DIM = TRANSFORM.inputDim;

interface Run {
  backend: string;
  choice: BackendChoice;
  batchSize: number;
  rows: number;
  batches: number;
  seconds: number;
  samplesPerSec: number;
  msPerBatch: { mean: number; p50: number; max: number };
  buildShare: number;
  initSeconds: number;
  firstBatchSeconds: number;
  meanLoss: number;
  finalLoss: number;
}
interface Failure {
  choice: BackendChoice;
  batchSize: number;
  error: string;
}

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/** Seeded rows in code form (one code per feature, as encoded shards hold them) with their labels. */
function syntheticRows(rows: number) {
  const rand = mulberry32(deriveSeed(MODEL.seed, 'bench-data'));
  const wRand = mulberry32(deriveSeed(MODEL.seed, 'bench-rule'));
  // Fixed logistic rule: a weight per category and for the number, so there is signal to learn.
  const weights = ONE_HOT.map((n) => Float32Array.from({ length: n }, () => (wRand() - 0.5) * 3));
  const wNum = 0.8;
  const bias = -1;
  const codes = new Float32Array(rows * FEATURES);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    // Box-Muller; categories skewed towards low codes like busy airports.
    const n = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    codes[r * FEATURES] = n;
    let logit = bias + wNum * n;
    for (let f = 0; f < ONE_HOT.length; f++) {
      const c = Math.min(ONE_HOT[f]! - 1, Math.floor(ONE_HOT[f]! * rand() ** 2));
      codes[r * FEATURES + 1 + f] = c;
      logit += weights[f]![c]!;
    }
    y[r] = rand() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { codes, y };
}

const encoder = new FeatureEncoder(TRANSFORM);

function fillBatch(data: ReturnType<typeof syntheticRows>, start: number, rows: number, x: Float32Array, y: Float32Array): void {
  x.fill(0);
  for (let i = 0; i < rows; i++) {
    const r = start + i;
    encoder.denseInto(data.codes.subarray(r * FEATURES, (r + 1) * FEATURES), x, i * INPUT_DIM);
    y[i] = data.y[r]!;
  }
}

/** One backend, one batch size, in this process. */
async function measure(choice: BackendChoice, batchSize: number): Promise<Run> {
  const requested = num('BENCH_ROWS', 1_000_000);
  const warmup = num('BENCH_WARMUP', 3);
  const maxSeconds = num('BENCH_MAX_SECONDS', 60);
  const batches = Math.floor(requested / batchSize);
  if (batches < 1) throw new Error(`BENCH_ROWS=${requested} is less than one batch of ${batchSize}`);
  const data = syntheticRows(batches * batchSize);

  let t = performance.now();
  const backend = await initBackend(choice);
  const initSeconds = (performance.now() - t) / 1000;
  const model = buildDenseModel({ ...MODEL, batchSize }, INPUT_DIM);
  const optimizer = tf.train.adam(MODEL.learningRate);
  model.compile({ optimizer, loss: 'binaryCrossentropy' });
  const x = new Float32Array(batchSize * INPUT_DIM);
  const y = new Float32Array(batchSize);
  // Same loop body as trainEpoch: build a dense batch, upload, train, read the loss back.
  const step = async (b: number): Promise<[number, number]> => {
    const t0 = performance.now();
    fillBatch(data, (b % batches) * batchSize, batchSize, x, y);
    const t1 = performance.now();
    const xs = tf.tensor2d(x, [batchSize, INPUT_DIM]);
    const ys = tf.tensor2d(y, [batchSize, 1]);
    const loss = (await model.trainOnBatch(xs, ys)) as number;
    xs.dispose();
    ys.dispose();
    return [loss, t1 - t0];
  };

  // The first batch compiles kernels (shaders on webgpu): reported apart, never timed.
  let firstBatchSeconds = 0;
  for (let b = 0; b < warmup; b++) {
    t = performance.now();
    await step(b);
    if (b === 0) firstBatchSeconds = (performance.now() - t) / 1000;
  }

  const times: number[] = [];
  let lossSum = 0;
  let finalLoss = NaN;
  let buildMs = 0;
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    const [loss, build] = await step(b);
    times.push(performance.now() - t0);
    buildMs += build;
    lossSum += loss;
    finalLoss = loss;
    if (performance.now() - started > maxSeconds * 1000) break;
  }
  const ms = performance.now() - started;
  model.dispose();
  optimizer.dispose();
  const sorted = [...times].sort((a, b) => a - b);
  const rows = times.length * batchSize;
  return {
    backend,
    choice,
    batchSize,
    rows,
    batches: times.length,
    seconds: ms / 1000,
    samplesPerSec: rows / (ms / 1000),
    msPerBatch: { mean: ms / times.length, p50: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]! },
    buildShare: buildMs / ms,
    initSeconds,
    firstBatchSeconds,
    meanLoss: lossSum / times.length,
    finalLoss,
  };
}

/** Why webgpu found no adapter, in one line: the usual cause is a missing Vulkan loader or ICD. */
function vulkanHint(): string {
  if (process.platform !== 'linux') return '';
  const libDirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/lib/x86_64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
  ];
  const find = (lib: string) => libDirs.find((d) => existsSync(path.join(d, lib)));
  const icds = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'].flatMap((d) => {
    try {
      return readdirSync(d).map((f) => path.join(d, f));
    } catch {
      return [];
    }
  });
  return ` [libvulkan.so.1: ${find('libvulkan.so.1') ?? 'not found'}; libGLX_nvidia.so.0 (NVIDIA's Vulkan driver): ${find('libGLX_nvidia.so.0') ?? 'not found'}; ICDs: ${icds.join(', ') || 'none'}${process.env.VK_ICD_FILENAMES ? `; VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}` : ''}; /dev/nvidiactl: ${existsSync('/dev/nvidiactl')}]`;
}

/**
 * The gpu pool trains in a worker thread (lib/threads), not on the main thread: a native addon that
 * cannot load in a thread (Dawn included) would silently leave the pool on wasm. This measures there.
 */
function measureInThread(choice: BackendChoice, batchSize: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(__filename, { workerData: { choice, batchSize } });
    thread.once('message', (m: { run?: Run; error?: string }) =>
      m.run ? resolve({ ...m.run, backend: `${m.run.backend} [thread]` }) : reject(new Error(m.error ?? 'no result from the thread')),
    );
    thread.once('error', reject);
  });
}

async function child(choice: BackendChoice, batchSize: number, resultFile: string): Promise<void> {
  let out: { run?: Run; error?: string };
  try {
    out = { run: process.env.BENCH_IN_THREAD ? await measureInThread(choice, batchSize) : await measure(choice, batchSize) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);
    out = { error: message + (choice === 'webgpu' ? vulkanHint() : '') };
  }
  writeFileSync(resultFile, JSON.stringify(out));
  // A live Dawn instance keeps the event loop alive; this process is done.
  process.exit(0);
}

function runChild(choice: BackendChoice, batchSize: number, dir: string, inThread = false): Promise<Run | Failure> {
  const resultFile = path.join(dir, `${choice}-${batchSize}${inThread ? '-thread' : ''}.json`);
  const timeoutS = num('BENCH_CHILD_TIMEOUT_S', 300);
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [...process.execArgv, __filename], {
      env: {
        ...process.env,
        BENCH_CHILD: choice,
        BENCH_BATCH: String(batchSize),
        BENCH_RESULT_FILE: resultFile,
        ...(inThread ? { BENCH_IN_THREAD: '1' } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutS * 1000);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      let out: { run?: Run; error?: string } = {};
      try {
        out = JSON.parse(readFileSync(resultFile, 'utf8'));
      } catch {
        out.error = signal === 'SIGKILL' ? `timed out after ${timeoutS}s` : `child exited (code ${code}, signal ${signal}) without a result`;
      }
      resolve(out.run ?? { choice, batchSize, error: `${inThread ? '[thread] ' : ''}${out.error ?? 'no result'}` });
    });
  });
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const choices = (process.env.BENCH_BACKENDS ?? ALL.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean) as BackendChoice[];
  for (const c of choices) if (!ALL.includes(c)) throw new Error(`BENCH_BACKENDS: unknown backend ${c}; use ${ALL.join(', ')}`);
  const sweep = (process.env.BENCH_SWEEP ?? '4096,16384,65536')
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-train-bench-'));
  const runs: Run[] = [];
  const failed: Failure[] = [];
  const record = (r: Run | Failure) => {
    if ('error' in r) failed.push(r);
    else runs.push(r);
    console.error(
      'error' in r
        ? `[train-backends] ${r.choice} failed: ${r.error}`
        : `[train-backends] ${r.backend} batch ${r.batchSize}: ${fmt(r.samplesPerSec)} samples/s, loss ${fmt(r.finalLoss, 4)}`,
    );
    if (process.env.BENCH_OUT) writeOut(summary(runs, failed));
  };
  try {
    for (const choice of choices) {
      console.error(`[train-backends] ${choice} batch ${MODEL.batchSize} ...`);
      const r = await runChild(choice, MODEL.batchSize, dir);
      record(r);
      if (choice === 'webgpu' && !('error' in r)) {
        for (const size of sweep.filter((s) => s !== MODEL.batchSize)) {
          console.error(`[train-backends] webgpu batch ${size} ...`);
          record(await runChild(choice, size, dir));
        }
      }
    }
    // Once more in a worker thread, where the gpu pool really trains.
    for (const choice of ['wasm', 'webgpu'] as const) {
      if (!runs.some((r) => r.choice === choice)) continue;
      console.error(`[train-backends] ${choice} batch ${MODEL.batchSize} in a worker thread ...`);
      record(await runChild(choice, MODEL.batchSize, dir, true));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const result = summary(runs, failed);
  const vsWasm = (r: Run) => (result.baseline ? r.samplesPerSec / result.baseline.samplesPerSec : null);
  const header = ['backend', 'batch', 'rows', 'samples/s', 'ms/batch (mean/p50)', 'first batch s', 'mean loss', 'final loss', 'vs wasm'];
  const table = runs.map((r) => [
    r.backend,
    String(r.batchSize),
    fmt(r.rows),
    fmt(r.samplesPerSec),
    `${fmt(r.msPerBatch.mean, 1)} / ${fmt(r.msPerBatch.p50, 1)}`,
    fmt(r.firstBatchSeconds, 2),
    fmt(r.meanLoss, 4),
    fmt(r.finalLoss, 4),
    vsWasm(r) === null ? 'n/a' : `${fmt(vsWasm(r)!, 2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\nTraining throughput, mlp [32] on ${INPUT_DIM} inputs, Adam lr ${MODEL.learningRate}; ${os.cpus().length}x ${os.cpus()[0]?.model ?? 'cpu'}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of table) console.log(line(row));
  for (const f of failed) console.log(`failed: ${f.choice} (batch ${f.batchSize}): ${f.error}`);
  if (!result.baseline) console.log('no wasm baseline in this run: ratios are n/a');
  // BENCH_LABEL names a run on another machine (e.g. h200) so it does not replace this one's.
  const name = process.env.BENCH_LABEL ? `train-backends-${process.env.BENCH_LABEL}` : 'train-backends';
  await recordResult(name, result, process.env.BENCH_OUT);
}

function summary(runs: Run[], failed: Failure[]) {
  const wasm = runs.find((r) => r.choice === 'wasm' && r.batchSize === MODEL.batchSize);
  return {
    model: MODEL,
    inputDim: INPUT_DIM,
    requestedRows: num('BENCH_ROWS', 1_000_000),
    warmupBatches: num('BENCH_WARMUP', 3),
    maxSecondsPerRun: num('BENCH_MAX_SECONDS', 60),
    baseline: wasm ? { backend: 'wasm', batchSize: wasm.batchSize, samplesPerSec: wasm.samplesPerSec } : null,
    runs: runs.map((r) => ({ ...r, vsWasm: wasm ? r.samplesPerSec / wasm.samplesPerSec : null })),
    failed,
    headline: headline(runs, wasm),
  };
}

/** One line for bench/README.md: samples/s of every run and its ratio to wasm at the same batch size or larger. */
function headline(runs: Run[], wasm: Run | undefined): string {
  const parts = runs.map(
    (r) =>
      `${r.choice}${r.backend.endsWith('[thread]') ? '[thread]' : ''}@${r.batchSize} ${fmt(r.samplesPerSec)}/s${wasm && r !== wasm ? ` (${fmt(r.samplesPerSec / wasm.samplesPerSec, 2)}×)` : ''}`,
  );
  return parts.length ? `samples/s, × wasm@${MODEL.batchSize}: ${parts.join(', ')}` : 'no backend initialised';
}

function writeOut(result: ReturnType<typeof summary>): string {
  const file = path.join(process.env.BENCH_OUT!, 'train-backends.partial.json');
  mkdirSync(process.env.BENCH_OUT!, { recursive: true });
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

if (!isMainThread && (workerData as { choice?: BackendChoice } | null)?.choice) {
  const { choice, batchSize } = workerData as { choice: BackendChoice; batchSize: number };
  measure(choice, batchSize).then(
    (run) => parentPort!.postMessage({ run }),
    (err: unknown) => parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) }),
  );
} else if (process.env.BENCH_CHILD) {
  void child(process.env.BENCH_CHILD as BackendChoice, num('BENCH_BATCH', MODEL.batchSize), process.env.BENCH_RESULT_FILE!);
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
