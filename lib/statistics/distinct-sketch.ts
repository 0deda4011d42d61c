/**
 * HyperLogLog distinct-count estimate for text columns, used once the top-K cap drops values and
 * the exact count is lost. Merging takes the register-wise maximum, which is exact, associative and
 * commutative, so merged shards hold the very registers of the whole.
 *
 * The registers travel as a string, one character per register ('0' + rank): compact, canonical
 * JSON with nothing to escape.
 */
export interface DistinctSketchState {
  /** log2 of the register count. */
  precision: number;
  registers: string;
}

export const DISTINCT_PRECISION = 12;
const ZERO = 48;

export function emptyDistinctSketch(precision = DISTINCT_PRECISION): DistinctSketchState {
  return { precision, registers: String.fromCharCode(ZERO).repeat(2 ** precision) };
}

/** cyrb53: a 53-bit string hash with good mixing, enough bits for index plus rank. */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Adds distinct values (each once is enough: repeats do not change registers), in place. */
export function addToDistinctSketch(state: DistinctSketchState, values: Iterable<string>): void {
  const p = state.precision;
  const registers = new Uint8Array(2 ** p);
  for (let i = 0; i < registers.length; i++) registers[i] = state.registers.charCodeAt(i) - ZERO;
  const restBits = 53 - p;
  const buckets = 2 ** p;
  for (const value of values) {
    const h = hash53(value);
    const index = h % buckets;
    const rest = Math.floor(h / buckets);
    // Rank: position of the leftmost 1 in the restBits-bit remainder, restBits + 1 when it is all zeros.
    const rank = rest === 0 ? restBits + 1 : restBits - Math.floor(Math.log2(rest));
    if (rank > registers[index]!) registers[index] = rank;
  }
  state.registers = String.fromCharCode(...registers.map((r) => r + ZERO));
}

export function mergeDistinctSketches(a: DistinctSketchState, b: DistinctSketchState): DistinctSketchState {
  if (a.precision !== b.precision) throw new Error(`cannot merge distinct sketches of precision ${a.precision} and ${b.precision}`);
  let registers = '';
  for (let i = 0; i < a.registers.length; i++) registers += String.fromCharCode(Math.max(a.registers.charCodeAt(i), b.registers.charCodeAt(i)));
  return { precision: a.precision, registers };
}

/** The HyperLogLog estimate, with linear counting while registers are still empty. */
export function estimateDistinct(state: DistinctSketchState): number {
  const m = state.registers.length;
  let harmonic = 0;
  let empty = 0;
  for (let i = 0; i < m; i++) {
    const r = state.registers.charCodeAt(i) - ZERO;
    harmonic += 2 ** -r;
    if (r === 0) empty++;
  }
  const raw = ((0.7213 / (1 + 1.079 / m)) * m * m) / harmonic;
  return raw <= 2.5 * m && empty > 0 ? m * Math.log(m / empty) : raw;
}
