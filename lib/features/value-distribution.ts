import { addToDDSketch, ddsketchQuantile, emptyDDSketch, mergeDDSketches, type DDSketchState } from '../statistics/ddsketch';

/** Distinct values counted exactly before a column's distribution falls back to its sketch. */
export const EXACT_DISTINCT_LIMIT = 100_000;

/** Relative accuracy of the fallback sketch: a quantile is within 0.1 % of the true one. */
export const SKETCH_RELATIVE_ACCURACY = 0.001;

const SKETCH_BUFFER = 4096;

/** A number as JSON keeps it: JSON.stringify writes NaN and ±Infinity as null and -0 as 0, so those travel as strings. */
export type JsonNumber = number | 'NaN' | 'Infinity' | '-Infinity' | '-0';

export function toJsonNumber(value: number): JsonNumber {
  if (Object.is(value, -0)) return '-0';
  return Number.isFinite(value) ? value : (String(value) as JsonNumber);
}

export function fromJsonNumber(value: JsonNumber): number {
  if (typeof value === 'number') return value;
  if (value === '-0') return -0;
  if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
  throw new Error(`not a number of a statistics state: ${JSON.stringify(value)}`);
}

/**
 * A ValueDistribution as plain JSON, to be merged with those of other partitions of the rows
 * (ValueDistribution.merge). `values` and `counts` are the exact counts, ascending by value, or
 * null once the partition alone had more than EXACT_DISTINCT_LIMIT distinct values.
 */
export interface ValueDistributionState {
  count: number;
  values: JsonNumber[] | null;
  counts: number[] | null;
  /** The fallback sketch; null for a distribution kept without one. */
  sketch: DDSketchState | null;
}

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
  private sketch: DDSketchState | null;
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

  /** What this distribution holds, as plain JSON (the sketch's buffer is flushed into it first). */
  state(): ValueDistributionState {
    this.flush();
    const exact = this.counts === null ? null : [...this.counts.entries()].sort((a, b) => compareNumbers(a[0], b[0]));
    return {
      count: this.count,
      values: exact === null ? null : exact.map(([value]) => toJsonNumber(value)),
      counts: exact === null ? null : exact.map(([, count]) => count),
      sketch: this.sketch === null ? null : copySketch(this.sketch),
    };
  }

  /**
   * Adds another partition's distribution. Counts stay exact while the merged distinct values are
   * at most EXACT_DISTINCT_LIMIT, as if every row had been added here; past it (or when either side
   * already fell back) the merged sketch answers, which is the sketch of all the rows.
   */
  merge(state: ValueDistributionState): void {
    if ((state.sketch === null) !== (this.sketch === null)) {
      throw new Error(
        `cannot merge a value distribution ${state.sketch === null ? 'without' : 'with'} a sketch into one ${this.sketch === null ? 'without' : 'with'}`,
      );
    }
    if (state.values !== null && state.counts !== null && state.values.length !== state.counts.length) {
      throw new Error(`a value distribution state has ${state.values.length} values but ${state.counts.length} counts`);
    }
    this.count += state.count;
    const counts = this.counts;
    if (counts !== null) {
      if (state.values === null || state.counts === null) this.counts = null;
      else {
        for (let i = 0; i < state.values.length; i++) {
          const value = fromJsonNumber(state.values[i]!);
          const seen = counts.get(value);
          if (seen !== undefined) counts.set(value, seen + state.counts[i]!);
          else if (counts.size < EXACT_DISTINCT_LIMIT) counts.set(value, state.counts[i]!);
          else {
            this.counts = null;
            break;
          }
        }
      }
    }
    if (this.sketch !== null) {
      this.flush();
      this.sketch = mergeDDSketches(this.sketch, state.sketch!);
    }
  }

  /** The distribution of the rows of every state, merged in the order given. */
  static fromStates(withSketch: boolean, states: readonly ValueDistributionState[]): ValueDistribution {
    const merged = new ValueDistribution(withSketch);
    for (const state of states) merged.merge(state);
    return merged;
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

/** Ascending, NaN last: a total order, so that a state's values are listed the same way on every site. */
function compareNumbers(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a - b;
}

function copySketch(sketch: DDSketchState): DDSketchState {
  const { positive, negative } = sketch;
  return {
    ...sketch,
    positive: { offset: positive.offset, counts: positive.counts.slice() },
    negative: { offset: negative.offset, counts: negative.counts.slice() },
  };
}
