import type { BinaryCurves } from '../evaluation-report';
import type { BinaryState } from './binary-state';
import { firstAtOrAbove, precisionRecallF1 } from './binary-metrics';

/** Vertices a plotted curve keeps at most: enough for a smooth line, small in the report's JSON. */
export const MAX_CURVE_VERTICES = 300;

/** Thresholds of the confusion table: 0, 0.05, …, 1. */
const THRESHOLD_STEPS = 20;
const CALIBRATION_BINS = 10;

/**
 * The curves of the report from the table of distinct scores. Vertex k of both curves predicts
 * positive the rows scoring at or above the k-th highest distinct score; vertex 0 predicts none,
 * and its threshold is the highest score + 1 (scikit-learn's former convention: JSON has no
 * Infinity). The ROC curve (fpr, tpr) is empty when the rows lack a class, the PR curve (recall,
 * precision; precision 1 at vertex 0) when they have no positive. The plotted curves are thinned
 * to at most MAX_CURVE_VERTICES evenly along their length, endpoints kept; the metrics come from
 * every vertex (binaryMetricsOf).
 */
export function binaryCurvesOf(state: BinaryState, maxVertices = MAX_CURVE_VERTICES): BinaryCurves {
  const { scores, positives, negatives } = state;
  const m = scores.length;
  // Cumulative counts from the top: vertex k holds the rows of the k highest distinct scores.
  const tp = new Float64Array(m + 1);
  const fp = new Float64Array(m + 1);
  const thresholds = new Float64Array(m + 1);
  thresholds[0] = m > 0 ? scores[m - 1]! + 1 : 1;
  for (let k = 1; k <= m; k++) {
    const i = m - k;
    tp[k] = tp[k - 1]! + positives[i]!;
    fp[k] = fp[k - 1]! + negatives[i]!;
    thresholds[k] = scores[i]!;
  }
  const P = tp[m]!;
  const N = fp[m]!;
  const n = P + N;

  const roc: BinaryCurves['roc'] = { fpr: [], tpr: [], thresholds: [] };
  if (P > 0 && N > 0) {
    for (const k of thinned(m + 1, (k) => fp[k]! / N + tp[k]! / P, maxVertices)) {
      roc.fpr.push(fp[k]! / N);
      roc.tpr.push(tp[k]! / P);
      roc.thresholds.push(thresholds[k]!);
    }
  }
  const pr: BinaryCurves['pr'] = { recall: [], precision: [], thresholds: [] };
  if (P > 0) {
    // Along the PR curve recall alone can stand still for long stretches (negatives only): the
    // share of rows predicted positive moves on then, so positions are spread by both.
    for (const k of thinned(m + 1, (k) => tp[k]! / P + (tp[k]! + fp[k]!) / n, maxVertices)) {
      pr.recall.push(tp[k]! / P);
      pr.precision.push(k === 0 ? 1 : tp[k]! / (tp[k]! + fp[k]!));
      pr.thresholds.push(thresholds[k]!);
    }
  }
  return { roc, pr, thresholds: thresholdTable(scores, tp, fp), calibration: calibrationOf(state) };
}

/**
 * Indices of at most `max` of `count` vertices, spread evenly along a curve whose vertex k lies at
 * `position(k)` (non-decreasing): the first vertex in each of max − 1 equal stretches, and the last.
 */
export function thinned(count: number, position: (k: number) => number, max: number): number[] {
  if (count <= max) return Array.from({ length: count }, (_, k) => k);
  const first = position(0);
  const span = position(count - 1) - first;
  const keep = [0];
  if (span > 0 && max > 2) {
    const step = span / (max - 2);
    let last = 0;
    for (let k = 1; k < count - 1; k++) {
      const stretch = Math.floor((position(k) - first) / step);
      if (stretch > last && stretch <= max - 3) {
        keep.push(k);
        last = stretch;
      }
    }
  }
  keep.push(count - 1);
  return keep;
}

/**
 * Confusion counts with precision, recall and F1 at 0, 0.05, …, 1 (positive when score ≥ threshold),
 * read off the cumulative counts from the top: the rows scoring ≥ t are vertex m − (first index ≥ t).
 */
function thresholdTable(scores: Float32Array, tp: Float64Array, fp: Float64Array): BinaryCurves['thresholds'] {
  const m = scores.length;
  const P = tp[m]!;
  const N = fp[m]!;
  const out: BinaryCurves['thresholds'] = [];
  for (let k = 0; k <= THRESHOLD_STEPS; k++) {
    const threshold = k / THRESHOLD_STEPS;
    const at = m - firstAtOrAbove(scores, threshold);
    const c = { tp: tp[at]!, fp: fp[at]!, tn: N - fp[at]!, fn: P - tp[at]! };
    out.push({ threshold, ...c, ...precisionRecallF1(c) });
  }
  return out;
}

/**
 * Reliability in 10 equal-width bins of the score: [0, 0.1), …, [0.9, 1] (the last closed; scores
 * outside [0, 1] fall in the end bins). Bins without rows are left out.
 */
function calibrationOf(state: BinaryState): BinaryCurves['calibration'] {
  const rows = new Float64Array(CALIBRATION_BINS);
  const positives = new Float64Array(CALIBRATION_BINS);
  const scoreSum = new Float64Array(CALIBRATION_BINS);
  for (let i = 0; i < state.scores.length; i++) {
    const s = state.scores[i]!;
    const b = Math.min(CALIBRATION_BINS - 1, Math.max(0, Math.floor(s * CALIBRATION_BINS)));
    const count = state.positives[i]! + state.negatives[i]!;
    rows[b]! += count;
    positives[b]! += state.positives[i]!;
    scoreSum[b]! += count * s;
  }
  const out: BinaryCurves['calibration'] = [];
  for (let b = 0; b < CALIBRATION_BINS; b++) {
    if (rows[b] === 0) continue;
    out.push({
      lower: b / CALIBRATION_BINS,
      upper: (b + 1) / CALIBRATION_BINS,
      rows: rows[b]!,
      meanPredicted: scoreSum[b]! / rows[b]!,
      observedRate: positives[b]! / rows[b]!,
    });
  }
  return out;
}
