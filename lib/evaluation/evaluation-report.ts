import type { EvaluationMetrics } from '../../contracts/refs';
import type { Task } from '../features/label-task';

/**
 * The full evaluation of a model on its test split, as the merge of per-shard metric states gives
 * it: the headline metrics, then what the report plots. Stored as a JSON artifact; the registry keeps
 * its URI with the model version.
 */
export interface EvaluationReport {
  task: Task;
  metrics: EvaluationMetrics;
  rows: number;
  binary?: BinaryCurves;
  multiclass?: { classes: string[]; /** [actual][predicted] row counts, class order. */ confusion: number[][] };
  regression?: {
    /** Quantiles of |prediction − label| in the label's units. */
    absoluteErrorQuantiles: Array<{ q: number; value: number }>;
    /** Mean of prediction − label (the bias) in the label's units; optional, added with the metric states. */
    meanError?: number;
  };
  slices: SliceReport[];
}

/** Exact curves of a binary model: every distinct score is a threshold; plotted curves keep at most a few hundred vertices. */
export interface BinaryCurves {
  roc: { fpr: number[]; tpr: number[]; thresholds: number[] };
  pr: { recall: number[]; precision: number[]; thresholds: number[] };
  /** Confusion counts with precision, recall and F1 at thresholds 0, 0.05, ..., 1 (a row is positive when score ≥ threshold). */
  thresholds: Array<{ threshold: number; tp: number; fp: number; tn: number; fn: number; precision: number; recall: number; f1: number }>;
  /** Reliability: rows by predicted probability in equal-width bins. */
  calibration: Array<{ lower: number; upper: number; rows: number; meanPredicted: number; observedRate: number }>;
}

/** The metrics of the `top` values of one feature by test rows; the other values' rows are counted, not shown. */
export interface SliceReport {
  feature: string;
  values: Array<{ value: string; rows: number; metrics: EvaluationMetrics }>;
  otherValues: number;
  otherRows: number;
}
