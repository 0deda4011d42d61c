import type { Data, Utf8 } from 'apache-arrow';
import { PART_SIZE, cyclicalTable, dayOfWeek, hourOfDay, partOf } from './calendar';
import { HASH_SEED, murmur3, murmur3Text } from './feature-hash';
import { upgradeTransform, type FittedFeature, type FittedNumeric, type FittedTransform, type FittedTransformV2 } from './transform-format';

/** How a code becomes dense slots: the value itself, a one-hot index, or packed calendar parts. */
const VALUE = 0;
const ONE_HOT = 1;
const PARTS = 2;

/** A numeric feature's steps, resolved once: code = (log1p?(clip(x ?? fill)) - shift) / divisor. */
interface NumericSteps {
  fill: number | null;
  lo: number;
  hi: number;
  log1p: boolean;
  shift: number;
  divisor: number;
  /** No fill, clip or log1p: the code is (x - shift) / divisor, the arithmetic of v1. */
  plain: boolean;
}

function numericSteps(f: FittedNumeric): NumericSteps {
  const scale = f.scale;
  const [shift, divisor] =
    scale.kind === 'standard' ? [scale.mean, scale.std] : scale.kind === 'minMax' ? [scale.min, scale.max > scale.min ? scale.max - scale.min : 1] : [0, 1];
  return {
    fill: f.impute?.value ?? null,
    lo: f.clip?.min ?? -Infinity,
    hi: f.clip?.max ?? Infinity,
    log1p: f.log1p === true,
    shift,
    divisor,
    plain: f.impute === undefined && f.clip === undefined && f.log1p !== true,
  };
}

/** NaN (or -Infinity at -1) where log1p meets a value it cannot take; callers report it. */
function numericCode(s: NumericSteps, x: number): number {
  let v = x;
  if (v < s.lo) v = s.lo;
  else if (v > s.hi) v = s.hi;
  if (s.log1p) v = Math.log1p(v);
  return (v - s.shift) / s.divisor;
}

/** The bucket of x: how many boundaries lie below it, so bucket i holds (b[i-1], b[i]]. */
function bucketOf(boundaries: readonly number[], x: number): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (boundaries[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One of the (slot, value) pairs every row has (see FeatureEncoder.sparsePositions). */
export interface SparsePosition {
  /** Index of the feature in the transform. */
  feature: number;
  /** The timestamp part, for a timestamp feature. */
  part?: string | undefined;
  /** A one-hot pair (value 1, slot in [first, first + width)), else a value at slot `first`. */
  oneHot: boolean;
  first: number;
  width: number;
}

/** A timestamp feature's parts: slot counts, where each part's slots start, sin/cos tables when cyclical. */
interface PartsLayout {
  sizes: number[];
  starts: number[];
  tables: Float64Array[] | null;
}

function isValid(validity: Uint8Array | null, bit: number): boolean {
  return validity === null || (validity[bit >> 3]! & (1 << (bit & 7))) !== 0;
}

/**
 * Encodes feature values to compact codes and codes to the dense input vector. Encoded shards store
 * one Float32 code per feature: the scaled value of a numeric feature, the slot index of a one-hot
 * feature, the packed part indices of a timestamp feature (mixed radix, first part most
 * significant: at most 24·7·12·31 = 62496, exact in Float32). The dense vector is expanded per batch
 * (denseInto), so shards stay small.
 *
 * The model server encodes JSON values with the scalar methods (encodeNumber, encodeCategory,
 * encodeCross); apply-transform encodes Arrow columns with the column methods, which run the same
 * arithmetic on the same inputs (UTF-8 bytes for hashes), so both give the same code for a value.
 */
export class FeatureEncoder {
  readonly transform: FittedTransformV2;
  private readonly lookups: Array<Map<string, number> | null>;
  private readonly steps: Array<NumericSteps | null>;
  private readonly layouts: Array<PartsLayout | null>;
  private readonly modes: Uint8Array;
  private readonly offsets: Int32Array;

  /** Takes any known transform format (v1 is read in its v2 form). */
  constructor(transform: FittedTransform) {
    this.transform = upgradeTransform(transform);
    const features = this.transform.features;
    this.lookups = features.map((f) => (f.kind === 'categorical' ? new Map(f.vocabulary.map((v, i) => [v, i])) : null));
    this.steps = features.map((f) => (f.kind === 'numeric' ? numericSteps(f) : null));
    this.layouts = features.map((f) => {
      if (f.kind !== 'timestamp') return null;
      const sizes = f.parts.map((p) => PART_SIZE[p]);
      const starts: number[] = [];
      let at = 0;
      for (const size of sizes) {
        starts.push(at);
        at += f.cyclical ? 2 : size;
      }
      return { sizes, starts, tables: f.cyclical ? f.parts.map(cyclicalTable) : null };
    });
    this.modes = Uint8Array.from(features, (f) => {
      if (f.kind === 'numeric') return VALUE;
      if (f.kind === 'timestamp' && (f.cyclical || f.parts.length > 1)) return PARTS;
      return ONE_HOT;
    });
    this.offsets = Int32Array.from(features, (f) => f.offset);
  }

  private feature(index: number): FittedFeature {
    const f = this.transform.features[index];
    if (f === undefined) throw new RangeError(`there is no feature ${index}; the transform has ${this.transform.features.length}`);
    return f;
  }

  /**
   * The code of a number or timestamp (epoch ms) for a numeric, quantileBuckets, hourOfDay,
   * dayOfWeek or timestamp feature. null is a NULL, which only an imputing numeric feature takes.
   * A log1p feature gives NaN (or -Infinity) for values at or below -1 after clipping.
   */
  encodeNumber(index: number, value: number | null): number {
    const f = this.feature(index);
    if (value === null) {
      const fill = f.kind === 'numeric' ? this.steps[index]!.fill : null;
      if (fill === null) throw new Error(`feature "${f.name}" (${f.kind}) does not impute; a NULL cannot be encoded`);
      return numericCode(this.steps[index]!, fill);
    }
    switch (f.kind) {
      case 'numeric':
        return numericCode(this.steps[index]!, value);
      case 'quantileBuckets':
        return bucketOf(f.boundaries, value);
      case 'hourOfDay':
        return hourOfDay(value);
      case 'dayOfWeek':
        return dayOfWeek(value);
      case 'timestamp': {
        let code = 0;
        for (const part of f.parts) code = code * PART_SIZE[part] + partOf(part, value);
        return code;
      }
      case 'categorical':
      case 'hashed':
        throw new Error(`feature "${f.name}" is ${f.kind}; encode it with encodeCategory`);
      case 'cross':
        throw new Error(`feature "${f.name}" is a cross; encode it with encodeCross`);
    }
  }

  /** The code of a text value (null: NULL) for a categorical or hashed feature. */
  encodeCategory(index: number, value: string | null): number {
    const f = this.feature(index);
    if (f.kind === 'hashed') return value === null ? f.buckets : murmur3Text(value, HASH_SEED) % f.buckets;
    if (f.kind !== 'categorical') throw new Error(`feature "${f.name}" is not categorical`);
    const found = value === null ? undefined : this.lookups[index]!.get(value);
    return found ?? f.vocabulary.length; // the out-of-vocabulary slot
  }

  /** The code of a cross from its columns' values, in the feature's column order. */
  encodeCross(index: number, values: ReadonlyArray<string | null>): number {
    const f = this.feature(index);
    if (f.kind !== 'cross') throw new Error(`feature "${f.name}" is not a cross`);
    if (values.length !== f.columns.length) throw new Error(`cross "${f.name}" takes ${f.columns.length} values, got ${values.length}`);
    let h = HASH_SEED;
    for (const value of values) {
      if (value === null) return f.buckets;
      h = murmur3Text(value, h);
    }
    return h % f.buckets;
  }

  /**
   * Codes of rows [0, rows) of a Float64 column for a feature encodeNumber takes. `validity` is
   * Arrow's null bitmap (null when nothing is null), its bit for row r at bitOffset + r.
   */
  encodeNumbers(index: number, values: Float64Array, validity: Uint8Array | null, bitOffset: number, rows: number, out: Float32Array): void {
    const f = this.feature(index);
    const s = this.steps[index];
    if (s !== null && s !== undefined) {
      if (validity === null && s.plain) {
        // The v1 arithmetic, kept literally so that v1 specs give bit-identical shards.
        for (let r = 0; r < rows; r++) out[r] = (values[r]! - s.shift) / s.divisor;
        return;
      }
      for (let r = 0; r < rows; r++) {
        if (isValid(validity, bitOffset + r)) out[r] = numericCode(s, values[r]!);
        else if (s.fill !== null) out[r] = numericCode(s, s.fill);
        else throw new Error(`feature "${f.name}" does not impute, but row ${r} of its column is NULL`);
      }
      return;
    }
    if (validity !== null) {
      for (let r = 0; r < rows; r++) {
        if (!isValid(validity, bitOffset + r)) throw new Error(`feature "${f.name}" (${f.kind}) takes no NULLs, but row ${r} of its column is NULL`);
      }
    }
    switch (f.kind) {
      case 'hourOfDay':
        for (let r = 0; r < rows; r++) out[r] = hourOfDay(values[r]!);
        return;
      case 'dayOfWeek':
        for (let r = 0; r < rows; r++) out[r] = dayOfWeek(values[r]!);
        return;
      default:
        for (let r = 0; r < rows; r++) out[r] = this.encodeNumber(index, values[r]!);
    }
  }

  /** Codes of a hashed feature straight from a Utf8 column's bytes (no string per row). */
  encodeHashedColumn(index: number, data: Data<Utf8>, out: Float32Array): void {
    const f = this.feature(index);
    if (f.kind !== 'hashed') throw new Error(`feature "${f.name}" is not hashed`);
    const offsets = data.valueOffsets;
    const bytes = data.values;
    const validity = data.nullCount > 0 ? data.nullBitmap : null;
    for (let r = 0; r < data.length; r++) {
      // A slice keeps its validity bits at data.offset but its value offsets already start at row 0.
      out[r] = isValid(validity, data.offset + r) ? murmur3(bytes, offsets[r]!, offsets[r + 1]!, HASH_SEED) % f.buckets : f.buckets;
    }
  }

  /** Codes of a cross from its columns' Utf8 data, in the feature's column order. */
  encodeCrossColumns(index: number, columns: ReadonlyArray<Data<Utf8>>, out: Float32Array): void {
    const f = this.feature(index);
    if (f.kind !== 'cross') throw new Error(`feature "${f.name}" is not a cross`);
    const rows = columns[0]!.length;
    const parts = columns.map((data) => ({
      offsets: data.valueOffsets,
      bytes: data.values,
      validity: data.nullCount > 0 ? data.nullBitmap : null,
      bitOffset: data.offset,
    }));
    for (let r = 0; r < rows; r++) {
      let h = HASH_SEED;
      let isNull = false;
      for (const p of parts) {
        if (!isValid(p.validity, p.bitOffset + r)) {
          isNull = true;
          break;
        }
        h = murmur3(p.bytes, p.offsets[r]!, p.offsets[r + 1]!, h);
      }
      out[r] = isNull ? f.buckets : h % f.buckets;
    }
  }

  /** Writes the dense input vector for one row of codes into `out` at `rowOffset` (which must be zeroed). */
  denseInto(codes: ArrayLike<number>, out: Float32Array, rowOffset: number): void {
    const modes = this.modes;
    const offsets = this.offsets;
    for (let i = 0; i < modes.length; i++) {
      const at = rowOffset + offsets[i]!;
      const mode = modes[i];
      if (mode === VALUE) out[at] = codes[i]!;
      else if (mode === ONE_HOT) out[at + codes[i]!] = 1;
      else this.partsInto(this.layouts[i]!, codes[i]!, out, at);
    }
  }

  /**
   * (slot, value) pairs each row writes into the dense vector, the same for every row: 1 per
   * numeric or one-hot feature, 1 per part of a timestamp (2, sin and cos, when cyclical). The
   * dense row is the sum of value · e_slot over a row's pairs (see sparseInto).
   */
  get nonZerosPerRow(): number {
    let n = 0;
    for (let i = 0; i < this.modes.length; i++) {
      if (this.modes[i] !== PARTS) n += 1;
      else {
        const layout = this.layouts[i]!;
        n += layout.sizes.length * (layout.tables === null ? 1 : 2);
      }
    }
    return n;
  }

  /**
   * What each of a row's nonZerosPerRow pairs (in sparseInto's order) holds: `oneHot` pairs have
   * value 1 and a slot in [first, first + width) (a one-hot feature, or one part of a non-cyclical
   * timestamp: `part` names it); the other pairs carry a value at the fixed slot `first` (a
   * numeric feature, or the sine or cosine of a cyclical timestamp part).
   */
  sparsePositions(): SparsePosition[] {
    const positions: SparsePosition[] = [];
    this.transform.features.forEach((f, i) => {
      const offset = this.offsets[i]!;
      const mode = this.modes[i];
      if (mode === VALUE) positions.push({ feature: i, oneHot: false, first: offset, width: 1 });
      else if (mode === ONE_HOT) positions.push({ feature: i, oneHot: true, first: offset, width: f.width });
      else {
        const { sizes, starts, tables } = this.layouts[i]!;
        const parts = f.kind === 'timestamp' ? f.parts : [];
        sizes.forEach((size, p) => {
          if (tables === null) positions.push({ feature: i, part: parts[p], oneHot: true, first: offset + starts[p]!, width: size });
          else {
            positions.push({ feature: i, part: parts[p], oneHot: false, first: offset + starts[p]!, width: 1 });
            positions.push({ feature: i, part: parts[p], oneHot: false, first: offset + starts[p]! + 1, width: 1 });
          }
        });
      }
    });
    return positions;
  }

  /**
   * Writes one row of codes as nonZerosPerRow (slot, value) pairs into `slots` and `values` from
   * `at`, in feature order (a timestamp's parts in order): denseInto's vector is Σ value · e_slot.
   * A pair may carry the value 0 (a numeric code of 0, a sine of 0); it is kept, so every row has
   * the same count.
   */
  sparseInto(codes: ArrayLike<number>, slots: Int32Array, values: Float32Array, at: number): void {
    const modes = this.modes;
    const offsets = this.offsets;
    let k = at;
    for (let i = 0; i < modes.length; i++) {
      const offset = offsets[i]!;
      const mode = modes[i];
      if (mode === VALUE) {
        slots[k] = offset;
        values[k++] = codes[i]!;
      } else if (mode === ONE_HOT) {
        slots[k] = offset + codes[i]!;
        values[k++] = 1;
      } else {
        const { sizes, starts, tables } = this.layouts[i]!;
        // Parts in order; the code is mixed radix with the first part most significant.
        const step = tables === null ? 1 : 2;
        let rest = codes[i]!;
        for (let p = sizes.length - 1; p >= 0; p--) {
          const size = sizes[p]!;
          const v = rest % size;
          rest = (rest - v) / size;
          const j = k + p * step;
          if (tables === null) {
            slots[j] = offset + starts[p]! + v;
            values[j] = 1;
          } else {
            slots[j] = offset + starts[p]!;
            values[j] = tables[p]![2 * v]!;
            slots[j + 1] = offset + starts[p]! + 1;
            values[j + 1] = tables[p]![2 * v + 1]!;
          }
        }
        k += sizes.length * step;
      }
    }
  }

  private partsInto(layout: PartsLayout, code: number, out: Float32Array, at: number): void {
    const { sizes, starts, tables } = layout;
    let rest = code;
    for (let k = sizes.length - 1; k >= 0; k--) {
      const size = sizes[k]!;
      const v = rest % size;
      rest = (rest - v) / size;
      if (tables === null) out[at + starts[k]! + v] = 1;
      else {
        out[at + starts[k]!] = tables[k]![2 * v]!;
        out[at + starts[k]! + 1] = tables[k]![2 * v + 1]!;
      }
    }
  }
}
