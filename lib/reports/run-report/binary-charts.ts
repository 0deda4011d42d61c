import type { BinaryCurves } from '../../evaluation/evaluation-report';
import { chartFrame, COLORS, DIAGONAL, thinPoints, type VegaLiteSpec } from './chart-style';
import { formatMetric } from './format';

const RATE = { type: 'quantitative' as const, scale: { domain: [0, 1] } };

/** The dashed reference y = x, drawn under a curve. */
function diagonalLayer(xTitle: string, yTitle: string) {
  return {
    data: { values: DIAGONAL },
    mark: { type: 'line' as const, strokeDash: [4, 4], color: COLORS.reference, strokeWidth: 1 },
    encoding: { x: { ...RATE, field: 'x', title: xTitle }, y: { ...RATE, field: 'y', title: yTitle } },
  };
}

/** Area under a curve by trapezoids, with the points taken in x order. */
export function trapezoidArea(xs: readonly number[], ys: readonly number[]): number {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]! || ys[a]! - ys[b]!);
  let area = 0;
  for (let k = 1; k < order.length; k++) {
    const i = order[k - 1]!;
    const j = order[k]!;
    area += ((xs[j]! - xs[i]!) * (ys[i]! + ys[j]!)) / 2;
  }
  return area;
}

/**
 * Average precision, the step-wise area under the PR curve: Σ (Rₙ − Rₙ₋₁) Pₙ over the points in
 * recall order (as scikit-learn computes it; no interpolation, so it is not optimistic).
 */
export function averagePrecision(recall: readonly number[], precision: readonly number[]): number {
  const order = recall.map((_, i) => i).sort((a, b) => recall[a]! - recall[b]! || precision[b]! - precision[a]!);
  let ap = 0;
  let previous = 0;
  for (const i of order) {
    ap += (recall[i]! - previous) * precision[i]!;
    previous = recall[i]!;
  }
  return ap;
}

/** ROC curve with the chance diagonal; the AUC (the report's, else the curve's own) in the title. */
export function rocChart(roc: BinaryCurves['roc'], auc?: number): VegaLiteSpec {
  const area = auc ?? trapezoidArea(roc.fpr, roc.tpr);
  const points = thinPoints(roc.fpr.map((fpr, i) => ({ fpr, tpr: roc.tpr[i]!, order: i })));
  const xTitle = 'false positive rate';
  const yTitle = 'true positive rate';
  return {
    ...chartFrame(`ROC curve (AUC ${formatMetric(area)})`, 'dashed: a model that guesses'),
    layer: [
      diagonalLayer(xTitle, yTitle),
      {
        data: { values: points },
        mark: { type: 'line', color: COLORS.primary, strokeWidth: 2 },
        encoding: { x: { ...RATE, field: 'fpr', title: xTitle }, y: { ...RATE, field: 'tpr', title: yTitle }, order: { field: 'order', type: 'quantitative' } },
      },
    ],
  };
}

/** Precision against recall with the average precision in the title, and the positive rate (a model that guesses) dashed. */
export function prChart(pr: BinaryCurves['pr'], positiveRate?: number): VegaLiteSpec {
  const ap = averagePrecision(pr.recall, pr.precision);
  const points = thinPoints(pr.recall.map((recall, i) => ({ recall, precision: pr.precision[i]!, order: i })));
  const xTitle = 'recall';
  const yTitle = 'precision';
  const curve = {
    data: { values: points },
    mark: { type: 'line' as const, color: COLORS.primary, strokeWidth: 2 },
    encoding: {
      x: { ...RATE, field: 'recall', title: xTitle },
      y: { ...RATE, field: 'precision', title: yTitle },
      order: { field: 'order', type: 'quantitative' as const },
    },
  };
  if (positiveRate === undefined) return { ...chartFrame(`Precision-recall curve (AP ${formatMetric(ap)})`), layer: [curve] };
  return {
    ...chartFrame(`Precision-recall curve (AP ${formatMetric(ap)})`, `dashed: positive rate ${formatMetric(positiveRate)}`),
    layer: [
      {
        data: {
          values: [
            { x: 0, y: positiveRate },
            { x: 1, y: positiveRate },
          ],
        },
        mark: { type: 'line', strokeDash: [4, 4], color: COLORS.reference, strokeWidth: 1 },
        encoding: { x: { ...RATE, field: 'x', title: xTitle }, y: { ...RATE, field: 'y', title: yTitle } },
      },
      curve,
    ],
  };
}

/** Reliability diagram: observed positive rate against mean predicted probability per bin, dot size by rows. */
export function calibrationChart(bins: BinaryCurves['calibration']): VegaLiteSpec {
  const xTitle = 'mean predicted probability';
  const yTitle = 'observed positive rate';
  const filled = bins.filter((b) => b.rows > 0);
  return {
    ...chartFrame('Calibration', 'dashed: perfectly calibrated; dot size: rows in the bin'),
    layer: [
      diagonalLayer(xTitle, yTitle),
      {
        data: { values: filled.map((b) => ({ predicted: b.meanPredicted, observed: b.observedRate, rows: b.rows, bin: `${b.lower}–${b.upper}` })) },
        mark: { type: 'line', color: COLORS.primary, strokeWidth: 2, point: { filled: true } },
        encoding: {
          x: { ...RATE, field: 'predicted', title: xTitle },
          y: { ...RATE, field: 'observed', title: yTitle },
          order: { field: 'predicted', type: 'quantitative' },
          tooltip: [
            { field: 'bin', type: 'nominal' },
            { field: 'rows', type: 'quantitative' },
          ],
        },
      },
      {
        data: { values: filled.map((b) => ({ predicted: b.meanPredicted, observed: b.observedRate, rows: b.rows })) },
        mark: { type: 'circle', color: COLORS.primary, opacity: 0.35 },
        encoding: {
          x: { ...RATE, field: 'predicted', title: xTitle },
          y: { ...RATE, field: 'observed', title: yTitle },
          size: { field: 'rows', type: 'quantitative', legend: null, scale: { range: [20, 400] } },
        },
      },
    ],
  };
}

/** Precision, recall and F1 as the threshold moves from 0 to 1: where to put the cut. */
export function thresholdChart(thresholds: BinaryCurves['thresholds']): VegaLiteSpec {
  const rows = thresholds.flatMap((t) =>
    (['precision', 'recall', 'f1'] as const)
      .filter((m) => Number.isFinite(t[m]))
      .map((m) => ({ threshold: t.threshold, metric: m === 'f1' ? 'F1' : m, value: t[m] })),
  );
  return {
    ...chartFrame('Precision, recall and F1 by threshold', 'a row is positive when its score ≥ the threshold'),
    data: { values: rows },
    mark: { type: 'line', strokeWidth: 2, point: { size: 16 } },
    encoding: {
      x: { ...RATE, field: 'threshold', title: 'threshold' },
      y: { ...RATE, field: 'value', title: 'value' },
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

/** The threshold row nearest 0.5 (the accuracy's threshold) as a 2×2 confusion matrix, actual × predicted. */
export function binaryConfusionAt(thresholds: BinaryCurves['thresholds'], at = 0.5): { threshold: number; classes: string[]; confusion: number[][] } | null {
  const row = thresholds.reduce<BinaryCurves['thresholds'][number] | null>(
    (best, t) => (best === null || Math.abs(t.threshold - at) < Math.abs(best.threshold - at) ? t : best),
    null,
  );
  if (!row) return null;
  return {
    threshold: row.threshold,
    classes: ['negative', 'positive'],
    confusion: [
      [row.tn, row.fp],
      [row.fn, row.tp],
    ],
  };
}
