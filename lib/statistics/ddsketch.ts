import { DDSketch } from '@datadog/sketches-js';

/**
 * A DDSketch kept as plain JSON: the bin counts of @datadog/sketches-js's LogarithmicMapping, one
 * contiguous run of keys per sign, trimmed to the first and last occupied key.
 *
 * The library's own sketch object is not the state because, in the installed version, its
 * `merge` drops the negative store (negative values vanish from merged sketches) and `fromProto`
 * forgets min, max and sum; and because its dense store pads and re-centres its bins depending on
 * the order values arrive, so two equal sketches need not serialise equally. Summing counts per key
 * of the same mapping is the DDSketch merge, and on trimmed runs it is exact and canonical: merged
 * shards give the very bins, hence the very quantiles, of the whole.
 */
export interface DDSketchState {
  relativeAccuracy: number;
  /** Values too close to zero for the mapping (|v| ≤ minPossible), zero and -0 included. */
  zeroCount: number;
  /** Keys of v for v > 0. */
  positive: KeyRun;
  /** Keys of -v for v < 0. */
  negative: KeyRun;
}

/** counts[i] is the count at key offset + i; empty runs have offset 0. */
export interface KeyRun {
  offset: number;
  counts: number[];
}

export const DEFAULT_RELATIVE_ACCURACY = 0.01;

type Mapping = DDSketch['mapping'];

const mappings = new Map<number, Mapping>();

/** The mapping a DDSketch of this accuracy bins with (the package exports it only through a sketch). */
function mappingFor(relativeAccuracy: number): Mapping {
  let mapping = mappings.get(relativeAccuracy);
  if (mapping === undefined) {
    mapping = new DDSketch({ relativeAccuracy }).mapping;
    mappings.set(relativeAccuracy, mapping);
  }
  return mapping;
}

export function emptyDDSketch(relativeAccuracy = DEFAULT_RELATIVE_ACCURACY): DDSketchState {
  if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) throw new RangeError(`relativeAccuracy must be in (0, 1), got ${relativeAccuracy}`);
  return { relativeAccuracy, zeroCount: 0, positive: { offset: 0, counts: [] }, negative: { offset: 0, counts: [] } };
}

export function ddsketchCount(state: DDSketchState): number {
  return state.zeroCount + runTotal(state.positive) + runTotal(state.negative);
}

function runTotal(run: KeyRun): number {
  let total = 0;
  for (const c of run.counts) total += c;
  return total;
}

/** Counts per key while a batch is read; a typed array so the per-value path does not touch a JS array or a Map. */
class KeyCounter {
  private counts = new Float64Array(0);
  private offset = 0;
  private minKey = Infinity;
  private maxKey = -Infinity;

  constructor(run: KeyRun) {
    if (run.counts.length === 0) return;
    this.counts = Float64Array.from(run.counts);
    this.offset = run.offset;
    this.minKey = run.offset;
    this.maxKey = run.offset + run.counts.length - 1;
  }

  add(key: number): void {
    const i = key - this.offset;
    if (i >= 0 && i < this.counts.length) this.counts[i]!++;
    else {
      this.grow(key);
      this.counts[key - this.offset]!++;
    }
    if (key < this.minKey) this.minKey = key;
    if (key > this.maxKey) this.maxKey = key;
  }

  private grow(key: number): void {
    const lo = Math.min(key, this.minKey);
    const hi = Math.max(key, this.maxKey);
    // Slack on both sides so that a drifting range does not reallocate on every new key.
    const slack = Math.max(64, (hi - lo) >> 1);
    const offset = lo - slack;
    const grown = new Float64Array(hi - lo + 1 + 2 * slack);
    if (this.maxKey >= this.minKey) {
      grown.set(this.counts.subarray(this.minKey - this.offset, this.maxKey - this.offset + 1), this.minKey - offset);
    }
    this.counts = grown;
    this.offset = offset;
  }

  toRun(): KeyRun {
    if (this.maxKey < this.minKey) return { offset: 0, counts: [] };
    return { offset: this.minKey, counts: Array.from(this.counts.subarray(this.minKey - this.offset, this.maxKey - this.offset + 1)) };
  }
}

/** Adds values[0..length) (all finite) to the sketch, in place. */
export function addToDDSketch(state: DDSketchState, values: Float64Array, length: number): void {
  const mapping = mappingFor(state.relativeAccuracy);
  const minPossible = mapping.minPossible;
  const positive = new KeyCounter(state.positive);
  const negative = new KeyCounter(state.negative);
  let zeros = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i]!;
    if (v > minPossible) positive.add(mapping.key(v));
    else if (v < -minPossible) negative.add(mapping.key(-v));
    else zeros++;
  }
  state.zeroCount += zeros;
  state.positive = positive.toRun();
  state.negative = negative.toRun();
}

function mergeRuns(a: KeyRun, b: KeyRun): KeyRun {
  if (a.counts.length === 0) return { offset: b.offset, counts: b.counts.slice() };
  if (b.counts.length === 0) return { offset: a.offset, counts: a.counts.slice() };
  const offset = Math.min(a.offset, b.offset);
  const end = Math.max(a.offset + a.counts.length, b.offset + b.counts.length);
  const counts = new Array<number>(end - offset).fill(0);
  a.counts.forEach((c, i) => (counts[a.offset - offset + i]! += c));
  b.counts.forEach((c, i) => (counts[b.offset - offset + i]! += c));
  return { offset, counts };
}

export function mergeDDSketches(a: DDSketchState, b: DDSketchState): DDSketchState {
  if (a.relativeAccuracy !== b.relativeAccuracy) {
    throw new Error(`cannot merge sketches of relative accuracy ${a.relativeAccuracy} and ${b.relativeAccuracy}`);
  }
  return {
    relativeAccuracy: a.relativeAccuracy,
    zeroCount: a.zeroCount + b.zeroCount,
    positive: mergeRuns(a.positive, b.positive),
    negative: mergeRuns(a.negative, b.negative),
  };
}

/** The key holding the element of the given rank, as DenseStore.keyAtRank walks it. */
function keyAtRank(run: KeyRun, rank: number, lower: boolean): number {
  let running = 0;
  for (let i = 0; i < run.counts.length; i++) {
    running += run.counts[i]!;
    if (lower ? running > rank : running >= rank + 1) return run.offset + i;
  }
  return run.offset + run.counts.length - 1;
}

/**
 * The library's getValueAtQuantile, on the JSON bins: the estimate of the element of rank
 * floor(q·(n−1)) in sorted order, within relativeAccuracy of it. NaN for an empty sketch.
 */
export function ddsketchQuantile(state: DDSketchState, q: number): number {
  const count = ddsketchCount(state);
  if (!(q >= 0 && q <= 1) || count === 0) return NaN;
  const mapping = mappingFor(state.relativeAccuracy);
  const rank = q * (count - 1);
  const negatives = runTotal(state.negative);
  if (rank < negatives) return -mapping.value(keyAtRank(state.negative, negatives - rank - 1, false));
  if (rank < negatives + state.zeroCount) return 0;
  return mapping.value(keyAtRank(state.positive, rank - state.zeroCount - negatives, true));
}

/** Each occupied bin as (a value within relativeAccuracy of all it holds, count), ascending. */
export function ddsketchBins(state: DDSketchState): Array<[value: number, count: number]> {
  const mapping = mappingFor(state.relativeAccuracy);
  const bins: Array<[number, number]> = [];
  const { negative, positive } = state;
  for (let i = negative.counts.length - 1; i >= 0; i--) {
    if (negative.counts[i]! > 0) bins.push([-mapping.value(negative.offset + i), negative.counts[i]!]);
  }
  if (state.zeroCount > 0) bins.push([0, state.zeroCount]);
  positive.counts.forEach((c, i) => {
    if (c > 0) bins.push([mapping.value(positive.offset + i), c]);
  });
  return bins;
}
