/**
 * The metrics each label task computes, and which way is better: what blessing thresholds, the
 * search's objective and `runs compare` may name. Pure, so the spec (lib/), the workflows and the
 * CLI read the same table.
 */
export type MetricTask = 'binary' | 'multiclass' | 'regression';

export const TASK_METRICS = {
  binary: { auc: 'higher', prAuc: 'higher', logLoss: 'lower', brier: 'lower', accuracy: 'higher', precision: 'higher', recall: 'higher', f1: 'higher' },
  multiclass: { accuracy: 'higher', logLoss: 'lower', macroF1: 'higher', microF1: 'higher' },
  regression: { rmse: 'lower', mae: 'lower', r2: 'higher' },
} as const satisfies Record<MetricTask, Record<string, 'higher' | 'lower'>>;

/** The metric names of a task, in table order. */
export function metricNames(task: MetricTask): string[] {
  return Object.keys(TASK_METRICS[task]);
}

/** Whether a bigger value of `metric` is better; undefined for a metric the task does not compute. */
export function higherIsBetter(task: MetricTask, metric: string): boolean | undefined {
  const direction = (TASK_METRICS[task] as Record<string, 'higher' | 'lower'>)[metric];
  return direction === undefined ? undefined : direction === 'higher';
}

/** The headline metric of a task: what a run is summarised and compared by when nothing else is named. */
export const HEADLINE_METRIC: Record<MetricTask, string> = { binary: 'auc', multiclass: 'accuracy', regression: 'rmse' };
