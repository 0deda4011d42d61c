import { argmax, type LabelHead } from '../features/label-task';
import { rocAuc } from './classification-metrics';

/**
 * The metric whose drop permutation importance measures, by the label's task. Every one is
 * higher-is-better, so drop = intact − shuffled is positive for a feature the model relies on.
 */
export interface ImportanceMetric {
  /** The name stored with the result: auc, accuracy or r2. */
  name: 'auc' | 'accuracy' | 'r2';
  /**
   * The metric of `rows` rows: the model's outputs (rows × head.units, row-major) against the
   * encoded labels (0/1, the class index, or the standardised value). NaN where it is undefined.
   */
  score(outputs: Float32Array, labels: Float32Array, rows: number): number;
}

export function importanceMetric(head: LabelHead): ImportanceMetric {
  switch (head.task) {
    case 'binary':
      // AUC rather than accuracy: it sees every change of ranking, not only those that cross 0.5.
      return { name: 'auc', score: (outputs, labels, rows) => rocAuc(labels.subarray(0, rows), outputs.subarray(0, rows)) };
    case 'multiclass':
      return { name: 'accuracy', score: (outputs, labels, rows) => multiclassAccuracy(outputs, labels, rows, head.units) };
    case 'regression':
      // In the standardised units the model outputs: R² is scale-free, so no de-standardising.
      return { name: 'r2', score: rSquared };
  }
}

/** Share of rows whose most probable class is the label's class index. */
function multiclassAccuracy(outputs: Float32Array, labels: Float32Array, rows: number, units: number): number {
  if (rows === 0) return Number.NaN;
  let correct = 0;
  for (let r = 0; r < rows; r++) if (argmax(outputs, r * units, units) === labels[r]) correct++;
  return correct / rows;
}

/** 1 − SS_res / SS_tot; NaN when the labels do not vary (no variance to explain). */
function rSquared(predictions: Float32Array, labels: Float32Array, rows: number): number {
  let mean = 0;
  for (let r = 0; r < rows; r++) mean += labels[r]!;
  mean /= rows;
  let residual = 0;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    residual += (labels[r]! - predictions[r]!) ** 2;
    total += (labels[r]! - mean) ** 2;
  }
  return total > 0 ? 1 - residual / total : Number.NaN;
}
