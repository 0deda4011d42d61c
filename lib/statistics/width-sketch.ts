/**
 * A quantile sketch with absolute error, for timestamps. DDSketch's error is relative to the
 * value, and relative to the epoch a percent of an epoch-millisecond timestamp is months; a
 * timestamp column needs an error in time units instead.
 *
 * Values fall in fixed-width buckets, key = floor(floor(v) / 2^level), kept sparse. When more than
 * `maxBins` keys are occupied, the level goes up by one and adjacent pairs of buckets collapse
 * (key → floor(key / 2)), until the occupied keys fit. The level is therefore the smallest at which
 * the data seen fits in `maxBins` buckets, a function of the set of values alone: a shard's level
 * never exceeds the whole's, merging lifts both sides to the higher level, adds counts and collapses
 * the same way, and so merged shards give exactly the buckets of the whole, in any order.
 */
export interface WidthSketchState {
  maxBins: number;
  /** Buckets are 2^level units wide. */
  level: number;
  /** Occupied keys, ascending, and their counts. */
  keys: number[];
  counts: number[];
}

export const DEFAULT_TIMESTAMP_BINS = 2048;

export function emptyWidthSketch(maxBins = DEFAULT_TIMESTAMP_BINS): WidthSketchState {
  if (!Number.isInteger(maxBins) || maxBins < 1) throw new RangeError(`maxBins must be a positive integer, got ${maxBins}`);
  return { maxBins, level: 0, keys: [], counts: [] };
}

/** Moves every bucket up to `level`, merging the ones that land on the same key. */
function lift(buckets: Map<number, number>, from: number, to: number): Map<number, number> {
  if (to === from) return buckets;
  const scale = 2 ** (to - from);
  const lifted = new Map<number, number>();
  for (const [key, count] of buckets) {
    const k = Math.floor(key / scale);
    lifted.set(k, (lifted.get(k) ?? 0) + count);
  }
  return lifted;
}

function toMap(state: WidthSketchState): Map<number, number> {
  return new Map(state.keys.map((k, i) => [k, state.counts[i]!]));
}

/** Raises the level until the buckets fit, then writes them back sorted. */
function settle(state: WidthSketchState, buckets: Map<number, number>, level: number): void {
  while (buckets.size > state.maxBins) {
    buckets = lift(buckets, level, level + 1);
    level++;
  }
  const keys = Array.from(buckets.keys()).sort((a, b) => a - b);
  state.level = level;
  state.keys = keys;
  state.counts = keys.map((k) => buckets.get(k)!);
}

/** Widest key range of one chunk counted in a dense array rather than a Map. */
const DENSE_SPAN = 1 << 16;

/**
 * Adds values[0..length) (all finite) to the sketch, in place. Any order of counting and collapsing
 * gives the same state, as long as the level rises only when the buckets do not fit.
 */
export function addToWidthSketch(state: WidthSketchState, values: Float64Array, length: number): void {
  if (length === 0) return;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = 2 ** state.level;
  // Division by a power of two and floor are exact on doubles, so a key equals lifting floor(v) step by step.
  const first = Math.floor(Math.floor(lo) / scale);
  const span = Math.floor(Math.floor(hi) / scale) - first + 1;
  if (span <= DENSE_SPAN) addDense(state, values, length, first, span);
  else addSparse(state, values, length);
}

function addDense(state: WidthSketchState, values: Float64Array, length: number, first: number, span: number): void {
  const scale = 2 ** state.level;
  const counts = new Float64Array(span);
  for (let i = 0; i < length; i++) counts[Math.floor(Math.floor(values[i]!) / scale) - first]!++;
  const buckets = toMap(state);
  for (let j = 0; j < span; j++) {
    if (counts[j]! > 0) buckets.set(first + j, (buckets.get(first + j) ?? 0) + counts[j]!);
  }
  settle(state, buckets, state.level);
}

/** For chunks whose keys spread wide: a Map, collapsing as soon as the buckets overflow so that it stays small. */
function addSparse(state: WidthSketchState, values: Float64Array, length: number): void {
  let level = state.level;
  let scale = 2 ** level;
  let buckets = toMap(state);
  // Sorted or clustered columns repeat keys: count a run before touching the map.
  let runKey = NaN;
  let runCount = 0;
  for (let i = 0; i < length; i++) {
    const key = Math.floor(Math.floor(values[i]!) / scale);
    if (key === runKey) {
      runCount++;
      continue;
    }
    if (runCount > 0) {
      buckets.set(runKey, (buckets.get(runKey) ?? 0) + runCount);
      if (buckets.size > state.maxBins) {
        while (buckets.size > state.maxBins) {
          buckets = lift(buckets, level, level + 1);
          level++;
        }
        scale = 2 ** level;
      }
    }
    runKey = Math.floor(Math.floor(values[i]!) / scale);
    runCount = 1;
  }
  if (runCount > 0) buckets.set(runKey, (buckets.get(runKey) ?? 0) + runCount);
  settle(state, buckets, level);
}

export function mergeWidthSketches(a: WidthSketchState, b: WidthSketchState): WidthSketchState {
  if (a.maxBins !== b.maxBins) throw new Error(`cannot merge timestamp sketches of ${a.maxBins} and ${b.maxBins} bins`);
  const level = Math.max(a.level, b.level);
  const buckets = lift(toMap(a), a.level, level);
  for (const [key, count] of lift(toMap(b), b.level, level)) buckets.set(key, (buckets.get(key) ?? 0) + count);
  const merged: WidthSketchState = { maxBins: a.maxBins, level, keys: [], counts: [] };
  settle(merged, buckets, level);
  return merged;
}

/**
 * The value a bucket stands for: its midpoint, or at level 0 its lower end (there it holds the
 * values of one integer, which whole-millisecond timestamps hit exactly). Any value in the bucket
 * is within widthSketchError of it.
 */
function representative(key: number, level: number): number {
  return level === 0 ? key : key * 2 ** level + 2 ** (level - 1);
}

/** The largest distance between a value and the estimate that stands for it. */
export function widthSketchError(state: WidthSketchState): number {
  return 2 ** Math.max(state.level - 1, 0);
}

export function widthSketchCount(state: WidthSketchState): number {
  let total = 0;
  for (const c of state.counts) total += c;
  return total;
}

/** The estimate of the element of rank floor(q·(n−1)) in sorted order, as ddsketchQuantile ranks; NaN when empty. */
export function widthSketchQuantile(state: WidthSketchState, q: number): number {
  const count = widthSketchCount(state);
  if (!(q >= 0 && q <= 1) || count === 0) return NaN;
  const rank = q * (count - 1);
  let running = 0;
  for (let i = 0; i < state.keys.length; i++) {
    running += state.counts[i]!;
    if (running > rank) return representative(state.keys[i]!, state.level);
  }
  return representative(state.keys[state.keys.length - 1]!, state.level);
}

/** Each occupied bucket as (its representative value, count), ascending. */
export function widthSketchBins(state: WidthSketchState): Array<[value: number, count: number]> {
  return state.keys.map((k, i) => [representative(k, state.level), state.counts[i]!]);
}
