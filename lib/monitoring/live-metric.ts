import { HEADLINE_METRIC, higherIsBetter } from '../../contracts/metric-names';
import type { EvaluationMetrics } from '../../contracts/refs';
import { labelHead } from '../features/label-task';
import { labelOf } from '../features/transform';
import { upgradeTransform, type FittedLabel, type FittedTransform } from '../features/transform-format';
import { metricsOf, StateAccumulator, stateHeadOf } from '../evaluation/states/metric-state';
import type { LiveMetricFinding } from './monitor-report';

export const DEFAULT_MIN_LABELS = 200;
export const DEFAULT_MAX_DROP = 0.05;

/** A logged row with its feedback: `label` absent when none arrived. */
export interface LabelledRow {
  prediction: unknown;
  label?: unknown;
}

export interface LiveMetricOptions {
  minLabels?: number;
  maxDrop?: number;
}

/**
 * A feedback label as the encoded label the metrics take: the label column's raw value (e.g. the
 * delay in minutes for "delay > 15"), or an object holding it under the column's name; a boolean
 * is the binary label itself. NaN where it cannot be read (a class the model does not know, say).
 */
export function encodeFeedbackLabel(label: FittedLabel, raw: unknown): number {
  const value =
    raw !== null && typeof raw === 'object' && !Array.isArray(raw) && Object.hasOwn(raw, label.column) ? (raw as Record<string, unknown>)[label.column] : raw;
  const binary = !('task' in label);
  if (typeof value === 'boolean') return binary ? (value ? 1 : 0) : Number.NaN;
  if (typeof value !== 'number' && typeof value !== 'string') return Number.NaN;
  const encoded = labelOf(label, value);
  return 'task' in label && label.task === 'multiclass' && encoded < 0 ? Number.NaN : encoded;
}

/** A logged prediction as the model's output units (what the metric states take); null where it is not one. */
export function outputsOfPrediction(transform: FittedTransform, prediction: unknown): number[] | null {
  const head = labelHead(transform);
  switch (head.task) {
    case 'binary':
      return typeof prediction === 'number' && Number.isFinite(prediction) ? [prediction] : null;
    case 'regression': {
      const label = upgradeTransform(transform).label as Extract<FittedLabel, { task: 'regression' }>;
      return typeof prediction === 'number' && Number.isFinite(prediction) ? [(prediction - label.mean) / label.std] : null;
    }
    case 'multiclass': {
      const probabilities = (prediction as { probabilities?: Record<string, unknown> } | null)?.probabilities;
      if (probabilities === undefined || probabilities === null || typeof probabilities !== 'object') return null;
      const out = head.classes!.map((c) => probabilities[c]);
      return out.every((p): p is number => typeof p === 'number' && Number.isFinite(p)) ? out : null;
    }
  }
}

/**
 * The task's headline metric (auc, accuracy, rmse) on the logged rows that got a label, against the
 * version's registered value: degraded when it is worse by more than maxDrop (in the metric's own
 * units). Fewer than minLabels scorable rows: not_enough_labels.
 */
export function checkLiveMetric(
  transform: FittedTransform,
  rows: readonly LabelledRow[],
  registered: EvaluationMetrics,
  options: LiveMetricOptions = {},
): LiveMetricFinding {
  const minLabels = options.minLabels ?? DEFAULT_MIN_LABELS;
  const maxDrop = options.maxDrop ?? DEFAULT_MAX_DROP;
  const head = stateHeadOf(transform);
  const metric = HEADLINE_METRIC[head.task];
  const higher = higherIsBetter(head.task, metric)!;
  const label = upgradeTransform(transform).label;
  const units = head.task === 'multiclass' ? head.classes.length : 1;
  const outputs: number[] = [];
  const labels: number[] = [];
  for (const row of rows) {
    if (!('label' in row) || row.label === undefined || row.label === null) continue;
    const y = encodeFeedbackLabel(label, row.label);
    const out = outputsOfPrediction(transform, row.prediction);
    if (!Number.isFinite(y) || out === null) continue;
    labels.push(y);
    outputs.push(...out);
  }
  const base = { metric, higherIsBetter: higher, labels: labels.length, minLabels, maxDrop };
  if (labels.length < minLabels) return { ...base, status: 'not_enough_labels' };
  const acc = new StateAccumulator(head);
  acc.add({ outputs: Float32Array.from(outputs), labels: Float32Array.from(labels), rows: labels.length, units });
  const value = (metricsOf(acc.state()) as unknown as Record<string, unknown>)[metric];
  const reference = (registered as unknown as Record<string, unknown>)[metric];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return { ...base, status: 'not_measurable', note: `${metric} is undefined on these labels (e.g. only one class among them)` };
  }
  if (typeof reference !== 'number' || !Number.isFinite(reference)) {
    return { ...base, status: 'not_measurable', value, note: `the version has no registered ${metric} to compare with` };
  }
  const drop = higher ? reference - value : value - reference;
  return { ...base, status: drop > maxDrop ? 'degraded' : 'ok', value, registered: reference, drop };
}
