import type { TrainingCurves } from '../../../contracts/stages';
import { chartFrame, COLORS, type VegaLiteSpec } from './chart-style';
import { formatMetric } from './format';
import type { TrialResult } from './run-report-data';

/** An epoch axis: whole epochs only, from 1 (a 2-epoch run must not show 1.5). */
function epochAxis(epochs: number) {
  return {
    field: 'epoch',
    type: 'quantitative' as const,
    title: 'epoch',
    scale: { domain: [1, Math.max(2, epochs)] },
    axis: { tickMinStep: 1, format: 'd' },
  };
}

/** Train loss and, where the split had validation rows, validation loss, per epoch. */
export function lossCurvesChart(curves: TrainingCurves): VegaLiteSpec {
  const rows = [
    ...curves.trainLoss.map((value, i) => ({ epoch: i + 1, series: 'train loss', value })),
    ...(curves.validationLoss ?? []).map((value, i) => ({ epoch: i + 1, series: 'validation loss', value })),
  ];
  const epochs = Math.max(curves.trainLoss.length, curves.validationLoss?.length ?? 0);
  return {
    ...chartFrame('Loss per epoch', curves.validationLoss ? 'train and validation rows' : 'train rows (no validation split)'),
    data: { values: rows },
    mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
    encoding: {
      x: epochAxis(epochs),
      y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, scale: { range: [COLORS.primary, COLORS.secondary] } },
    },
  };
}

/** The validation metric (e.g. AUC) per epoch; null when the run did not measure one. */
export function validationMetricChart(curves: TrainingCurves): VegaLiteSpec | null {
  const metric = curves.validationMetric;
  if (!metric || metric.values.length === 0) return null;
  return {
    ...chartFrame(`Validation ${metric.name} per epoch`),
    data: { values: metric.values.map((value, i) => ({ epoch: i + 1, value })) },
    mark: { type: 'line', point: { size: 50 }, strokeWidth: 2, color: COLORS.tertiary },
    encoding: {
      x: epochAxis(metric.values.length),
      y: { field: 'value', type: 'quantitative', title: metric.name, scale: { zero: false } },
    },
  };
}

/** A short, stable text of a trial's parameters: "learningRate=0.005, hidden=[64, 32]". */
export function trialParamsText(params: TrialResult['params']): string {
  const show = (value: number | string | number[]): string =>
    Array.isArray(value) ? `[${value.join(', ')}]` : typeof value === 'number' && !Number.isInteger(value) ? formatMetric(value) : String(value);
  return Object.entries(params)
    .map(([name, value]) => `${name}=${show(value)}`)
    .join(', ');
}

/** How trials were ranked: the metric's name and its direction. */
export interface TrialMetric {
  name: string;
  higherIsBetter: boolean;
}

/** Each trial's metric as a bar, coloured by how the trial ended; a failed trial shows its status instead of a bar. */
export function trialsChart(trials: readonly TrialResult[], metric: TrialMetric = { name: 'metric', higherIsBetter: true }): VegaLiteSpec {
  const metricName = metric.name;
  const rows = trials.map((t) => ({
    trial: t.trial,
    metric: t.metric,
    status: t.status,
    label: t.metric === null ? t.status : formatMetric(t.metric),
    labelAt: t.metric ?? 0,
    params: trialParamsText(t.params),
    resource: t.resource,
  }));
  const better = (a: number, b: number): boolean => (metric.higherIsBetter ? a > b : a < b);
  const best = trials.reduce<TrialResult | null>((b, t) => (t.metric !== null && (b === null || better(t.metric, b.metric!)) ? t : b), null);
  const x = { field: 'trial', type: 'nominal' as const, title: 'trial', sort: null, axis: { labelAngle: 0 } };
  return {
    ...chartFrame(`Trials: ${metricName}`, best ? `best: ${best.trial} (${trialParamsText(best.params)})` : 'no trial finished'),
    data: { values: rows },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusEnd: 2 },
        encoding: {
          x,
          y: { field: 'metric', type: 'quantitative', title: metricName },
          color: { field: 'status', type: 'nominal', title: null, scale: { scheme: 'tableau10' } },
          tooltip: [
            { field: 'trial', type: 'nominal' },
            { field: 'params', type: 'nominal' },
            { field: 'resource', type: 'quantitative', title: 'epochs' },
          ],
        },
      },
      {
        mark: { type: 'text', dy: -6, fontSize: 11, color: COLORS.text },
        encoding: { x, y: { field: 'labelAt', type: 'quantitative', title: metricName }, text: { field: 'label', type: 'nominal' } },
      },
    ],
  };
}
