import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labelHead } from '../lib/features/label-task';
import type { FittedTransform } from '../lib/features/transform';
import { fileStoreSettings, readArtifactJson } from '../lib/artifacts/artifact-store';
import { rocAuc } from '../lib/evaluation/classification-metrics';
import { loadSavedModel } from '../lib/models/model-io';
import { predictSplit } from '../lib/models/predict';
import type { ModelSpec } from '../lib/spec/model-spec';
import { planTraining } from '../lib/training/plan-training';
import { trainShards, type TrainShardsTask } from '../lib/training/train-shards';
import type { TrainingData } from './training-data';

/**
 * One in-process training case of bench/training.ts, in a process of its own (tfjs holds one
 * backend per process; PIPEWRIGHT_TF_BACKEND picks it): the pipeline's own trainShards task over
 * every train batch of the encoded shards, as one data-parallel worker trains a whole epoch, then
 * test AUC of the checkpoint it wrote (predictSplit + rocAuc, as evaluation does).
 *
 * A short probe (trainShards over the first PROBE_BATCHES batches, which also warms the JIT and the
 * backend) estimates the epoch's time; a backend that would take longer than `maxSeconds` (the cpu
 * backend) trains only the batches that fit, and the result says so (`partial`).
 *
 * Run by bench/training.ts with BENCH_CASE (JSON of CaseInput) and BENCH_RESULT_FILE.
 */

export interface CaseInput {
  /** Label of the model, e.g. "mlp [64,32]". */
  label: string;
  model: ModelSpec;
  /** training-data.json of bench/training-data.ts. */
  manifest: string;
  maxSeconds: number;
}

export interface CaseResult {
  label: string;
  type: string;
  hidden: number[];
  batchSize: number;
  learningRate: number;
  /** What initBackend chose. */
  backend: string;
  /** Train batches of the whole epoch, and how many were trained (fewer when partial). */
  epochBatches: number;
  batches: number;
  partial: boolean;
  samples: number;
  /** samples / seconds between the first and the last batch's progress report: the training loop, mid-epoch checkpoints included. */
  loopSamplesPerSec: number;
  /**
   * Samples/s of each run of checkpointEveryBatches batches (one mid-epoch checkpoint in each;
   * train_flights.py measures PyTorch's over runs of 100 batches): the
   * median is robust to a short burst of another process on the machine, the best is the loop with
   * the cores to itself. Null under 3 windows.
   */
  windowSamplesPerSec: { best: number; median: number; windows: number } | null;
  /** samples / the task's own seconds (model build, first batch, final checkpoint included). */
  taskSamplesPerSec: number;
  taskSeconds: number;
  /** Process CPU seconds per wall second during the loop: about 1 for one busy thread with a core to itself. */
  loopCpuPerWall: number;
  meanLoss: number;
  testAuc: number;
  testRows: number;
  evalSeconds: number;
  /** 1-minute load average before the case started. */
  loadAverage: number;
}

const PROBE_BATCHES = 20;

function windowRates(marks: Array<{ at: number; samples: number }>): CaseResult['windowSamplesPerSec'] {
  const rates: number[] = [];
  for (let i = 1; i < marks.length; i++) rates.push((marks[i]!.samples - marks[i - 1]!.samples) / ((marks[i]!.at - marks[i - 1]!.at) / 1000));
  if (rates.length < 3) return null;
  rates.sort((a, b) => a - b);
  return { best: rates[rates.length - 1]!, median: rates[Math.floor(rates.length / 2)]!, windows: rates.length };
}

async function runCase(input: CaseInput): Promise<CaseResult> {
  const data = JSON.parse(readFileSync(input.manifest, 'utf8')) as TrainingData;
  const spec: ModelSpec = { ...input.model, parallelism: { workers: 1, roundsPerEpoch: 1, share: 'shards' } };
  const plan = await planTraining({ model: spec, transform: data.transform, shards: data.shards });
  const epochBatches = plan.batches[0]!;
  const artifactRoot = mkdtempSync(path.join(os.tmpdir(), 'pipewright-bench-training-'));
  try {
    const task = (toBatch: number): TrainShardsTask => ({
      model: spec,
      transform: data.transform,
      shards: data.shards,
      epoch: 0,
      round: 0,
      worker: 0,
      fromBatch: 0,
      toBatch,
      batchesPerEpoch: epochBatches,
      artifactStore: fileStoreSettings(artifactRoot),
    });
    const loadAverage = os.loadavg()[0]!;
    // Probe: warms up, and tells whether a whole epoch fits in maxSeconds.
    const probeBatches = Math.min(epochBatches, PROBE_BATCHES);
    const probeMarks: number[] = [];
    await trainShards(task(probeBatches), () => probeMarks.push(performance.now()));
    const perBatchMs = probeMarks.length > 2 ? (probeMarks[probeMarks.length - 1]! - probeMarks[1]!) / (probeMarks.length - 2) : 0;
    const fits = perBatchMs === 0 ? epochBatches : Math.floor((input.maxSeconds * 1000) / perBatchMs);
    const toBatch = Math.max(probeBatches, Math.min(epochBatches, fits));

    let first: { at: number; samples: number; cpu: NodeJS.CpuUsage } | undefined;
    let last = { at: 0, samples: 0 };
    let cpuAtLast: NodeJS.CpuUsage | undefined;
    // Every checkpointEveryBatches batches: when, and the samples so far (for windowRates).
    const marks: Array<{ at: number; samples: number }> = [];
    let calls = 0;
    const result = await trainShards(task(toBatch), (samples) => {
      const at = performance.now();
      if (!first) first = { at, samples, cpu: process.cpuUsage() };
      else last = { at, samples };
      cpuAtLast = process.cpuUsage(first.cpu);
      if (calls++ % spec.checkpointEveryBatches === 0) marks.push({ at, samples });
    });
    const loopSeconds = (last.at - first!.at) / 1000;
    const loopSamples = last.samples - first!.samples;
    const cpu = cpuAtLast ? (cpuAtLast.user + cpuAtLast.system) / 1e6 : 0;

    // Test AUC of what the epoch wrote, as the evaluate stage computes it.
    const evalStart = performance.now();
    const transform = await readArtifactJson<FittedTransform>(data.transform);
    if (labelHead(transform).task !== 'binary') throw new Error('bench/training.ts measures binary labels (test AUC)');
    const { model } = await loadSavedModel(result.checkpoint, transform);
    const scores: Float32Array[] = [];
    const labels: Float32Array[] = [];
    await predictSplit(model, transform, data.shards, 'test', (outputs, y, n) => {
      scores.push(outputs.slice(0, n));
      labels.push(y.slice(0, n));
    });
    model.dispose();
    const concat = (parts: Float32Array[]): Float32Array => {
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    const y = concat(labels);
    const testAuc = rocAuc(y, concat(scores));
    const evalSeconds = (performance.now() - evalStart) / 1000;

    return {
      label: input.label,
      type: spec.type,
      hidden: spec.hidden ?? [],
      batchSize: spec.batchSize,
      learningRate: spec.learningRate,
      backend: result.backend,
      epochBatches,
      batches: result.batches,
      partial: result.batches < epochBatches,
      samples: result.samples,
      loopSamplesPerSec: loopSamples / loopSeconds,
      windowSamplesPerSec: windowRates(marks),
      taskSamplesPerSec: result.samples / result.seconds,
      taskSeconds: result.seconds,
      loopCpuPerWall: cpu / loopSeconds,
      meanLoss: result.lossSum / result.samples,
      testAuc,
      testRows: y.length,
      evalSeconds,
      loadAverage,
    };
  } finally {
    rmSync(artifactRoot, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const input = JSON.parse(process.env.BENCH_CASE ?? '') as CaseInput;
  let out: { result?: CaseResult; error?: string };
  try {
    out = { result: await runCase(input) };
  } catch (err) {
    out = { error: err instanceof Error ? err.message : String(err) };
  }
  writeFileSync(process.env.BENCH_RESULT_FILE!, JSON.stringify(out));
  // A live Dawn instance (webgpu) keeps the event loop alive; this process is done.
  process.exit(0);
}

if (require.main === module) void main();
