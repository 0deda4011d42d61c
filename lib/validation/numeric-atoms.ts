import { ddsketchBins } from '../statistics/ddsketch';
import type { NumericColumnState } from '../statistics/dataset-stats';
import type { WidthSketchState } from '../statistics/width-sketch';
import { widthSketchError } from '../statistics/width-sketch';

/**
 * A numeric column's finite values as the statistics know them: each occupied sketch bucket as
 * (a value standing for the bucket, the exact count of values in it), ascending. Bucket membership
 * is exact (a value's bucket is a function of the value); only where in the bucket a value sits is
 * lost, within the sketch's error.
 */
export type Atom = [value: number, count: number];

/** The representative of a timestamp bucket, as width-sketch.ts defines it (not exported there). */
function representative(key: number, level: number): number {
  return level === 0 ? key : key * 2 ** level + 2 ** (level - 1);
}

/** A timestamp sketch's buckets lifted to a coarser level, so two sketches' buckets coincide. */
function widthAtoms(sketch: WidthSketchState, level: number): Atom[] {
  const scale = 2 ** (level - sketch.level);
  const atoms: Atom[] = [];
  sketch.keys.forEach((key, i) => {
    const k = Math.floor(key / scale);
    const last = atoms[atoms.length - 1];
    const value = representative(k, level);
    // Keys ascend, so lifted keys ascend too and equal ones are adjacent.
    if (last !== undefined && last[0] === value) last[1] += sketch.counts[i]!;
    else atoms.push([value, sketch.counts[i]!]);
  });
  return atoms;
}

/**
 * The atoms of a column; for a timestamp column at `level` (default its own, never finer). Two
 * number columns of the same relative accuracy share DDSketch's key mapping, so their atoms at
 * equal values are the same bucket.
 */
export function numericAtoms(state: NumericColumnState, level?: number): Atom[] {
  if (state.kind === 'number') return ddsketchBins(state.sketch);
  return widthAtoms(state.sketch, Math.max(level ?? state.sketch.level, state.sketch.level));
}

/** How far a value may be from the atom standing for it. */
export function atomError(state: NumericColumnState): { kind: 'relative' | 'absolute'; bound: number } {
  return state.kind === 'number' ? { kind: 'relative', bound: state.sketch.relativeAccuracy } : { kind: 'absolute', bound: widthSketchError(state.sketch) };
}

/**
 * The interval every value of an atom lies in. A DDSketch bucket (γ^(k−1), γ^k], γ = (1+α)/(1−α),
 * stands for r = γ^(k−1)·(1+α), so its values lie in (r/(1+α), r/(1−α)] (mirrored for negative
 * values); a timestamp bucket's values lie within widthSketchError of its representative. Widened by
 * a hair so that rounding in the mapping cannot leave a value just outside.
 */
export function atomInterval(state: NumericColumnState): (value: number) => [lo: number, hi: number] {
  if (state.kind === 'timestamp') {
    const err = widthSketchError(state.sketch);
    return (r) => [r - err, r + err];
  }
  const a = state.sketch.relativeAccuracy;
  const slack = 1e-12;
  return (r) => {
    const x = r / (1 + a);
    const y = r / (1 - a);
    return [Math.min(x, y) - Math.abs(r) * slack, Math.max(x, y) + Math.abs(r) * slack];
  };
}

/** The two columns' atoms on common buckets: values ascending, each side's count per value (0 where it has none). */
export function alignAtoms(a: NumericColumnState, b: NumericColumnState): { values: number[]; a: number[]; b: number[] } {
  const level = a.kind === 'timestamp' && b.kind === 'timestamp' ? Math.max(a.sketch.level, b.sketch.level) : undefined;
  const counts = new Map<number, [number, number]>();
  for (const [value, n] of numericAtoms(a, level)) counts.set(value, [n, 0]);
  for (const [value, n] of numericAtoms(b, level)) {
    const entry = counts.get(value);
    if (entry === undefined) counts.set(value, [0, n]);
    else entry[1] += n;
  }
  const values = Array.from(counts.keys()).sort((x, y) => x - y);
  return { values, a: values.map((v) => counts.get(v)![0]), b: values.map((v) => counts.get(v)![1]) };
}
