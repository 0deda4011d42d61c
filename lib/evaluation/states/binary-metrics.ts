import type { BinaryMetrics } from '../../../contracts/refs';
import type { BinaryState } from './binary-state';

/** Probabilities are clipped to [EPS, 1 - EPS] in the log loss, as classification-metrics' logLoss does. */
const EPS = 1e-7;

/** The threshold of accuracy, precision, recall and F1: a row is predicted positive when its score is ≥ 0.5. */
export const DECISION_THRESHOLD = 0.5;

/** The rows of a table at or above a threshold, and in all. */
export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Index of the first score ≥ t in the ascending table (its length when none is). */
export function firstAtOrAbove(scores: Float32Array, t: number): number {
  let lo = 0;
  let hi = scores.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (scores[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The confusion counts when rows scoring ≥ t are predicted positive. */
export function confusionAt(state: BinaryState, t: number): Confusion {
  const from = firstAtOrAbove(state.scores, t);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < state.scores.length; i++) {
    if (i >= from) {
      tp += state.positives[i]!;
      fp += state.negatives[i]!;
    } else {
      fn += state.positives[i]!;
      tn += state.negatives[i]!;
    }
  }
  return { tp, fp, tn, fn };
}

/** Precision, recall and F1 of a confusion; 0 where a ratio has nothing to divide by (as ClassMetrics). */
export function precisionRecallF1(c: Confusion): { precision: number; recall: number; f1: number } {
  const precision = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : 0;
  const recall = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}

/**
 * Every binary figure from the table of distinct scores (see BinaryState). With P positive and N
 * negative rows, and scores s_1 < … < s_m holding p_i positives and n_i negatives:
 *
 * - ROC-AUC: the trapezoid area under the ROC curve through every distinct threshold, which equals
 *   Mann-Whitney's U / (P·N) with tied (positive, negative) pairs counted ½:
 *   U = Σ_i p_i · (Σ_{j<i} n_j + n_i / 2). It is summed as 2U, a whole number, so it is exact up to
 *   2^53 and the quotient is the correctly rounded AUC, the very double classification-metrics'
 *   rank-sum rocAuc gives. NaN when P or N is 0.
 * - PR-AUC: average precision as scikit-learn's average_precision_score defines it, a step sum
 *   with no interpolation over thresholds descending: AP = Σ_n (R_n − R_{n−1}) · P_n, where at
 *   threshold s_i (rows scoring ≥ s_i predicted positive) P_n = TP/(TP+FP) and R_n = TP/P, and
 *   R_0 = 0. R rises by p_i / P at s_i, so AP = (Σ_i p_i · P_at(s_i)) / P. NaN when P is 0.
 * - log loss: mean of −ln p (positive) or −ln(1 − p) (negative), p clipped to [1e-7, 1 − 1e-7].
 * - Brier: mean of (p − label)².
 * - accuracy, precision, recall, F1 at 0.5 (score ≥ 0.5 predicted positive); positive rate P / n.
 */
export function binaryMetricsOf(state: BinaryState): BinaryMetrics {
  const { scores, positives, negatives } = state;
  const m = scores.length;
  let P = 0;
  let N = 0;
  let logLossSum = 0;
  let brierSum = 0;
  let twiceU = 0;
  for (let i = 0; i < m; i++) {
    const pos = positives[i]!;
    const neg = negatives[i]!;
    const s = scores[i]!;
    twiceU += pos * (2 * N + neg); // N is the negatives below s_i so far
    P += pos;
    N += neg;
    const p = Math.min(1 - EPS, Math.max(EPS, s));
    if (pos > 0) logLossSum -= pos * Math.log(p);
    if (neg > 0) logLossSum -= neg * Math.log(1 - p);
    brierSum += pos * (1 - s) * (1 - s) + neg * s * s;
  }
  const n = P + N;
  // Descending thresholds for average precision: TP and FP of the rows scoring ≥ s_i.
  let tp = 0;
  let fp = 0;
  let apSum = 0;
  for (let i = m - 1; i >= 0; i--) {
    tp += positives[i]!;
    fp += negatives[i]!;
    if (positives[i]! > 0) apSum += positives[i]! * (tp / (tp + fp));
  }
  const c = confusionAt(state, DECISION_THRESHOLD);
  const { precision, recall, f1 } = precisionRecallF1(c);
  return {
    task: 'binary',
    auc: P > 0 && N > 0 ? twiceU / (2 * P * N) : Number.NaN,
    logLoss: n > 0 ? logLossSum / n : Number.NaN,
    accuracy: n > 0 ? (c.tp + c.tn) / n : Number.NaN,
    positiveRate: n > 0 ? P / n : Number.NaN,
    rows: n,
    prAuc: P > 0 ? apSum / P : Number.NaN,
    brier: n > 0 ? brierSum / n : Number.NaN,
    precision,
    recall,
    f1,
  };
}
