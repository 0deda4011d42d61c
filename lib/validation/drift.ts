import type { ColumnKind } from '../data/source-schema';
import type { DatasetStatistics, NumericColumnState, TextColumnState } from '../statistics/dataset-stats';
import type { Anomaly } from './anomalies';
import { checkSeverity, columnOverrides, columnSeverityPath, DEFAULT_VALIDATION_CHECKS, type ValidationChecks } from './checks';
import { formatCategory, formatDistance, formatPercent, formatValue } from './format-values';
import { alignAtoms } from './numeric-atoms';

/**
 * Drift between the previous dataset and this one, per column, as TFDV measures it: the
 * L-infinity distance between category frequencies for text columns, the Jensen–Shannon
 * divergence (base 2, in [0, 1]) for numeric and timestamp columns. Both compare the distribution
 * of the present (non-null) values; nulls are the presence check's business, and NaN and ±Infinity
 * are the non-finite check's, so a numeric column's divergence is over its finite values.
 */

export type DriftMeasure = 'l_infinity' | 'jensen_shannon';

export interface CategoricalDrift {
  distance: number;
  /** The category whose frequency moved most; null for the values outside both sides' kept top-K ("other"). */
  category: string | null;
  previous: number;
  current: number;
}

export interface NumericDrift {
  distance: number;
  /** Bins the divergence was computed over. */
  bins: number;
}

export interface ColumnDrift {
  column: string;
  kind: ColumnKind;
  measure: DriftMeasure;
  /** null when a side has no values to compare (all null, or no finite value). */
  distance: number | null;
  threshold: number;
  /** distance > threshold (reported or not, depending on the drift check's severity). */
  drifted: boolean;
  /** L-infinity: the category that moved most and its frequency before and after. */
  category?: string | null;
  previousFrequency?: number;
  currentFrequency?: number;
  /** Jensen–Shannon: the bins it was computed over, and the mean of the finite values before and after. */
  bins?: number;
  previousMean?: number;
  currentMean?: number;
}

export interface DriftResult {
  /** Columns present in both datasets with the same kind, in the current statistics' order. */
  columns: ColumnDrift[];
  anomalies: Anomaly[];
}

/**
 * max over values v of |p(v) − q(v)|, p and q each side's counts over its present values. The
 * values compared are the union of both sides' kept top-K lists (a value one side did not keep
 * counts 0 there), plus one "other" category holding the rows each side's top-K cap dropped.
 * While neither side is capped (10,000 distinct values by default) this is the exact distance; once
 * capped, a value dropped on one side counts 0 there and its rows sit in "other", so the distance
 * may be overstated by up to that side's "other" frequency. null when a side has no present value.
 */
export function categoricalDrift(previous: TextColumnState, current: TextColumnState): CategoricalDrift | null {
  const np = previous.count - previous.missing;
  const nq = current.count - current.missing;
  if (np === 0 || nq === 0) return null;
  const counts = new Map<string, [number, number]>();
  for (const [value, n] of previous.top) counts.set(value, [n, 0]);
  for (const [value, n] of current.top) {
    const entry = counts.get(value);
    if (entry === undefined) counts.set(value, [0, n]);
    else entry[1] = n;
  }
  let best: CategoricalDrift = {
    distance: Math.abs(previous.other / np - current.other / nq),
    category: null,
    previous: previous.other / np,
    current: current.other / nq,
  };
  // Ties go to "other", then to the value first in the previous ranking, then the current one: a fixed, data-only order.
  for (const [value, [a, b]] of counts) {
    const d = Math.abs(a / np - b / nq);
    if (d > best.distance) best = { distance: d, category: value, previous: a / np, current: b / nq };
  }
  return best;
}

/**
 * The binning of the numeric divergence, and what it costs.
 *
 * Both sides' finite values are taken as the statistics hold them: per sketch bucket, with exact
 * counts. Two number columns of the same relative accuracy share DDSketch's bucket mapping, and two
 * timestamp sketches are lifted to the coarser of their levels, so both sides are counted on the
 * very same buckets and nothing is re-binned proportionally or interpolated.
 *
 * Adjacent buckets are then grouped into at most `maxBins` bins at the quantiles j/maxBins of the
 * mixture (p + q) / 2: each bin holds about the same share of the two datasets together. Equal-width
 * bins over the union range would put nearly everything in one bin when a single outlier stretches
 * the range; mixture quantiles follow the data, and are symmetric in the two sides. With an even
 * bin count, two datasets with disjoint supports are split at the mixture's median, which lies
 * between them, and score exactly 1; identical ones score exactly 0.
 *
 * Error: the result is the exact divergence of the two datasets coarsened to these bins. Coarsening
 * never increases a divergence (data-processing inequality), so it is a lower bound on the
 * divergence at finer resolution: a change confined within one bin (about 1/maxBins of the mass)
 * or within one sketch bucket (±1% relative for numbers at the default accuracy, 2^level ms for
 * timestamps) is not seen. Fewer bins under-report more; more bins add sampling noise, whose
 * expected divergence between two samples of one distribution is about (bins − 1) / (8 ln 2) ·
 * (1/n₁ + 1/n₂): 0.0007 for 20 bins and 10,000 rows a side, far under the 0.1 default threshold.
 */
export function numericDrift(
  previous: NumericColumnState,
  current: NumericColumnState,
  maxBins = DEFAULT_VALIDATION_CHECKS.drift.numericBins,
): NumericDrift | null {
  if (!(Number.isInteger(maxBins) && maxBins >= 2)) throw new RangeError(`maxBins must be an integer ≥ 2, got ${maxBins}`);
  if (previous.finite === 0 || current.finite === 0) return null;
  const aligned = alignAtoms(previous, current);
  const totalP = aligned.a.reduce((s, n) => s + n, 0);
  const totalQ = aligned.b.reduce((s, n) => s + n, 0);
  const atoms = aligned.values.length;
  const binsP: number[] = [];
  const binsQ: number[] = [];
  let p = 0;
  let q = 0;
  let mixture = 0;
  let next = 1;
  for (let i = 0; i < atoms; i++) {
    const pi = aligned.a[i]! / totalP;
    const qi = aligned.b[i]! / totalQ;
    p += pi;
    q += qi;
    mixture += (pi + qi) / 2;
    // The tolerance keeps a cut that the sum reaches only up to rounding (a side's mass of exactly 1/2, say).
    if (atoms <= maxBins || i === atoms - 1 || mixture >= next / maxBins - 1e-9) {
      binsP.push(p);
      binsQ.push(q);
      p = 0;
      q = 0;
      while (next <= maxBins && next / maxBins - 1e-9 <= mixture) next++;
    }
  }
  return { distance: jensenShannon(binsP, binsQ), bins: binsP.length };
}

/** Jensen–Shannon divergence, base 2, of two distributions on the same bins (0 log 0 = 0), clamped to [0, 1] against rounding. */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length) throw new RangeError('the two distributions must have the same bins');
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i]!;
    const b = q[i]!;
    const m = (a + b) / 2;
    if (a > 0) sum += a * Math.log2(a / m);
    if (b > 0) sum += b * Math.log2(b / m);
  }
  return Math.min(Math.max(sum / 2, 0), 1);
}

/**
 * Drift of every column the two datasets share with the same kind, and an anomaly (check 'drift')
 * for each over its threshold unless the check is off. A column new, gone or re-typed since the
 * previous dataset is left to the schema checks.
 */
export function computeDrift(previous: DatasetStatistics, current: DatasetStatistics, checks: ValidationChecks = DEFAULT_VALIDATION_CHECKS): DriftResult {
  const columns: ColumnDrift[] = [];
  const anomalies: Anomaly[] = [];
  for (const [name, cur] of Object.entries(current.columns)) {
    if (!Object.hasOwn(previous.columns, name)) continue;
    const prev = previous.columns[name]!;
    const override = columnOverrides(checks, name).driftThreshold;
    let drift: ColumnDrift;
    if (prev.kind === 'text' && cur.kind === 'text') {
      const d = categoricalDrift(prev, cur);
      const threshold = override ?? checks.drift.categorical;
      const base = { column: name, kind: 'text' as const, measure: 'l_infinity' as const, threshold };
      drift =
        d === null
          ? { ...base, distance: null, drifted: false }
          : {
              ...base,
              distance: d.distance,
              drifted: d.distance > threshold,
              category: d.category,
              previousFrequency: d.previous,
              currentFrequency: d.current,
            };
    } else if (prev.kind !== 'text' && cur.kind !== 'text' && prev.kind === cur.kind) {
      const d = numericDrift(prev, cur, checks.drift.numericBins);
      const threshold = override ?? checks.drift.numeric;
      const base = { column: name, kind: cur.kind, measure: 'jensen_shannon' as const, threshold };
      drift =
        d === null
          ? { ...base, distance: null, drifted: false }
          : { ...base, distance: d.distance, drifted: d.distance > threshold, bins: d.bins, previousMean: prev.mean, currentMean: cur.mean };
    } else continue;
    columns.push(drift);
    const severity = checkSeverity(checks, 'drift', name);
    if (drift.drifted && severity !== 'off') {
      anomalies.push({
        check: 'drift',
        column: name,
        severity: severity === 'error' ? 'error' : 'warning',
        value: drift.distance!,
        threshold: drift.threshold,
        message: driftMessage(drift, override !== undefined),
      });
    }
  }
  return { columns, anomalies };
}

/** What moved, in a column's own terms. */
export function describeDrift(drift: ColumnDrift): string {
  if (drift.distance === null) return 'no values on one side to compare';
  if (drift.measure === 'l_infinity') {
    if (drift.distance === 0) return 'same frequencies';
    const what = drift.category === null ? 'values outside the kept top-K' : formatCategory(drift.category!);
    return `largest change: ${what} ${formatPercent(drift.previousFrequency!)} → ${formatPercent(drift.currentFrequency!)}`;
  }
  return `${drift.bins} bins; mean ${formatValue(drift.kind, drift.previousMean!)} → ${formatValue(drift.kind, drift.currentMean!)}`;
}

function driftMessage(drift: ColumnDrift, overridden: boolean): string {
  const measure =
    drift.measure === 'l_infinity' ? 'L-infinity distance between category frequencies' : 'Jensen–Shannon divergence (base 2) between value distributions';
  const raise = overridden
    ? `raise validation.columns[${JSON.stringify(drift.column)}].driftThreshold`
    : `raise validation.drift.${drift.measure === 'l_infinity' ? 'categorical' : 'numeric'} or set validation.columns[${JSON.stringify(drift.column)}].driftThreshold`;
  return (
    `Column ${JSON.stringify(drift.column)} drifted from the previous dataset: ${measure} ${formatDistance(drift.distance!)}, over the threshold ` +
    `${formatDistance(drift.threshold)} (${describeDrift(drift)}). Check the source for a changed filter, join or upstream process; ` +
    `if the new distribution is expected, ${raise}, or set ${columnSeverityPath('drift', drift.column)} to 'off'.`
  );
}
