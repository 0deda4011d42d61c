import os from 'node:os';
import type { CrossValidateInput, CrossValidationResult } from '../contracts';
import type { crossValidate } from '../workflows';
import type { StackData } from './evaluation-stack';

/**
 * Part 2 of bench/evaluation.ts: the crossValidate workflow on the stack's dataset, started with the
 * client as the pipeline would start its child, k folds all at once (the default) and one after
 * another (maxParallelFolds 1), the baseline. Same plan, seeds and data, so every fold's
 * model and metrics must come out the same both ways; the benchmark checks it.
 */

export interface CvRun {
  /** Folds at once. */
  parallel: number;
  workflowId: string;
  /** The client's wall clock, start to result. */
  seconds: number;
  loadAverage: number;
  /** CPU seconds the stack's pools and Temporal server used meanwhile, and that over cores × wall seconds. */
  stackCpuSeconds: number;
  stackCpuShare: number;
  auc: { mean: number; std: number; values: number[] };
}

export interface CvResult {
  folds: number;
  rows: number;
  model: string;
  /** The fastest run of each mode: all folds at once, then one at a time. */
  runs: CvRun[];
  /** Every run, in the order they ran. */
  tries: CvRun[];
  /** Sequential seconds over parallel seconds. */
  speedup: number;
  /** Largest difference of a fold's AUC between any two runs (0 when they agree bit for bit). */
  maxAucDifference: number;
}

/** The stack's own processes that work for a cross-validation: the pools and the Temporal server. */
const stackProcess = (name: string): boolean => name.startsWith('pool-') || name === 'temporal';

async function runCv(data: StackData, folds: number, parallel: number, log: (line: string) => void): Promise<CvRun> {
  const input: CrossValidateInput = {
    spec: data.spec,
    dataset: data.dataset,
    folds,
    stratify: true,
    queues: data.queues,
    ...(parallel < folds ? { maxParallelFolds: parallel } : {}),
  };
  const workflowId = `bench-cv-${parallel === folds ? 'parallel' : `at-most-${parallel}`}-${Date.now()}`;
  const loadAverage = os.loadavg()[0]!;
  log(`  crossValidate ${workflowId}: ${folds} folds, ${parallel} at a time ...`);
  const cpuBefore = data.cpuSeconds(stackProcess);
  const started = performance.now();
  const result: CrossValidationResult = await data.client.workflow.execute<typeof crossValidate>('crossValidate', {
    taskQueue: data.queues.orchestrator,
    workflowId,
    args: [input],
  });
  const seconds = (performance.now() - started) / 1000;
  const stackCpuSeconds = data.cpuSeconds(stackProcess) - cpuBefore;
  const stackCpuShare = stackCpuSeconds / (os.cpus().length * seconds);
  const auc = result.metrics.auc;
  if (!auc) throw new Error(`crossValidate ${workflowId} returned no AUC (is the label binary?)`);
  log(
    `  ${seconds.toFixed(1)} s, AUC ${auc.mean.toFixed(4)} ± ${auc.std.toFixed(4)} (${auc.values.map((v) => v.toFixed(4)).join(', ')}), ` +
      `stack CPU ${stackCpuSeconds.toFixed(0)} s (${(100 * stackCpuShare).toFixed(0)}% of the cores), load ${loadAverage.toFixed(1)}`,
  );
  return { parallel, workflowId, seconds, loadAverage, stackCpuSeconds, stackCpuShare, auc: { mean: auc.mean, std: auc.std, values: auc.values } };
}

/**
 * `repeats` runs of each mode in the order parallel, one at a time, one at a time, parallel, … (ABBA),
 * so that a drift in the machine's load over the benchmark weighs on both alike; each mode's fastest
 * run is reported, every run is kept.
 */
export async function measureCrossValidation(data: StackData, folds: number, repeats: number, log: (line: string) => void): Promise<CvResult> {
  const order = Array.from({ length: 2 * repeats }, (_, i) => ((i + 1) % 4 < 2 ? folds : 1));
  const tries: CvRun[] = [];
  for (const parallel of order) tries.push(await runCv(data, folds, parallel, log));
  const fastest = (parallel: number): CvRun => tries.filter((t) => t.parallel === parallel).reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const [all, one] = [fastest(folds), fastest(1)];
  // Every run has the same folds, seeds and data: each fold's AUC must be the same in all of them.
  const maxAucDifference = Math.max(...tries.flatMap((t) => t.auc.values.map((v, i) => Math.abs(v - tries[0]!.auc.values[i]!))));
  const m = data.spec.model;
  return {
    folds,
    rows: data.dataset.rows,
    model: `${m.type} [${(m.hidden ?? []).join(',')}], ${m.epochs} epochs, ${m.parallelism.workers} workers`,
    runs: [all, one],
    tries,
    speedup: one.seconds / all.seconds,
    maxAucDifference,
  };
}
