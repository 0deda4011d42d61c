import { DataType, DateUnit, Precision, TimeUnit, makeVector, type Data } from 'apache-arrow';
import type { CopyBinaryWriter } from './copy-binary-writer';
import { PG_EPOCH_DAYS, formatEpochTime } from './pg-time';
import type { SqlType } from './sql-types';
import { TEXT_ENCODERS, type TextEncoder } from './text-values';

/**
 * One Parquet column of one record batch, ready to be written row by row into a binary COPY as
 * its SQL type. Where the Arrow type and the SQL type agree (the usual case) the values go out from
 * Arrow's buffers as they are; anything else goes through the value's text and the same checks a
 * CSV value gets, so `--types` works on Parquet columns too.
 */
export interface CellColumn {
  isNull(row: number): boolean;
  /** Writes the non-null value at `row`; returns why it does not fit the column, or undefined. */
  write(w: CopyBinaryWriter, row: number): string | undefined;
  /** The value as text, for a quarantined row's fields and for conversions. */
  text(row: number): string | null;
}

const TWO_32 = 2 ** 32;
/** Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
const PG_EPOCH_MICROS = PG_EPOCH_DAYS * 86_400 * 1e6;
const utf8 = new TextDecoder('utf-8');

function nullTest(data: Data): (row: number) => boolean {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || bitmap === undefined || bitmap.length === 0) return () => false;
  const offset = data.offset;
  return (row) => ((bitmap[(offset + row) >> 3]! >> ((offset + row) & 7)) & 1) === 0;
}

/** Text → `type`, for values whose Arrow type has no direct path to it. */
function viaText(isNull: (row: number) => boolean, text: (row: number) => string, type: SqlType): CellColumn {
  const encode: TextEncoder = TEXT_ENCODERS[type];
  return {
    isNull,
    text: (row) => (isNull(row) ? null : text(row)),
    write: (w, row) => {
      const value = text(row);
      // An empty string is NULL in a CSV; in Parquet it is a value, and only text can hold it.
      if (value === '' && type !== 'text') return `an empty string is not a ${type}`;
      return encode(w, value);
    },
  };
}

function rangeError(value: number | bigint, type: SqlType): string {
  return `${value} is out of range for ${type}`;
}

/** Columns of up to 32-bit integers: their values are JS numbers. */
function smallInts(data: Data, type: SqlType): CellColumn {
  const values = data.values as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
  const isNull = nullTest(data);
  const text = (row: number): string => String(values[row]);
  let write: CellColumn['write'];
  switch (type) {
    case 'smallint':
      write = (w, row) => {
        const v = values[row]!;
        if (v < -32768 || v > 32767) return rangeError(v, type);
        w.int2(v);
        return undefined;
      };
      break;
    case 'integer':
      write = (w, row) => {
        const v = values[row]!;
        if (v > 2147483647) return rangeError(v, type);
        w.int4(v);
        return undefined;
      };
      break;
    case 'bigint':
      write = (w, row) => (w.int8(values[row]!), undefined);
      break;
    case 'double precision':
      write = (w, row) => (w.float8(values[row]!), undefined);
      break;
    default:
      return viaText(isNull, text, type);
  }
  return { isNull, write, text: (row) => (isNull(row) ? null : text(row)) };
}

/** 64-bit integers, read as two 32-bit halves so that the common cases need no BigInt. */
function bigInts(data: Data, type: SqlType, signed: boolean): CellColumn {
  const values = data.values as BigInt64Array | BigUint64Array;
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  const isNull = nullTest(data);
  const text = (row: number): string => String(values[row]);
  /** The signed high word (little-endian: the second of each pair). */
  const hiOf = signed ? (row: number): number => words[2 * row + 1]! | 0 : (row: number): number => words[2 * row + 1]!;
  let write: CellColumn['write'];
  switch (type) {
    case 'bigint':
      write = (w, row) => {
        const hi = hiOf(row);
        if (hi > 0x7fffffff) return rangeError(values[row]!, type); // an unsigned value above 2^63 - 1
        w.int8Parts(hi, words[2 * row]!);
        return undefined;
      };
      break;
    case 'integer':
    case 'smallint': {
      const min = type === 'integer' ? -2147483648 : -32768;
      const max = -min - 1;
      write = (w, row) => {
        const hi = hiOf(row);
        const lo = words[2 * row]!;
        const v = hi === 0 ? lo : hi === -1 ? lo - TWO_32 : NaN;
        if (!(v >= min && v <= max)) return rangeError(values[row]!, type);
        if (type === 'integer') w.int4(v);
        else w.int2(v);
        return undefined;
      };
      break;
    }
    case 'double precision':
      write = (w, row) => (w.float8(Number(values[row]!)), undefined);
      break;
    default:
      return viaText(isNull, text, type);
  }
  return { isNull, write, text: (row) => (isNull(row) ? null : text(row)) };
}

function floats(data: Data, type: SqlType): CellColumn {
  const values = data.values as Float32Array | Float64Array;
  const isNull = nullTest(data);
  const text = (row: number): string => String(values[row]);
  if (type !== 'double precision') return viaText(isNull, text, type);
  return { isNull, text: (row) => (isNull(row) ? null : text(row)), write: (w, row) => (w.float8(values[row]!), undefined) };
}

function bools(data: Data, type: SqlType): CellColumn {
  const bits = data.values as Uint8Array;
  const isNull = nullTest(data);
  const value = (row: number): boolean => ((bits[row >> 3]! >> (row & 7)) & 1) === 1;
  const text = (row: number): string => (value(row) ? 'true' : 'false');
  if (type !== 'boolean') return viaText(isNull, text, type);
  return { isNull, text: (row) => (isNull(row) ? null : text(row)), write: (w, row) => (w.bool(value(row)), undefined) };
}

/**
 * A time column's value as microseconds since 1970: a number while it is well inside the range
 * doubles hold exactly (±250 years around 1970), a bigint beyond (sentinels like 9999-12-31, and
 * every nanosecond timestamp, whose raw value is already past 2^53).
 */
type MicrosOf = (row: number) => number | bigint;

/** Below this magnitude, micros minus PostgreSQL's epoch offset is still an exact double. */
const SAFE_MICROS = 8e15;
const PG_EPOCH_MICROS_BIG = BigInt(PG_EPOCH_MICROS);
const MICROS_PER_DAY = 86_400e6;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function microsText(us: number | bigint, zoned: boolean, dateOnly: boolean): string {
  const big = BigInt(us);
  const ms = floorDiv(big, 1000n);
  const formatted = formatEpochTime(Number(ms), Number(big - ms * 1000n));
  return dateOnly ? formatted.slice(0, 10) : `${formatted}${zoned ? '+00' : ''}`;
}

function times(data: Data, type: SqlType, microsOf: MicrosOf, zoned: boolean, dateOnly: boolean): CellColumn {
  const isNull = nullTest(data);
  const text = (row: number): string => microsText(microsOf(row), zoned, dateOnly);
  let write: CellColumn['write'];
  if (type === 'timestamp' || type === 'timestamptz') {
    write = (w, row) => {
      const us = microsOf(row);
      if (typeof us === 'number') w.int8(us - PG_EPOCH_MICROS);
      else w.int8Big(us - PG_EPOCH_MICROS_BIG);
      return undefined;
    };
  } else if (type === 'date') {
    write = (w, row) => {
      const us = microsOf(row);
      const days = typeof us === 'number' ? Math.floor(us / MICROS_PER_DAY) : Number(floorDiv(us, BigInt(MICROS_PER_DAY)));
      w.int4(days - PG_EPOCH_DAYS);
      return undefined;
    };
  } else {
    return viaText(isNull, text, type);
  }
  return { isNull, write, text: (row) => (isNull(row) ? null : text(row)) };
}

/** Microseconds of an int64 column in `unit`, from its 32-bit halves when the value is small enough to need no BigInt. */
function int64Micros(data: Data, unit: TimeUnit): MicrosOf {
  const values = data.values as BigInt64Array;
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  if (unit === TimeUnit.NANOSECOND) return (row) => floorDiv(values[row]!, 1000n);
  const factor = unit === TimeUnit.SECOND ? 1e6 : unit === TimeUnit.MICROSECOND ? 1 : 1e3;
  return (row) => {
    const hi = words[2 * row + 1]! | 0;
    // |raw| < 2^50 (±35 years of µs around 1970 … far more in ms or s): exact as a double.
    if (hi >= -0x40000 && hi < 0x40000) {
      const us = (hi * TWO_32 + words[2 * row]!) * factor;
      if (Math.abs(us) < SAFE_MICROS) return us;
    }
    return values[row]! * BigInt(factor);
  };
}

function dayMicros(data: Data): MicrosOf {
  const days = data.values as Int32Array;
  return (row) => {
    const us = days[row]! * MICROS_PER_DAY;
    return Math.abs(us) < SAFE_MICROS ? us : BigInt(days[row]!) * BigInt(MICROS_PER_DAY);
  };
}

function strings(data: Data, type: SqlType, large: boolean): CellColumn {
  const bytes = data.values as Uint8Array;
  const offsets = large
    ? new Int32Array(data.valueOffsets.buffer, data.valueOffsets.byteOffset, data.valueOffsets.length * 2)
    : (data.valueOffsets as Int32Array);
  // LargeUtf8 offsets are int64; a batch never holds 2 GiB of text, so their low words are the offsets.
  const step = large ? 2 : 1;
  const isNull = nullTest(data);
  const text = (row: number): string => utf8.decode(bytes.subarray(offsets[row * step]!, offsets[(row + 1) * step]!));
  if (type !== 'text') return viaText(isNull, text, type);
  // One scan of the whole batch: the per-value check below is needed only when some value holds a NUL byte.
  const end = offsets[data.length * step]!;
  const hasNul = bytes.subarray(0, end).includes(0);
  return {
    isNull,
    text: (row) => (isNull(row) ? null : text(row)),
    write: (w, row) => {
      const start = offsets[row * step]!;
      const stop = offsets[(row + 1) * step]!;
      if (hasNul && bytes.subarray(start, stop).includes(0)) return 'contains a NUL character, which PostgreSQL text cannot store';
      w.bytes(bytes, start, stop);
      return undefined;
    },
  };
}

/** A decimal's exact text from its little-endian two's-complement 32-bit words. */
function decimals(data: Data, type: SqlType, scale: number, bitWidth: number): CellColumn {
  const words = data.values as Uint32Array;
  const per = bitWidth / 32;
  const isNull = nullTest(data);
  const text = (row: number): string => {
    let v = 0n;
    for (let k = per - 1; k >= 0; k--) v = (v << 32n) | BigInt(words[row * per + k]!);
    if (words[row * per + per - 1]! & 0x80000000) v -= 1n << BigInt(bitWidth);
    const negative = v < 0n;
    let digits = (negative ? -v : v).toString();
    if (scale > 0) {
      digits = digits.padStart(scale + 1, '0');
      digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
    } else if (scale < 0) {
      digits += '0'.repeat(-scale);
    }
    return negative ? `-${digits}` : digits;
  };
  return viaText(isNull, text, type);
}

function dictionary(data: Data, type: SqlType): CellColumn | undefined {
  const dictionaryData = data.dictionary?.data;
  if (dictionaryData?.length !== 1) return undefined;
  const values = cellColumn(dictionaryData[0]!, type);
  const indices = data.values as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
  const indexNull = nullTest(data);
  const isNull = (row: number): boolean => indexNull(row) || values.isNull(indices[row]!);
  return {
    isNull,
    text: (row) => (isNull(row) ? null : values.text(indices[row]!)),
    write: (w, row) => values.write(w, indices[row]!),
  };
}

/** Any other Arrow type, through apache-arrow's own accessor: slower, but every type has a text form. */
function generic(data: Data, type: SqlType): CellColumn {
  const vector = makeVector(data);
  const text = (row: number): string => valueText(vector.get(row));
  return viaText(nullTest(data), text, type);
}

function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? '';
}

/** The writer for column `data` of a record batch as SQL type `type`. */
export function cellColumn(data: Data, type: SqlType): CellColumn {
  const t = data.type;
  // Batches read from Parquet start at offset 0; a sliced one would need offset-aware accessors.
  if (data.offset !== 0) return generic(data, type);
  if (DataType.isInt(t)) return t.bitWidth === 64 ? bigInts(data, type, t.isSigned) : smallInts(data, type);
  if (DataType.isFloat(t) && t.precision !== Precision.HALF) return floats(data, type);
  if (DataType.isBool(t)) return bools(data, type);
  if (DataType.isUtf8(t)) return strings(data, type, false);
  if (DataType.isLargeUtf8(t)) return strings(data, type, true);
  if (DataType.isTimestamp(t)) return times(data, type, int64Micros(data, t.unit), Boolean(t.timezone), false);
  if (DataType.isDate(t)) {
    const micros = t.unit === DateUnit.DAY ? dayMicros(data) : int64Micros(data, TimeUnit.MILLISECOND);
    return times(data, type, micros, false, true);
  }
  if (DataType.isDecimal(t)) return decimals(data, type, t.scale, t.bitWidth);
  if (DataType.isDictionary(t)) return dictionary(data, type) ?? generic(data, type);
  return generic(data, type);
}
