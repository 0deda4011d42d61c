import type { CvResult } from './evaluation-cv';
import type { RowsResult } from './evaluation-rows';
import type { SearchBenchResult } from './evaluation-search';

/** The tables and the one-line headline of bench/evaluation.ts, from its three parts' results (any may be absent). */

export const fmt = (n: number | null | undefined, digits = 0): string =>
  n !== null && n !== undefined && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';

const tries = (seconds: number[]): string => (seconds.length > 1 ? ` (${seconds.map((s) => fmt(s, 2)).join(', ')})` : '');

export function rowsTable(r: RowsResult): string {
  return [
    '| path | threads | seconds | rows/s | × one thread | merge s | test AUC | load |',
    '|---|---|---|---|---|---|---|---|',
    `| \`evaluateModel\`, every shard in one thread (the old single task) | 1 | ${fmt(r.single.seconds, 2)}${tries(r.single.tries.map((t) => t.seconds))} | ${fmt(r.single.rowsPerSec)} | 1.00× |  | ${fmt(r.auc.single, 6)} | ${fmt(Math.max(...r.single.tries.map((t) => t.loadAverage)), 1)} |`,
    `| \`evaluateShard\` × ${r.shards} in threads + \`mergeEvaluation\` (the pipeline's path) | ${r.threads} | ${fmt(r.sharded.seconds, 2)}${tries(r.sharded.tries.map((t) => t.seconds))} | ${fmt(r.sharded.rowsPerSec)} | ${fmt(r.speedup, 2)}× | ${fmt(r.sharded.mergeSeconds, 2)} | ${fmt(r.auc.sharded, 6)} | ${fmt(Math.max(...r.sharded.tries.map((t) => t.loadAverage)), 1)} |`,
    ...(r.shardedOneThread
      ? [
          `| the same, one task at a time (diagnostic: the tasks' own cost) | 1 | ${fmt(r.shardedOneThread.seconds, 2)}${tries(r.shardedOneThread.tries.map((t) => t.seconds))} | ${fmt(r.shardedOneThread.rowsPerSec)} | ${fmt(r.shardedOneThread.rowsPerSec / r.single.rowsPerSec, 2)}× | ${fmt(r.shardedOneThread.mergeSeconds, 2)} |  | ${fmt(Math.max(...r.shardedOneThread.tries.map((t) => t.loadAverage)), 1)} |`,
        ]
      : []),
  ].join('\n');
}

export function cvTable(c: CvResult): string {
  const base = c.runs.find((r) => r.parallel === 1);
  return [
    '| folds at once | wall s | × one at a time | AUC mean ± std | per-fold AUC | load |',
    '|---|---|---|---|---|---|',
    ...c.runs.map(
      (r) =>
        `| ${r.parallel} | ${fmt(r.seconds, 1)} | ${base ? `${fmt(base.seconds / r.seconds, 2)}×` : ''} | ${fmt(r.auc.mean, 4)} ± ${fmt(r.auc.std, 4)} | ${r.auc.values.map((v) => fmt(v, 4)).join(', ')} | ${fmt(r.loadAverage, 1)} |`,
    ),
  ].join('\n');
}

export function searchTable(s: SearchBenchResult): string {
  const eq = s.randomAtEqualCompute;
  return [
    `| strategy | trials finished (completed + stopped) | epochs trained | wall s | trials finished / h | best validation ${s.runs[0]?.metric ?? 'metric'} | load |`,
    '|---|---|---|---|---|---|---|',
    ...s.runs.map(
      (r) =>
        `| ${r.strategy} | ${r.finished} (${r.completed} + ${r.stopped})${r.failed ? `, ${r.failed} failed` : ''} | ${r.epochs} | ${fmt(r.seconds, 1)} | ${fmt(r.finishedPerHour)} | ${fmt(r.best.metric, 4)} (trial ${r.best.trial}) | ${fmt(r.loadAverage, 1)} |`,
    ),
    `| random at ASHA's compute (first ${eq.trials} trials) | ${eq.trials} | ${eq.epochs} |  |  | ${fmt(eq.best, 4)}${eq.bestTrial ? ` (trial ${eq.bestTrial})` : ''} |  |`,
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
        `search, ${search.trials} trials: ASHA ${fmt(asha.finishedPerHour)} trials/h (${asha.epochs} epochs, best ${asha.metric} ${fmt(asha.best.metric, 4)}) vs random ${fmt(random.finishedPerHour)}/h (${random.epochs} epochs, best ${fmt(random.best.metric, 4)}; at ASHA's compute, ${eq.trials} trials: ${fmt(eq.best, 4)})`,
      );
    }
  }
  parts.push(`load ${fmt(load[0], 1)} → ${fmt(load[1], 1)}`);
  return parts.join('; ');
}
