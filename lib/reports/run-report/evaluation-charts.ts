import type { ImportanceResult } from '../../../contracts/evaluation';
import type { ClassMetrics, EvaluationMetrics } from '../../../contracts/refs';
import type { Task } from '../../features/label-task';
import type { SliceReport } from '../../evaluation/evaluation-report';
import { chartFrame, COLORS, type VegaLiteSpec } from './chart-style';
import { formatCount, formatMetric } from './format';

/** Classes a confusion matrix or a per-class chart shows at most: beyond that the cells are unreadable. */
export const MAX_CLASSES_SHOWN = 20;

/** The metric a slice chart compares, per task: the one the README's run summary leads with. */
export function headlineMetric(task: Task): { key: string; label: string; higherIsBetter: boolean } {
  switch (task) {
    case 'binary':
      return { key: 'auc', label: 'AUC', higherIsBetter: true };
    case 'multiclass':
      return { key: 'accuracy', label: 'accuracy', higherIsBetter: true };
    case 'regression':
      return { key: 'rmse', label: 'RMSE', higherIsBetter: false };
  }
}

/** A metric of any task's metrics by name; null when absent or not a finite number (an AUC of a one-class slice). */
export function metricValue(metrics: EvaluationMetrics, key: string): number | null {
  const value = (metrics as unknown as Record<string, unknown>)[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * A confusion matrix as a heatmap with the count in each cell, actual classes down, predicted across.
 * Classes past MAX_CLASSES_SHOWN (fewest rows) are left out and the subtitle says so.
 */
export function confusionMatrixChart(title: string, classes: readonly string[], confusion: readonly (readonly number[])[]): VegaLiteSpec {
  const support = classes.map((_, a) => (confusion[a] ?? []).reduce((s, n) => s + n, 0));
  const shown = classes
    .map((_, i) => i)
    .sort((a, b) => support[b]! - support[a]! || a - b)
    .slice(0, MAX_CLASSES_SHOWN)
    .sort((a, b) => a - b);
  const total = support.reduce((s, n) => s + n, 0);
  const cells = shown.flatMap((a) =>
    shown.map((p) => {
      const count = confusion[a]?.[p] ?? 0;
      // Colour by the share of the actual class's rows, so a small class's diagonal shows as well as a big one's.
      return { actual: classes[a]!, predicted: classes[p]!, count, share: support[a] === 0 ? 0 : count / support[a]!, label: formatCount(count) };
    }),
  );
  const order = shown.map((i) => classes[i]!);
  const subtitle =
    shown.length < classes.length
      ? `${shown.length} most frequent of ${classes.length} classes; ${formatCount(total)} rows`
      : `${formatCount(total)} rows; colour: share of the actual class's rows`;
  const x = {
    field: 'predicted',
    type: 'nominal' as const,
    title: 'predicted',
    sort: order,
    axis: { labelAngle: shown.length > 4 ? -40 : 0, labelLimit: 120 },
  };
  const y = { field: 'actual', type: 'nominal' as const, title: 'actual', sort: order, axis: { labelLimit: 120 } };
  return {
    ...chartFrame(title, subtitle),
    data: { values: cells },
    encoding: { x, y },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          color: { field: 'share', type: 'quantitative', title: 'share', scale: { scheme: 'blues', domain: [0, 1] }, legend: null },
        },
      },
      {
        mark: { type: 'text', fontSize: shown.length > 10 ? 8 : 12, fontWeight: 500 },
        encoding: {
          text: { field: 'label', type: 'nominal' },
          // Light text on the dark cells, dark on the light ones.
          color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: COLORS.text },
        },
      },
    ],
  };
}

/**
 * The headline metric per value of one sliced feature, as bars, with each value's test rows printed
 * beside its bar and the whole test set's metric as a dashed line.
 */
export function sliceChart(slice: SliceReport, task: Task, overall: number | null): VegaLiteSpec {
  const metric = headlineMetric(task);
  const values = slice.values.map((v) => metricValue(v.metrics, metric.key));
  const top = task === 'binary' ? 1 : 1.1 * Math.max(overall ?? 0, ...values.map((v) => v ?? 0)) || 1;
  const rows = slice.values.map((v, i) => {
    const value = values[i]!;
    return {
      value: v.value,
      metric: value,
      at: value ?? 0,
      // A label fits inside a bar that spans over ~40% of the axis; a shorter bar has it at its end.
      inside: value !== null && value / top > 0.4,
      label: `${value === null ? 'n/a' : formatMetric(value)} · ${formatCount(v.rows)} rows`,
    };
  });
  const others = slice.otherValues > 0 ? `; ${formatCount(slice.otherValues)} other values (${formatCount(slice.otherRows)} rows) not shown` : '';
  const y = { field: 'value', type: 'nominal' as const, title: slice.feature, sort: null, axis: { labelLimit: 150 } };
  const x = { field: 'metric', type: 'quantitative' as const, title: metric.label, scale: { domain: [0, top] } };
  const label = (inside: boolean) => ({
    data: { values: rows.filter((r) => r.inside === inside) },
    mark: { type: 'text' as const, align: 'left' as const, dx: 4, fontSize: 10, color: inside ? 'white' : COLORS.text },
    encoding: { y, x: { ...x, field: inside ? 'zero' : 'at' }, text: { field: 'label', type: 'nominal' as const } },
  });
  const frame = chartFrame(`${metric.label} by ${slice.feature}`, `top values by test rows${others}${overall === null ? '' : '; dashed: all rows'}`);
  return {
    ...frame,
    // Each bar keeps room for its label: many values make a taller chart, not thinner bars.
    height: Math.max(frame.height, 16 * rows.length),
    layer: [
      { data: { values: rows }, mark: { type: 'bar', color: COLORS.primary, opacity: 0.85, cornerRadiusEnd: 2 }, encoding: { y, x } },
      { ...label(true), data: { values: rows.filter((r) => r.inside).map((r) => ({ ...r, zero: 0 })) } },
      label(false),
      ...(overall === null
        ? []
        : [
            {
              data: { values: [{ overall }] },
              mark: { type: 'rule' as const, strokeDash: [4, 4], color: COLORS.secondary, strokeWidth: 1.5 },
              encoding: { x: { ...x, field: 'overall' } },
            },
          ]),
    ],
  };
}

/** Permutation importance: each feature's mean metric drop as a bar, ± one standard deviation over the shuffles. */
export function importanceChart(importance: ImportanceResult): VegaLiteSpec {
  const rows = importance.features.map((f) => ({ feature: f.feature, drop: f.drop, low: f.drop - f.std, high: f.drop + f.std, std: f.std }));
  const y = { field: 'feature', type: 'nominal' as const, title: 'feature', sort: null, axis: { labelLimit: 150 } };
  const xTitle = `drop in ${importance.metric}`;
  return {
    ...chartFrame(
      `Permutation importance (drop in ${importance.metric})`,
      `${importance.repeats} shuffles per feature on ${formatCount(importance.rows)} test rows; ${importance.metric} intact ${formatMetric(importance.baseline)}; whiskers ±1 sd`,
    ),
    data: { values: rows },
    layer: [
      { mark: { type: 'bar', color: COLORS.primary, opacity: 0.85 }, encoding: { y, x: { field: 'drop', type: 'quantitative', title: xTitle } } },
      {
        mark: { type: 'rule', color: COLORS.text, strokeWidth: 1.5 },
        encoding: { y, x: { field: 'low', type: 'quantitative', title: xTitle }, x2: { field: 'high' } },
      },
    ],
  };
}

/** Quantiles of the absolute error of a regression model, in the label's units. */
export function errorQuantilesChart(quantiles: ReadonlyArray<{ q: number; value: number }>, metrics?: { rmse: number; mae: number }): VegaLiteSpec {
  return {
    ...chartFrame(
      'Absolute error by quantile',
      metrics ? `RMSE ${formatMetric(metrics.rmse)} · MAE ${formatMetric(metrics.mae)} (label units)` : 'label units',
    ),
    data: { values: quantiles.map((q) => ({ quantile: q.q, error: q.value })) },
    mark: { type: 'line', strokeWidth: 2, color: COLORS.primary, point: { size: 40 } },
    encoding: {
      x: { field: 'quantile', type: 'quantitative', title: 'quantile of rows', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
      y: { field: 'error', type: 'quantitative', title: '|prediction − label|' },
    },
  };
}

/** Precision, recall and F1 per class (the most frequent MAX_CLASSES_SHOWN), grouped bars. */
export function classMetricsChart(perClass: readonly ClassMetrics[]): VegaLiteSpec {
  const shown = [...perClass].sort((a, b) => b.support - a.support).slice(0, MAX_CLASSES_SHOWN);
  const rows = shown.flatMap((c) => [
    { class: c.class, metric: 'precision', value: c.precision },
    { class: c.class, metric: 'recall', value: c.recall },
    { class: c.class, metric: 'F1', value: c.f1 },
  ]);
  return {
    ...chartFrame(
      'Precision, recall and F1 by class',
      shown.length < perClass.length ? `${shown.length} most frequent of ${perClass.length} classes` : undefined,
    ),
    data: { values: rows },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'class', type: 'nominal', title: 'class', sort: shown.map((c) => c.class), axis: { labelAngle: shown.length > 4 ? -40 : 0 } },
      xOffset: { field: 'metric', sort: ['precision', 'recall', 'F1'] },
      y: { field: 'value', type: 'quantitative', title: 'value', scale: { domain: [0, 1] } },
      color: {
        field: 'metric',
        type: 'nominal',
        title: null,
        sort: ['precision', 'recall', 'F1'],
        scale: { range: [COLORS.primary, COLORS.secondary, COLORS.tertiary] },
      },
    },
  };
}
