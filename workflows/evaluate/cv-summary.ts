import type { EvaluationMetrics, FoldMetricSummary } from '../../contracts';

/**
 * Each numeric metric over the folds: its values in fold order, their mean and sample standard
 * deviation (n − 1, as the spread of k fold estimates is usually reported). Every top-level number
 * counts, `rows` too (the folds' sizes); the task's name and a multiclass label's per-class table do
 * not. A value that is undefined in some fold (NaN, which JSON carries as null, or a figure an older
 * record lacks) is NaN there, and so are that metric's mean and deviation: averaging only the folds
 * that have it would hide the fold that does not.
 */
export function summarizeFolds(perFold: readonly EvaluationMetrics[]): Record<string, FoldMetricSummary> {
  const names: string[] = [];
  for (const metrics of perFold) {
    for (const [name, value] of Object.entries(metrics)) {
      if ((typeof value === 'number' || value === null) && !names.includes(name)) names.push(name);
    }
  }
  const summary: Record<string, FoldMetricSummary> = {};
  for (const name of names) {
    const values = perFold.map((metrics) => {
      const value: unknown = (metrics as unknown as Record<string, unknown>)[name];
      return typeof value === 'number' ? value : Number.NaN;
    });
    summary[name] = { ...meanAndStd(values), values };
  }
  return summary;
}

/** Mean and sample standard deviation; the deviation of one value is NaN (undefined), of none both are. */
export function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  // Summed as offsets from the first value: equal values then have exactly their value as the mean and 0 spread.
  const shift = values[0] ?? 0;
  const mean = shift + values.reduce((a, v) => a + (v - shift), 0) / n;
  const squares = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: n > 1 ? Math.sqrt(squares / (n - 1)) : Number.NaN };
}
