/**
 * Histograms that merge exactly.
 *
 * An equal-width histogram over [min, max] cannot be kept per shard: each shard has its own range,
 * and counts binned on different edges cannot be added. So the report's histogram is drawn at the
 * end, from the merged quantile sketch and the exact merged min and max: it is a function of the
 * merged state alone, hence identical for any split and merge order. Its price is that a value is
 * known only to its sketch bin, so a value close to an edge may be counted in the neighbouring bucket.
 *
 * Where exact counts are needed (drift against a reference, say), the caller fixes the edges up
 * front (from the schema or a previous run's histogram); those counts are kept per shard and add up
 * exactly.
 */
export interface Histogram {
  /** buckets + 1 ascending edges; bucket i is [edges[i], edges[i+1]), the last one closed. */
  edges: number[];
  counts: number[];
}

/** Exact counts on caller-given edges, plus the values outside them. */
export interface FixedHistogramState extends Histogram {
  below: number;
  above: number;
}

export function emptyFixedHistogram(edges: readonly number[]): FixedHistogramState {
  if (edges.length < 2) throw new RangeError('a fixed histogram needs at least two edges');
  for (let i = 0; i < edges.length; i++) {
    if (!Number.isFinite(edges[i]) || (i > 0 && !(edges[i]! > edges[i - 1]!))) {
      throw new RangeError(`fixed histogram edges must be finite and strictly increasing, got [${edges.join(', ')}]`);
    }
  }
  // +0 for -0: JSON writes -0 as 0, and the state must read back as written.
  return { edges: edges.map((e) => e + 0), counts: new Array<number>(edges.length - 1).fill(0), below: 0, above: 0 };
}

/** Adds values[0..length) (all finite), in place. */
export function addToFixedHistogram(state: FixedHistogramState, values: Float64Array, length: number): void {
  const { edges, counts } = state;
  const first = edges[0]!;
  const last = edges[edges.length - 1]!;
  for (let i = 0; i < length; i++) {
    const v = values[i]!;
    if (v < first) state.below++;
    else if (v > last) state.above++;
    else {
      // The last bucket whose lower edge is ≤ v.
      let lo = 0;
      let hi = counts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (edges[mid]! <= v) lo = mid;
        else hi = mid - 1;
      }
      counts[lo]!++;
    }
  }
}

export function mergeFixedHistograms(a: FixedHistogramState, b: FixedHistogramState): FixedHistogramState {
  if (a.edges.length !== b.edges.length || a.edges.some((e, i) => e !== b.edges[i])) {
    throw new Error('cannot merge fixed histograms with different edges');
  }
  return { edges: a.edges.slice(), counts: a.counts.map((c, i) => c + b.counts[i]!), below: a.below + b.below, above: a.above + b.above };
}

/** An equal-width histogram of weighted points, every point inside [min, max]. */
export function equalWidthHistogram(points: ReadonlyArray<readonly [value: number, count: number]>, min: number, max: number, buckets: number): Histogram {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
  if (min === max) return { edges: [min, max], counts: [points.reduce((sum, [, c]) => sum + c, 0)] };
  // Divided first so that a range wider than the largest double still has a finite width.
  const width = max / buckets - min / buckets;
  const edges = Array.from({ length: buckets + 1 }, (_, i) => (i === buckets ? max : min + i * width));
  const counts = new Array<number>(buckets).fill(0);
  for (const [value, count] of points) {
    const v = Math.min(Math.max(value, min), max);
    let i = Math.floor((v - min) / width);
    if (!(i >= 0)) i = 0;
    else if (i > buckets - 1) i = buckets - 1;
    // Rounding (or overflow) in the division can land a value off its bucket; the edges decide.
    while (i > 0 && v < edges[i]!) i--;
    while (i < buckets - 1 && v >= edges[i + 1]!) i++;
    counts[i]! += count;
  }
  return { edges, counts };
}
