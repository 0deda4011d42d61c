import os from 'node:os';
import type { SearchInput, SearchResult, TrialSummary } from '../contracts';
import type { ModelSpec } from '../lib/spec/model-spec';
import { tuningSpecSchema, type TuningSpec } from '../lib/spec/tuning-spec';
import type { hyperparameterSearch } from '../workflows';
import type { StackData } from './evaluation-stack';

/**
 * Part 3 of bench/evaluation.ts: the hyperparameterSearch workflow on the stack's encoded shards,
 * with strategy asha and then random, the same seed and space (so the same sampled trials, in the
 * same order), each trial a trainModel child. ASHA stops trials at its rungs; random trains every
 * trial to maxResource epochs. Compute is counted in epochs trained (reported by the trials).
 * "Random at equal compute": the full-length random trials ASHA's epochs would have paid for,
 * floor(epochs_asha / maxResource), and the best metric among the first that many.
 */

export interface SearchOptions {
  trials: number;
  parallelism: number;
  maxResource: number;
  gracePeriod: number;
  reductionFactor: number;
  seed: number;
  /** Data-parallel workers per trial: 1, so `parallelism` trials train side by side on the gpu processes. */
  workersPerTrial: number;
  log: (line: string) => void;
}

export interface StrategyRun {
  strategy: 'asha' | 'random';
  workflowId: string;
  seconds: number;
  loadAverage: number;
  metric: string;
  higherIsBetter: boolean;
  /** Trials that ended: completed, or stopped by ASHA. */
  finished: number;
  completed: number;
  stopped: number;
  failed: number;
  /** Epochs trained over all trials (the compute). */
  epochs: number;
  /**
   * CPU seconds of the gpu pool processes during the search: the compute also where epochs do not
   * count it (an epoch a stopped trial had begun runs on until its task hears of the cancellation).
   */
  gpuCpuSeconds: number;
  finishedPerHour: number;
  best: { trial: string; metric: number; params: Record<string, unknown> };
  trials: Array<Pick<TrialSummary, 'trial' | 'params' | 'status' | 'epochs' | 'metric' | 'metricByEpoch'>>;
}

export interface EqualCompute {
  trials: number;
  best: number | null;
  bestTrial: string | null;
}

/** The best completed trial among the first `n` of a run (trial order: the order they were sampled and started). */
function bestOfFirst(run: StrategyRun, n: number): EqualCompute {
  let best: { metric: number; trial: string } | null = null;
  for (const t of run.trials.slice(0, n)) {
    if (t.status !== 'completed' || t.metric === null) continue;
    if (!best || (run.higherIsBetter ? t.metric > best.metric : t.metric < best.metric)) best = { metric: t.metric, trial: t.trial };
  }
  return { trials: n, best: best?.metric ?? null, bestTrial: best?.trial ?? null };
}

export interface SearchBenchResult {
  trials: number;
  space: TuningSpec['space'];
  asha: { gracePeriod: number; reductionFactor: number; maxResource: number };
  parallelism: number;
  workersPerTrial: number;
  rows: { train: number; validation: number };
  runs: StrategyRun[];
  /** Both searches sampled the same trials, and each trial's metric per epoch agrees where both trained it. */
  sameTrials: boolean;
  sameTrajectories: boolean;
  /** Random at ASHA's compute: floor(epochs_asha / maxResource) full trials, the best metric among the first that many. */
  randomAtEqualCompute: EqualCompute & { epochs: number };
  /** The same with compute as gpu pool CPU seconds: floor(cpu_asha / random's CPU seconds per trial) trials. */
  randomAtEqualGpuCpu: EqualCompute;
}

function tuningOf(strategy: 'asha' | 'random', o: SearchOptions): TuningSpec {
  return tuningSpecSchema.parse({
    strategy,
    trials: o.trials,
    parallelism: o.parallelism,
    seed: o.seed,
    space: { learningRate: { logUniform: [1e-4, 3e-2] }, hidden: { choice: [[32], [64, 32]] } },
    ...(strategy === 'asha' ? { asha: { gracePeriod: o.gracePeriod, reductionFactor: o.reductionFactor, maxResource: o.maxResource } } : {}),
  });
}

async function runSearch(data: StackData, model: ModelSpec, tuning: TuningSpec, log: (line: string) => void): Promise<StrategyRun> {
  const strategy = tuning.strategy as 'asha' | 'random';
  const input: SearchInput = { model, tuning, transform: data.transform, shards: data.encoded, queues: data.queues };
  const workflowId = `bench-search-${strategy}-${Date.now()}`;
  const loadAverage = os.loadavg()[0]!;
  log(`  hyperparameterSearch ${workflowId}: ${tuning.trials} trials, ${tuning.parallelism} at a time ...`);
  const gpu = (name: string): boolean => name.startsWith('pool-gpu');
  const cpuBefore = data.cpuSeconds(gpu);
  const started = performance.now();
  const result: SearchResult = await data.client.workflow.execute<typeof hyperparameterSearch>('hyperparameterSearch', {
    taskQueue: data.queues.orchestrator,
    workflowId,
    args: [input],
  });
  const seconds = (performance.now() - started) / 1000;
  const gpuCpuSeconds = data.cpuSeconds(gpu) - cpuBefore;
  const count = (status: TrialSummary['status']): number => result.trials.filter((t) => t.status === status).length;
  const completed = count('completed');
  const stopped = count('stopped');
  const epochs = result.trials.reduce((n, t) => n + t.epochs, 0);
  const run: StrategyRun = {
    strategy,
    workflowId,
    seconds,
    loadAverage,
    metric: result.metric.name,
    higherIsBetter: result.metric.higherIsBetter,
    finished: completed + stopped,
    completed,
    stopped,
    failed: count('failed'),
    epochs,
    gpuCpuSeconds,
    finishedPerHour: ((completed + stopped) * 3600) / seconds,
    best: { trial: result.best.trial, metric: result.best.metric, params: result.best.params },
    trials: result.trials.map(({ trial, params, status, epochs: e, metric, metricByEpoch }) => ({ trial, params, status, epochs: e, metric, metricByEpoch })),
  };
  log(
    `  ${strategy}: ${seconds.toFixed(1)} s, ${completed} completed + ${stopped} stopped (${run.failed} failed), ${epochs} epochs, gpu pool CPU ${gpuCpuSeconds.toFixed(0)} s, ` +
      `${run.finishedPerHour.toFixed(0)} trials/h, best ${run.metric} ${run.best.metric.toFixed(4)} (trial ${run.best.trial}), load ${loadAverage.toFixed(1)}`,
  );
  return run;
}

export async function measureSearch(data: StackData, o: SearchOptions): Promise<SearchBenchResult> {
  const model: ModelSpec = { ...data.spec.model, epochs: o.maxResource, parallelism: { ...data.spec.model.parallelism, workers: o.workersPerTrial } };
  const ashaTuning = tuningOf('asha', o);
  const asha = await runSearch(data, model, ashaTuning, o.log);
  const random = await runSearch(data, model, tuningOf('random', o), o.log);

  const sameTrials = asha.trials.every((t, i) => JSON.stringify(t.params) === JSON.stringify(random.trials[i]?.params));
  // Same trial, same seeds, same data: the epochs both trained must report the same metric.
  const sameTrajectories = asha.trials.every((t, i) => t.metricByEpoch.every((m, e) => m === random.trials[i]?.metricByEpoch[e]));
  const n = Math.floor(asha.epochs / o.maxResource);
  const perTrialCpu = random.gpuCpuSeconds / random.trials.length;
  const nCpu = Number.isFinite(perTrialCpu) && perTrialCpu > 0 ? Math.floor(asha.gpuCpuSeconds / perTrialCpu) : 0;
  const train = data.encoded.reduce((s, e) => s + e.trainRows, 0);
  const validation = data.encoded.reduce((s, e) => s + (e.validationRows ?? 0), 0);
  return {
    trials: o.trials,
    space: ashaTuning.space,
    asha: { gracePeriod: o.gracePeriod, reductionFactor: o.reductionFactor, maxResource: o.maxResource },
    parallelism: o.parallelism,
    workersPerTrial: o.workersPerTrial,
    rows: { train, validation },
    runs: [asha, random],
    sameTrials,
    sameTrajectories,
    randomAtEqualCompute: { ...bestOfFirst(random, n), epochs: n * o.maxResource },
    randomAtEqualGpuCpu: bestOfFirst(random, nCpu),
  };
}
