import { addToDDSketch, ddsketchQuantile, emptyDDSketch, type DDSketchState } from '../statistics/ddsketch';

/** Distinct values counted exactly before a column's distribution falls back to its sketch. */
export const EXACT_DISTINCT_LIMIT = 100_000;

/** Relative accuracy of the fallback sketch: a quantile is within 0.1 % of the true one. */
export const SKETCH_RELATIVE_ACCURACY = 0.001;

const SKETCH_BUFFER = 4096;

/**
 * The train split's values of one numeric column, for the statistics a mean cannot give: median,
 * most frequent value, quantile boundaries. Counts are exact (value -> count) while the column has
 * at most EXACT_DISTINCT_LIMIT distinct values, which covers codes, counts, prices, distances and
 * the like; a continuous column with more falls back to a DDSketch (lib/statistics/ddsketch.ts)
 * fed alongside from the first value. Both are independent of the order rows arrive in, so the fit
 * is the same whatever the partitioning. One pass; memory bounded by the limit, not by the rows.
 *
 * Quantile convention (exact and sketch alike): the q-quantile is the value of rank
 * floor(q · (n − 1)) in ascending order, a value the column holds (the sketch: within 0.1 % of one).
 */
export class ValueDistribution {
  count = 0;
  private counts: Map<number, number> | null = new Map();
  private readonly sketch: DDSketchState | null;
  private readonly buffer: Float64Array;
  private buffered = 0;

  /** `withSketch`: keep the fallback (median, quantiles); without it only exact answers are given. */
  constructor(withSketch: boolean) {
    this.sketch = withSketch ? emptyDDSketch(SKETCH_RELATIVE_ACCURACY) : null;
    this.buffer = new Float64Array(withSketch ? SKETCH_BUFFER : 0);
  }

  add(value: number): void {
    this.count++;
    const counts = this.counts;
    if (counts !== null) {
      const seen = counts.get(value);
      if (seen !== undefined) counts.set(value, seen + 1);
      else if (counts.size < EXACT_DISTINCT_LIMIT) counts.set(value, 1);
      else this.counts = null; // too many distinct values: free them; the sketch answers from here on
    }
    if (this.sketch !== null) {
      this.buffer[this.buffered++] = value;
      if (this.buffered === this.buffer.length) this.flush();
    }
  }

  /** Whether the answers are exact (the column stayed under EXACT_DISTINCT_LIMIT distinct values). */
  get exact(): boolean {
    return this.counts !== null;
  }

  private flush(): void {
    if (this.sketch !== null && this.buffered > 0) addToDDSketch(this.sketch, this.buffer, this.buffered);
    this.buffered = 0;
  }

  /** The q-quantiles for each q, ascending with q; NaN for each when there are no values. */
  quantiles(qs: readonly number[]): number[] {
    if (this.count === 0) return qs.map(() => NaN);
    if (this.counts === null) {
      const sketch = this.sketch;
      if (sketch === null) return qs.map(() => NaN);
      this.flush();
      return qs.map((q) => ddsketchQuantile(sketch, q));
    }
    const sorted = [...this.counts.entries()].sort((a, b) => a[0] - b[0]);
    // One sweep: the ranks ascend with q.
    const out: number[] = [];
    let i = 0;
    let through = sorted[0]![1]; // rows with a value up to and including sorted[i]
    for (const q of qs) {
      const rank = Math.floor(q * (this.count - 1));
      while (through <= rank && i < sorted.length - 1) through += sorted[++i]![1];
      out.push(sorted[i]![0]);
    }
    return out;
  }

  /** The most frequent value (ties: the smallest); null when there are no values or counts are not exact. */
  mostFrequent(): number | null {
    if (this.counts === null || this.counts.size === 0) return null;
    let best = 0;
    let bestCount = 0;
    for (const [value, count] of this.counts) {
      if (count > bestCount || (count === bestCount && value < best)) {
        best = value;
        bestCount = count;
      }
    }
    return best;
  }
}
