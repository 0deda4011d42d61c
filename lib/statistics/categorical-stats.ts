import type { Data, Utf8 } from 'apache-arrow';
import { Utf8Counter } from './utf8-counter';
import { addToDistinctSketch, emptyDistinctSketch, estimateDistinct, mergeDistinctSketches, type DistinctSketchState } from './distinct-sketch';

/**
 * A text column's statistics: exact counts per value for up to `cap` distinct values.
 *
 * When more distinct values than `cap` meet in one state (a batch, or a merge), the values are
 * ranked by count, descending, ties by value (UTF-16 code unit order, locale-free), the first `cap`
 * are kept and the rest's counts go to `other`, and `capped` is set. Until then every count is exact
 * and merging shards equals the whole in any order. After it, a value dropped somewhere loses those
 * rows to `other`: kept counts are lower bounds, which values survive can depend on how the data was
 * split, and merging is no longer associative (it stays commutative and deterministic). count,
 * missing, bytes, other + Σ kept = count − missing, and the distinct sketch stay exact throughout.
 */
export interface TextColumnState {
  kind: 'text';
  /** Rows seen, null ones included. */
  count: number;
  missing: number;
  /** UTF-8 bytes of all non-null values. */
  bytes: number;
  cap: number;
  /** [value, count], in rank order. */
  top: Array<[value: string, count: number]>;
  /** Rows whose value was dropped by the cap. */
  other: number;
  capped: boolean;
  distinct: DistinctSketchState;
}

export const DEFAULT_TOP_K_CAP = 10_000;

export function emptyTextState(cap = DEFAULT_TOP_K_CAP): TextColumnState {
  if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`the top-K cap must be a positive integer, got ${cap}`);
  return { kind: 'text', count: 0, missing: 0, bytes: 0, cap, top: [], other: 0, capped: false, distinct: emptyDistinctSketch() };
}

function byRank(a: readonly [string, number], b: readonly [string, number]): number {
  if (a[1] !== b[1]) return b[1] - a[1];
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Ranks the counts and applies the cap; returns the counts dropped. */
function rankAndCap(counts: Map<string, number>, cap: number): { top: Array<[string, number]>; dropped: number; capped: boolean } {
  const top = Array.from(counts).sort(byRank);
  if (top.length <= cap) return { top, dropped: 0, capped: false };
  let dropped = 0;
  for (let i = cap; i < top.length; i++) dropped += top[i]![1];
  top.length = cap;
  return { top, dropped, capped: true };
}

function countsOf(top: ReadonlyArray<readonly [string, number]>): Map<string, number> {
  return new Map(top.map(([value, count]) => [value, count]));
}

/**
 * Adds a column's chunks, in place. Rows are counted per distinct UTF-8 byte string, so only
 * distinct values are decoded.
 */
export function addTextChunks(state: TextColumnState, chunks: ReadonlyArray<Data<Utf8>>): void {
  const counter = new Utf8Counter();
  for (const data of chunks) {
    counter.count(data);
    state.count += data.length;
  }
  state.missing += counter.missing;
  state.bytes += counter.bytes;
  if (counter.values.length === 0) return;
  addToDistinctSketch(state.distinct, counter.values);
  const counts = countsOf(state.top);
  counter.values.forEach((value, id) => counts.set(value, (counts.get(value) ?? 0) + counter.counts[id]!));
  const ranked = rankAndCap(counts, state.cap);
  state.top = ranked.top;
  state.other += ranked.dropped;
  state.capped ||= ranked.capped;
}

export function mergeTextStates(a: TextColumnState, b: TextColumnState): TextColumnState {
  if (a.cap !== b.cap) throw new Error(`cannot merge text statistics with top-K caps ${a.cap} and ${b.cap}`);
  const counts = countsOf(a.top);
  for (const [value, count] of b.top) counts.set(value, (counts.get(value) ?? 0) + count);
  const ranked = rankAndCap(counts, a.cap);
  return {
    kind: 'text',
    count: a.count + b.count,
    missing: a.missing + b.missing,
    bytes: a.bytes + b.bytes,
    cap: a.cap,
    top: ranked.top,
    other: a.other + b.other + ranked.dropped,
    capped: a.capped || b.capped || ranked.capped,
    distinct: mergeDistinctSketches(a.distinct, b.distinct),
  };
}

export interface TextSummary {
  kind: 'text';
  count: number;
  missing: number;
  /** Exact while not capped, else the HyperLogLog estimate (never below the values known). */
  distinct: number;
  distinctExact: boolean;
  /** See TextColumnState: once capped, top-K counts are lower bounds. */
  capped: boolean;
  other: number;
  /** Mean UTF-8 byte length of the non-null values; null when there are none. */
  meanBytes: number | null;
  topK: Array<{ value: string; count: number }>;
}

export function summarizeText(state: TextColumnState, topK: number): TextSummary {
  const present = state.count - state.missing;
  const known = state.top.length + (state.other > 0 ? 1 : 0);
  return {
    kind: 'text',
    count: state.count,
    missing: state.missing,
    distinct: state.capped ? Math.max(Math.round(estimateDistinct(state.distinct)), known) : state.top.length,
    distinctExact: !state.capped,
    capped: state.capped,
    other: state.other,
    meanBytes: present > 0 ? state.bytes / present : null,
    topK: state.top.slice(0, topK).map(([value, count]) => ({ value, count })),
  };
}
