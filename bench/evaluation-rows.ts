import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MetricStateRef } from '../contracts/evaluation';
import type { EvaluationMetrics, ModelRef } from '../contracts/refs';
import { binaryMetricsOf } from '../lib/evaluation/metrics-summary';
import type { ModelSpec } from '../lib/spec/model-spec';
import { runInThread } from '../lib/threads/run-in-thread';
import { inParallel, measure } from './data-plane-util';
import type { TrainingData } from './training-data';
import { fileStoreSettings } from '../lib/artifacts/artifact-store';

/**
 * Part 1 of bench/evaluation.ts: scoring the flights test split, two ways, on the same model and
 * encoded shards. (a) the old single-task evaluation, `evaluateModel` over every shard in one
 * thread; (b) the pipeline's path, one `evaluateShard` per shard in worker threads, at most
 * `threads` at once (as the eval pool's slots allow, one per core), then `mergeEvaluation`. Both
 * paths start fresh threads as the pool does (model tasks never reuse one), so each pays
 * TensorFlow.js's start-up once per task. (b) also runs one task at a time, which separates what
 * the tasks cost from what running them side by side gains. The runs alternate; each one's fastest
 * try is reported.
 */

export interface RowsOptions {
  data: TrainingData;
  /** The model section to train the scored model with (its quality does not matter). */
  model: ModelSpec;
  /** Train batches of the short training that makes the model. */
  trainBatches: number;
  /** evaluateShard tasks at once. */
  threads: number;
  repeats: number;
  log: (line: string) => void;
}

export interface RowsTry {
  seconds: number;
  /** (b) only: the shards' scoring, then the merge. */
  scoreSeconds?: number;
  mergeSeconds?: number;
  /**
   * Per scoring task, seconds from asking for it to its first scored batch: the thread's start,
   * TensorFlow.js's, the model's load. The pipeline pays it once per evaluateShard activity.
   */
  startupSeconds: number[];
  loadAverage: number;
}

export interface RowsResult {
  testRows: number;
  shards: number;
  threads: number;
  backend: string;
  model: { type: string; hidden: number[]; trainedBatches: number; trainSamples: number };
  /** (a): the fastest try, every try in `tries`. */
  single: { seconds: number; rowsPerSec: number; startupSeconds: number; tries: RowsTry[]; metrics: EvaluationMetrics };
  /** (b): the fastest try (scoring + merge), every try in `tries`. */
  sharded: {
    seconds: number;
    rowsPerSec: number;
    scoreSeconds: number;
    mergeSeconds: number;
    /** The median over the fastest try's tasks of RowsTry.startupSeconds. */
    startupSeconds: number;
    tries: RowsTry[];
    metrics: EvaluationMetrics;
  };
  /** (b) with one task at a time (when `threads` > 1): separates the tasks' own cost from running them side by side. */
  shardedOneThread?: RowsResult['sharded'];
  /** sharded rows/s over single rows/s. */
  speedup: number;
  auc: { single: number; sharded: number; difference: number };
}

/** A short single-worker training (a fraction of an epoch), so that there is a real model to score. */
async function trainModel(options: RowsOptions, artifactRoot: string): Promise<{ model: ModelRef; batches: number; type: string; hidden: number[] }> {
  const { data } = options;
  const spec: ModelSpec = { ...options.model, parallelism: { workers: 1, roundsPerEpoch: 1, share: 'shards' } };
  const plan = await runInThread('planTraining', { model: spec, transform: data.transform, shards: data.shards });
  const epochBatches = plan.batches[0]!;
  const toBatch = Math.min(epochBatches, options.trainBatches);
  options.log(`training ${spec.type} [${(spec.hidden ?? []).join(',')}] for ${toBatch} of ${epochBatches} batches (the model to score) ...`);
  const r = await runInThread('trainShards', {
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
  const model: ModelRef = {
    ...r.checkpoint,
    backend: r.backend,
    epochs: 1,
    trainSamples: r.samples,
    trainSeconds: r.seconds,
    finalLoss: r.lossSum / r.samples,
  };
  return { model, batches: r.batches, type: spec.type, hidden: spec.hidden ?? [] };
}

const aucOf = (m: EvaluationMetrics): number => binaryMetricsOf(m).auc;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs `start` with a progress callback; also returns the seconds until its first progress report. */
async function timedToFirstProgress<T>(start: (onProgress: () => void) => Promise<T>): Promise<{ value: T; startupSeconds: number }> {
  const t = performance.now();
  let first: number | undefined;
  const value = await start(() => (first ??= performance.now()));
  return { value, startupSeconds: ((first ?? performance.now()) - t) / 1000 };
}

export async function measureEvaluationRows(options: RowsOptions): Promise<RowsResult> {
  const { data, log } = options;
  const artifactRoot = mkdtempSync(path.join(os.tmpdir(), 'pipewright-bench-evaluation-'));
  try {
    const trained = await trainModel(options, artifactRoot);
    const { model } = trained;
    const testRows = data.shards.reduce((n, s) => n + s.testRows, 0);
    const singleTries: Array<RowsTry & { metrics: EvaluationMetrics; backend: string }> = [];
    const shardedTries: Array<RowsTry & { metrics: EvaluationMetrics }> = [];
    const oneThreadTries: Array<RowsTry & { metrics: EvaluationMetrics }> = [];
    /** (b) with `threads` tasks at once: every shard's evaluateShard, then the merge. */
    const sharded = async (threads: number): Promise<RowsTry & { metrics: EvaluationMetrics }> => {
      const loadAverage = os.loadavg()[0]!;
      const scored = await measure(() =>
        inParallel(data.shards, threads, (shard) =>
          timedToFirstProgress((onProgress) =>
            runInThread('evaluateShard', { artifactStore: fileStoreSettings(artifactRoot), model, transform: data.transform, shard, slices: [] }, onProgress),
          ),
        ),
      );
      const states: MetricStateRef[] = scored.value.map(({ value: { backend: _backend, ...state } }) => state);
      const startupSeconds = scored.value.map((t) => t.startupSeconds);
      const merged = await measure(() =>
        runInThread('mergeEvaluation', { artifactStore: fileStoreSettings(artifactRoot), transform: data.transform, states, slices: [] }, () => undefined),
      );
      const seconds = scored.seconds + merged.seconds;
      log(
        `  (b) evaluateShard × ${data.shards.length} on ${threads} thread${threads === 1 ? '' : 's'} + merge: ${seconds.toFixed(2)} s (merge ${merged.seconds.toFixed(2)} s), ` +
          `${Math.round(testRows / seconds).toLocaleString('en-US')} rows/s, AUC ${aucOf(merged.value.metrics).toFixed(6)}, ` +
          `to first batch ${startupSeconds.map((x) => x.toFixed(2)).join(', ')} s`,
      );
      return { seconds, scoreSeconds: scored.seconds, mergeSeconds: merged.seconds, startupSeconds, loadAverage, metrics: merged.value.metrics };
    };
    for (let i = 0; i < options.repeats; i++) {
      const loadA = os.loadavg()[0]!;
      const a = await measure(() =>
        timedToFirstProgress((onProgress) => runInThread('evaluateModel', { model, transform: data.transform, shards: data.shards }, onProgress)),
      );
      const single = a.value.value;
      singleTries.push({ seconds: a.seconds, startupSeconds: [a.value.startupSeconds], loadAverage: loadA, metrics: single, backend: single.backend });
      log(
        `  (a) evaluateModel, 1 thread: ${a.seconds.toFixed(2)} s, ${Math.round(testRows / a.seconds).toLocaleString('en-US')} rows/s, AUC ${aucOf(single).toFixed(6)}, ` +
          `to first batch ${a.value.startupSeconds.toFixed(2)} s`,
      );
      shardedTries.push(await sharded(options.threads));
      // The same tasks one at a time: what the per-task start-up costs, apart from running side by side.
      if (options.threads > 1) oneThreadTries.push(await sharded(1));
    }
    const fastest = <T extends RowsTry>(tries: T[]): T => tries.reduce((x, y) => (y.seconds < x.seconds ? y : x));
    const strip = ({ seconds, scoreSeconds, mergeSeconds, startupSeconds, loadAverage }: RowsTry): RowsTry => ({
      seconds,
      ...(scoreSeconds !== undefined ? { scoreSeconds } : {}),
      ...(mergeSeconds !== undefined ? { mergeSeconds } : {}),
      startupSeconds,
      loadAverage,
    });
    const summary = (tries: Array<RowsTry & { metrics: EvaluationMetrics }>): RowsResult['sharded'] => {
      const b = fastest(tries);
      return {
        seconds: b.seconds,
        rowsPerSec: testRows / b.seconds,
        scoreSeconds: b.scoreSeconds!,
        mergeSeconds: b.mergeSeconds!,
        startupSeconds: median(b.startupSeconds),
        tries: tries.map(strip),
        metrics: b.metrics,
      };
    };
    const a = fastest(singleTries);
    const single = {
      seconds: a.seconds,
      rowsPerSec: testRows / a.seconds,
      startupSeconds: a.startupSeconds[0]!,
      tries: singleTries.map(strip),
      metrics: a.metrics,
    };
    const b = summary(shardedTries);
    const b1 = oneThreadTries.length ? summary(oneThreadTries) : undefined;
    const auc = { single: aucOf(single.metrics), sharded: aucOf(b.metrics), difference: aucOf(b.metrics) - aucOf(single.metrics) };
    return {
      testRows,
      shards: data.shards.length,
      threads: options.threads,
      backend: a.backend,
      model: { type: trained.type, hidden: trained.hidden, trainedBatches: trained.batches, trainSamples: model.trainSamples },
      single,
      sharded: b,
      ...(b1 ? { shardedOneThread: b1 } : {}),
      speedup: b.rowsPerSec / single.rowsPerSec,
      auc,
    };
  } finally {
    rmSync(artifactRoot, { recursive: true, force: true });
  }
}
