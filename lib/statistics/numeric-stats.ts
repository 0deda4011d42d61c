import type { NumberChunk } from './arrow-columns';
import { addToDDSketch, ddsketchBins, ddsketchQuantile, emptyDDSketch, mergeDDSketches, type DDSketchState } from './ddsketch';
import { addToFixedHistogram, emptyFixedHistogram, equalWidthHistogram, mergeFixedHistograms, type FixedHistogramState, type Histogram } from './histogram';
import {
  addToWidthSketch,
  emptyWidthSketch,
  mergeWidthSketches,
  widthSketchBins,
  widthSketchError,
  widthSketchQuantile,
  type WidthSketchState,
} from './width-sketch';

/** What a numeric or timestamp column's statistics hold; every field is plain JSON. */
interface NumericStateBase {
  /** Rows seen, null ones included. */
  count: number;
  missing: number;
  nan: number;
  /** +Infinity and -Infinity. */
  infinite: number;
  /** Finite values: the ones min, max, mean, variance, the sketch and the histogram describe. */
  finite: number;
  zeros: number;
  /** null until a finite value is seen (JSON has no Infinity). */
  min: number | null;
  max: number | null;
  /** Welford's running mean and sum of squared deviations from it. */
  mean: number;
  m2: number;
  /** Exact counts on caller-given edges, when the column asked for them. */
  fixed: FixedHistogramState | null;
}

export interface NumberColumnState extends NumericStateBase {
  kind: 'number';
  sketch: DDSketchState;
}

export interface TimestampColumnState extends NumericStateBase {
  kind: 'timestamp';
  sketch: WidthSketchState;
}

export type NumericColumnState = NumberColumnState | TimestampColumnState;

export interface NumericStatsOptions {
  /** DDSketch relative accuracy for number columns. */
  relativeAccuracy?: number;
  /** Most buckets a timestamp column's sketch keeps. */
  timestampBins?: number;
  /** Edges for an exact fixed-edge histogram. */
  histogramEdges?: readonly number[];
}

export function emptyNumericState(kind: 'number' | 'timestamp', options: NumericStatsOptions = {}): NumericColumnState {
  const base: NumericStateBase = {
    count: 0,
    missing: 0,
    nan: 0,
    infinite: 0,
    finite: 0,
    zeros: 0,
    min: null,
    max: null,
    mean: 0,
    m2: 0,
    fixed: options.histogramEdges ? emptyFixedHistogram(options.histogramEdges) : null,
  };
  return kind === 'number'
    ? { kind, ...base, sketch: emptyDDSketch(options.relativeAccuracy) }
    : { kind, ...base, sketch: emptyWidthSketch(options.timestampBins) };
}

/**
 * Chan et al.'s combination of (n, mean, M2). The larger side goes first (a fixed order for ties),
 * so that merge(a, b) and merge(b, a) compute the same doubles; the update form mean_a + δ·n_b/n
 * keeps its precision where values sit far from zero, which (n_a·mean_a + n_b·mean_b)/n does not.
 */
function combineMoments(na: number, ma: number, m2a: number, nb: number, mb: number, m2b: number): { mean: number; m2: number } {
  if (nb === 0) return { mean: ma, m2: m2a };
  if (na === 0) return { mean: mb, m2: m2b };
  if (na < nb || (na === nb && (ma > mb || (ma === mb && m2a > m2b)))) return combineMoments(nb, mb, m2b, na, ma, m2a);
  const n = na + nb;
  const delta = mb - ma;
  return { mean: ma + delta * (nb / n), m2: m2a + m2b + delta * delta * ((na * nb) / n) };
}

/**
 * Adds one chunk, in place. `scratch` (at least chunk.length long) receives the finite values, so
 * the sketch and histogram loops run over a dense array.
 */
export function addNumberChunk(state: NumericColumnState, chunk: NumberChunk, scratch: Float64Array): void {
  const { values, length, validity, bitOffset } = chunk;
  let missing = 0;
  let nan = 0;
  let infinite = 0;
  let zeros = 0;
  let finite = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < length; i++) {
    if (validity !== null) {
      const bit = bitOffset + i;
      if ((validity[bit >> 3]! & (1 << (bit & 7))) === 0) {
        missing++;
        continue;
      }
    }
    const v = values[i]!;
    // v - v is 0 for every finite v and NaN for NaN and ±Infinity.
    if (v - v !== 0) {
      if (v !== v) nan++;
      else infinite++;
      continue;
    }
    scratch[finite++] = v;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v === 0) zeros++;
  }
  state.count += length;
  state.missing += missing;
  state.nan += nan;
  state.infinite += infinite;
  if (finite === 0) return;

  // Two-pass moments over the chunk (with the compensating term), then one combination per chunk.
  const mean = sum / finite;
  let squares = 0;
  let deviations = 0;
  for (let i = 0; i < finite; i++) {
    const d = scratch[i]! - mean;
    squares += d * d;
    deviations += d;
  }
  const m2 = Math.max(squares - (deviations * deviations) / finite, 0);
  const combined = combineMoments(state.finite, state.mean, state.m2, finite, mean, m2);
  state.mean = combined.mean;
  state.m2 = combined.m2;
  state.finite += finite;
  state.zeros += zeros;
  // +0 turns -0 into 0: JSON writes -0 as 0, and the state must read back as written.
  state.min = state.min === null ? min + 0 : Math.min(state.min, min + 0);
  state.max = state.max === null ? max + 0 : Math.max(state.max, max + 0);

  if (state.kind === 'number') addToDDSketch(state.sketch, scratch, finite);
  else addToWidthSketch(state.sketch, scratch, finite);
  if (state.fixed !== null) addToFixedHistogram(state.fixed, scratch, finite);
}

function mergeExtreme(a: number | null, b: number | null, pick: (x: number, y: number) => number): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return pick(a, b);
}

export function mergeNumericStates(a: NumericColumnState, b: NumericColumnState): NumericColumnState {
  const moments = combineMoments(a.finite, a.mean, a.m2, b.finite, b.mean, b.m2);
  const fixed = a.fixed !== null && b.fixed !== null ? mergeFixedHistograms(a.fixed, b.fixed) : null;
  if ((a.fixed === null) !== (b.fixed === null)) throw new Error('cannot merge a column with a fixed histogram and one without');
  const base: NumericStateBase = {
    count: a.count + b.count,
    missing: a.missing + b.missing,
    nan: a.nan + b.nan,
    infinite: a.infinite + b.infinite,
    finite: a.finite + b.finite,
    zeros: a.zeros + b.zeros,
    min: mergeExtreme(a.min, b.min, Math.min),
    max: mergeExtreme(a.max, b.max, Math.max),
    mean: moments.mean,
    m2: moments.m2,
    fixed,
  };
  if (a.kind === 'number' && b.kind === 'number') return { kind: 'number', ...base, sketch: mergeDDSketches(a.sketch, b.sketch) };
  if (a.kind === 'timestamp' && b.kind === 'timestamp') return { kind: 'timestamp', ...base, sketch: mergeWidthSketches(a.sketch, b.sketch) };
  throw new Error(`cannot merge a ${a.kind} column with a ${b.kind} column`);
}

export const QUANTILES = { p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 } as const;

export type Quantiles = Record<keyof typeof QUANTILES, number>;

export interface NumericSummary {
  kind: 'number' | 'timestamp';
  count: number;
  missing: number;
  nan: number;
  infinite: number;
  finite: number;
  zeros: number;
  /** The rest are null when no finite value was seen. */
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Population variance of the finite values. */
  variance: number | null;
  stddev: number | null;
  quantiles: Quantiles | null;
  /**
   * How far each quantile may be from the exact one of rank floor(q·(n−1)): a fraction of its
   * value (number columns) or an amount in the column's units (timestamps).
   */
  quantileError: { kind: 'relative' | 'absolute'; bound: number };
  /** Equal-width over [min, max], drawn from the sketch (see histogram.ts): approximate near edges. */
  histogram: Histogram | null;
  /** Exact, on the edges the column gave. */
  fixedHistogram: FixedHistogramState | null;
}

export function summarizeNumeric(state: NumericColumnState, histogramBuckets: number): NumericSummary {
  const quantileError =
    state.kind === 'number'
      ? { kind: 'relative' as const, bound: state.sketch.relativeAccuracy }
      : { kind: 'absolute' as const, bound: widthSketchError(state.sketch) };
  const summary: NumericSummary = {
    kind: state.kind,
    count: state.count,
    missing: state.missing,
    nan: state.nan,
    infinite: state.infinite,
    finite: state.finite,
    zeros: state.zeros,
    min: state.min,
    max: state.max,
    mean: null,
    variance: null,
    stddev: null,
    quantiles: null,
    quantileError,
    histogram: null,
    fixedHistogram: state.fixed === null ? null : { ...state.fixed, edges: state.fixed.edges.slice(), counts: state.fixed.counts.slice() },
  };
  if (state.finite === 0 || state.min === null || state.max === null) return summary;
  const { min, max } = state;
  // The exact min and max bound every quantile; clamping only moves an estimate towards the truth.
  const clamp = (v: number): number => Math.min(Math.max(v, min), max);
  const quantile = (q: number): number => clamp(state.kind === 'number' ? ddsketchQuantile(state.sketch, q) : widthSketchQuantile(state.sketch, q));
  const bins = state.kind === 'number' ? ddsketchBins(state.sketch) : widthSketchBins(state.sketch);
  const variance = state.m2 / state.finite;
  return {
    ...summary,
    mean: state.mean,
    variance,
    stddev: Math.sqrt(variance),
    quantiles: Object.fromEntries(Object.entries(QUANTILES).map(([name, q]) => [name, quantile(q)])) as Quantiles,
    histogram: equalWidthHistogram(bins, min, max, histogramBuckets),
  };
}
