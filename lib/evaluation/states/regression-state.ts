import type { RegressionMetrics } from '../../../contracts/refs';
import { addToDDSketch, ddsketchQuantile, emptyDDSketch, mergeDDSketches, type DDSketchState } from '../../statistics/ddsketch';

/** How encoded labels and outputs map to the label's units: y = value · std + mean. */
export interface LabelScale {
  mean: number;
  std: number;
}

/** Labels and predictions already in the label's units. */
export const IDENTITY_SCALE: LabelScale = { mean: 0, std: 1 };

/**
 * The mergeable state of a regression label, in the label's own units: the count, the labels'
 * mean and sum of squared deviations (Welford within a shard, Chan et al. across shards), the sums
 * of squared, absolute and signed errors, and a DDSketch of |error| for its quantiles. A merge
 * gives the figures of all rows up to float rounding (sums in another order), and the very sketch.
 */
export interface RegressionState {
  task: 'regression';
  /** The transform's label scale the state was accumulated with (merged states must share it). */
  scale: LabelScale;
  rows: number;
  /** Mean of the labels. */
  mean: number;
  /** Σ (y − mean)². */
  m2: number;
  /** Σ (prediction − y)². */
  sse: number;
  /** Σ |prediction − y|. */
  sae: number;
  /** Σ (prediction − y): the bias, once divided by rows. */
  sumErrors: number;
  absoluteErrors: DDSketchState;
}

export function emptyRegressionState(scale: LabelScale): RegressionState {
  return { task: 'regression', scale: { ...scale }, rows: 0, mean: 0, m2: 0, sse: 0, sae: 0, sumErrors: 0, absoluteErrors: emptyDDSketch() };
}

/**
 * Adds rows in place. `labels` and `outputs` in the scale's terms (standardised, as encoded shards
 * and the model hold them, or IDENTITY_SCALE for values in the label's units); both are
 * de-standardised as y = v · std + mean before anything is summed.
 */
export function addRegressionRows(state: RegressionState, labels: ArrayLike<number>, outputs: ArrayLike<number>, rows: number, scale: LabelScale): void {
  const absolute = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const y = labels[r]! * scale.std + scale.mean;
    const error = outputs[r]! * scale.std + scale.mean - y;
    state.sse += error * error;
    state.sae += Math.abs(error);
    state.sumErrors += error;
    absolute[r] = Math.abs(error);
    state.rows++;
    const delta = y - state.mean;
    state.mean += delta / state.rows;
    state.m2 += delta * (y - state.mean);
  }
  // A non-finite error (a diverged model) has no bin; its rows still poison the sums, as they should.
  let finite = 0;
  for (let r = 0; r < rows; r++) if (Number.isFinite(absolute[r]!)) absolute[finite++] = absolute[r]!;
  addToDDSketch(state.absoluteErrors, absolute, finite);
}

/** Chan et al.'s pairwise update of the mean and M2; sums add. Merging with an empty state is exact. */
export function mergeRegressionStates(a: RegressionState, b: RegressionState): RegressionState {
  if (a.scale.mean !== b.scale.mean || a.scale.std !== b.scale.std) {
    throw new Error(
      `cannot merge regression states of different label scales (mean ${a.scale.mean}, std ${a.scale.std} and mean ${b.scale.mean}, std ${b.scale.std}): they come from different transforms`,
    );
  }
  const absoluteErrors = mergeDDSketches(a.absoluteErrors, b.absoluteErrors);
  if (a.rows === 0) return { ...b, scale: { ...b.scale }, absoluteErrors };
  if (b.rows === 0) return { ...a, scale: { ...a.scale }, absoluteErrors };
  const rows = a.rows + b.rows;
  const delta = b.mean - a.mean;
  return {
    task: 'regression',
    scale: { ...a.scale },
    rows,
    mean: a.mean + (delta * b.rows) / rows,
    m2: a.m2 + b.m2 + (delta * delta * a.rows * b.rows) / rows,
    sse: a.sse + b.sse,
    sae: a.sae + b.sae,
    sumErrors: a.sumErrors + b.sumErrors,
    absoluteErrors,
  };
}

/** RMSE, MAE and R² = 1 − SSE / SST (NaN when every label is the same: no variance to explain). */
export function regressionMetricsOf(state: RegressionState): RegressionMetrics {
  const n = state.rows;
  if (n === 0) return { task: 'regression', rmse: Number.NaN, mae: Number.NaN, r2: Number.NaN, rows: 0 };
  return {
    task: 'regression',
    rmse: Math.sqrt(state.sse / n),
    mae: state.sae / n,
    r2: state.m2 > 0 ? 1 - state.sse / state.m2 : Number.NaN,
    rows: n,
  };
}

/** Quantiles of |prediction − y| shown in the report. */
export const ERROR_QUANTILES = [0.5, 0.75, 0.9, 0.95, 0.99];

/** Each quantile of |error|, within the sketch's relative accuracy (1 %). */
export function absoluteErrorQuantiles(state: RegressionState, qs: readonly number[] = ERROR_QUANTILES): Array<{ q: number; value: number }> {
  return qs.map((q) => ({ q, value: ddsketchQuantile(state.absoluteErrors, q) }));
}
