import type { CvResult } from './evaluation-cv';
import type { RowsResult } from './evaluation-rows';
import type { SearchBenchResult } from './evaluation-search';

/** The tables and the one-line headline of bench/evaluation.ts, from its three parts' results (any may be absent). */

export const fmt = (n: number | null | undefined, digits = 0): string =>
  n !== null && n !== undefined && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';

/** Every try's seconds after the reported (fastest) one, when there were several. */
const tries = (seconds: number[], digits = 2): string => (seconds.length > 1 ? ` (${seconds.map((s) => fmt(s, digits)).join(', ')})` : '');

export function rowsTable(r: RowsResult): string {
  return [
    '| path | threads | seconds | rows/s | × one thread | task start-up s | merge s | test AUC | load |',
    '|---|---|---|---|---|---|---|---|---|',
    `| \`evaluateModel\`, every shard in one thread (the old single task) | 1 | ${fmt(r.single.seconds, 2)}${tries(r.single.tries.map((t) => t.seconds))} | ${fmt(r.single.rowsPerSec)} | 1.00× | ${fmt(r.single.startupSeconds, 2)} |  | ${fmt(r.auc.single, 6)} | ${fmt(Math.max(...r.single.tries.map((t) => t.loadAverage)), 1)} |`,
    `| \`evaluateShard\` × ${r.shards} in threads + \`mergeEvaluation\` (the pipeline's path) | ${r.threads} | ${fmt(r.sharded.seconds, 2)}${tries(r.sharded.tries.map((t) => t.seconds))} | ${fmt(r.sharded.rowsPerSec)} | ${fmt(r.speedup, 2)}× | ${fmt(r.sharded.startupSeconds, 2)} | ${fmt(r.sharded.mergeSeconds, 2)} | ${fmt(r.auc.sharded, 6)} | ${fmt(Math.max(...r.sharded.tries.map((t) => t.loadAverage)), 1)} |`,
    ...(r.shardedOneThread
      ? [
          `| the same, one task at a time (diagnostic: the tasks' own cost) | 1 | ${fmt(r.shardedOneThread.seconds, 2)}${tries(r.shardedOneThread.tries.map((t) => t.seconds))} | ${fmt(r.shardedOneThread.rowsPerSec)} | ${fmt(r.shardedOneThread.rowsPerSec / r.single.rowsPerSec, 2)}× | ${fmt(r.shardedOneThread.startupSeconds, 2)} | ${fmt(r.shardedOneThread.mergeSeconds, 2)} |  | ${fmt(Math.max(...r.shardedOneThread.tries.map((t) => t.loadAverage)), 1)} |`,
        ]
      : []),
  ].join('\n');
}

export function cvTable(c: CvResult): string {
  const base = c.runs.find((r) => r.parallel === 1);
  return [
    '| folds at once | wall s | × one at a time | stack CPU s (share of the cores) | AUC mean ± std | per-fold AUC | load |',
    '|---|---|---|---|---|---|---|',
    ...c.runs.map(
      (r) =>
        `| ${r.parallel} | ${fmt(r.seconds, 1)}${tries(
          c.tries.filter((t) => t.parallel === r.parallel).map((t) => t.seconds),
          1,
        )} | ${base ? `${fmt(base.seconds / r.seconds, 2)}×` : ''} | ${fmt(r.stackCpuSeconds, 0)} (${fmt(100 * r.stackCpuShare, 0)}%) | ${fmt(r.auc.mean, 4)} ± ${fmt(r.auc.std, 4)} | ${r.auc.values.map((v) => fmt(v, 4)).join(', ')} | ${fmt(r.loadAverage, 1)} |`,
    ),
  ].join('\n');
}

export function searchTable(s: SearchBenchResult): string {
  const eq = s.randomAtEqualCompute;
  const eqCpu = s.randomAtEqualGpuCpu;
  const best = (e: { best: number | null; bestTrial: string | null }): string => `${fmt(e.best, 4)}${e.bestTrial ? ` (trial ${e.bestTrial})` : ''}`;
  return [
    `| strategy | trials finished (completed + stopped) | epochs trained | gpu pool CPU s | wall s | trials finished / h | best validation ${s.runs[0]?.metric ?? 'metric'} | load |`,
    '|---|---|---|---|---|---|---|---|',
    ...s.runs.map(
      (r) =>
        `| ${r.strategy} | ${r.finished} (${r.completed} + ${r.stopped})${r.failed ? `, ${r.failed} failed` : ''} | ${r.epochs} | ${fmt(r.gpuCpuSeconds, 0)} | ${fmt(r.seconds, 1)} | ${fmt(r.finishedPerHour)} | ${fmt(r.best.metric, 4)} (trial ${r.best.trial}) | ${fmt(r.loadAverage, 1)} |`,
    ),
    `| random at ASHA's epochs: its first ${eq.trials} trials | ${eq.trials} | ${eq.epochs} |  |  |  | ${best(eq)} |  |`,
    `| random at ASHA's gpu CPU seconds: its first ${eqCpu.trials} trials | ${eqCpu.trials} | ${eqCpu.trials * s.asha.maxResource} |  |  |  | ${best(eqCpu)} |  |`,
  ].join('\n');
}

export function headlineOf(rows: RowsResult | undefined, cv: CvResult | undefined, search: SearchBenchResult | undefined, load: [number, number]): string {
  const parts: string[] = [];
  if (rows) {
    parts.push(
      `evaluation of ${fmt(rows.testRows)} test rows: ${rows.shards} shards in ${rows.threads} threads + merge ${fmt(rows.sharded.rowsPerSec)} rows/s = ${fmt(rows.speedup, 2)}× one-thread evaluateModel (${fmt(rows.single.rowsPerSec)} rows/s), merge ${fmt(rows.sharded.mergeSeconds, 2)} s, AUC ${fmt(rows.auc.sharded, 4)} both (Δ ${rows.auc.difference.toExponential(1)})`,
    );
  }
  if (cv) {
    const [par, seq] = [cv.runs.find((r) => r.parallel === cv.folds), cv.runs.find((r) => r.parallel === 1)];
    if (par && seq) {
      parts.push(
        `${cv.folds}-fold CV of ${fmt(cv.rows)} rows: ${fmt(par.seconds, 1)} s in parallel vs ${fmt(seq.seconds, 1)} s one after another (${fmt(cv.speedup, 2)}×), AUC ${fmt(par.auc.mean, 4)} ± ${fmt(par.auc.std, 4)} ${cv.maxAucDifference === 0 ? 'identical in both' : `(folds differ by up to ${cv.maxAucDifference.toExponential(1)})`}`,
      );
    }
  }
  if (search) {
    const [asha, random] = [search.runs.find((r) => r.strategy === 'asha'), search.runs.find((r) => r.strategy === 'random')];
    if (asha && random) {
      const eq = search.randomAtEqualCompute;
      parts.push(
        `search, ${search.trials} trials: ASHA ${fmt(asha.finishedPerHour)} trials/h (${asha.epochs} epochs, gpu CPU ${fmt(asha.gpuCpuSeconds, 0)} s, best ${asha.metric} ${fmt(asha.best.metric, 4)}) vs random ${fmt(random.finishedPerHour)}/h (${random.epochs} epochs, gpu CPU ${fmt(random.gpuCpuSeconds, 0)} s, best ${fmt(random.best.metric, 4)}; at ASHA's epochs, ${eq.trials} trials: ${fmt(eq.best, 4)})`,
      );
    }
  }
  parts.push(`load ${fmt(load[0], 1)} → ${fmt(load[1], 1)}`);
  return parts.join('; ');
}
