import type { CopyBinaryWriter } from './copy-binary-writer';
import { parseDate, parseTimestamp } from './pg-time';
import type { SqlType } from './sql-types';

/**
 * Writes one non-empty text value (a CSV field, or a Parquet value being converted) as `type`.
 * Returns why the value does not fit, or undefined once it is written. Nothing is written on failure.
 *
 * The encoders accept only what they can convert exactly (and what PostgreSQL itself would read the
 * same way), so a value is either loaded as the user sees it or quarantined with a reason.
 */
export type TextEncoder = (w: CopyBinaryWriter, text: string) => string | undefined;

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const FLOAT_WORD = /^([+-]?)(inf|infinity|nan)$/i;
const NUMERIC = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const TRUE_WORDS = new Set(['true', 't', 'yes', 'y', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'f', 'no', 'n', 'off', '0']);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const FLOAT4_MAX = 3.4028234663852886e38;

/** Digits of an integer literal without sign and leading zeros, to tell when it may not fit a double exactly. */
function significantDigits(text: string): number {
  let i = text[0] === '+' || text[0] === '-' ? 1 : 0;
  while (i < text.length - 1 && text[i] === '0') i++;
  return text.length - i;
}

function quoted(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

function encodeInteger(bits: 16 | 32): TextEncoder {
  const max = 2 ** (bits - 1) - 1;
  const name = bits === 16 ? 'smallint' : 'integer';
  return (w, text) => {
    const t = text.trim();
    if (!INTEGER.test(t)) return `${quoted(text)} is not an integer`;
    const n = significantDigits(t) <= 15 ? Number(t) : Infinity;
    if (n > max || n < -max - 1) return `${t} is out of range for ${name}`;
    if (bits === 16) w.int2(n);
    else w.int4(n);
    return undefined;
  };
}

const encodeBigint: TextEncoder = (w, text) => {
  const t = text.trim();
  if (!INTEGER.test(t)) return `${quoted(text)} is not an integer`;
  if (significantDigits(t) <= 15) {
    w.int8(Number(t));
    return undefined;
  }
  const big = BigInt(t);
  if (big < INT64_MIN || big > INT64_MAX) return `${t} is out of range for bigint`;
  w.int8Big(big);
  return undefined;
};

/** A finite double, ±Infinity or NaN for the text, or a reason it is none. */
function parseFloatText(text: string): number | string {
  const t = text.trim();
  const word = FLOAT_WORD.exec(t);
  if (word !== null) {
    if (word[2]!.toLowerCase() === 'nan') return NaN;
    return word[1] === '-' ? -Infinity : Infinity;
  }
  if (!DECIMAL.test(t)) return `${quoted(text)} is not a number`;
  const value = Number(t);
  if (!Number.isFinite(value)) return `${t} is out of range for double precision`;
  // PostgreSQL refuses a literal that underflows to zero; so does pipewright, rather than load a silent 0.
  if (value === 0 && /[1-9]/.test(t.split(/[eE]/)[0]!)) return `${t} is out of range for double precision (too close to zero)`;
  return value;
}

const encodeDouble: TextEncoder = (w, text) => {
  const value = parseFloatText(text);
  if (typeof value === 'string') return value;
  w.float8(value);
  return undefined;
};

const encodeReal: TextEncoder = (w, text) => {
  const value = parseFloatText(text);
  if (typeof value === 'string') return value.replace('double precision', 'real');
  if (Number.isFinite(value) && Math.abs(value) > FLOAT4_MAX) return `${text.trim()} is out of range for real`;
  const single = Math.fround(value);
  if (single === 0 && value !== 0) return `${text.trim()} is out of range for real (too close to zero)`;
  w.float4(single);
  return undefined;
};

/** PostgreSQL's numeric wire form: base-10000 digits, weight of the first, sign, display scale. */
export interface NumericParts {
  digits: number[];
  weight: number;
  sign: number;
  dscale: number;
}

const NUMERIC_POSITIVE = 0x0000;
const NUMERIC_NEGATIVE = 0x4000;
const NUMERIC_NAN = 0xc000;

/** Splits a decimal literal into numeric's wire parts; a string says why it is not one. */
export function numericParts(text: string): NumericParts | string {
  const t = text.trim();
  if (/^nan$/i.test(t)) return { digits: [], weight: 0, sign: NUMERIC_NAN, dscale: 0 };
  const m = NUMERIC.exec(t);
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) return `${quoted(text)} is not a number`;
  const exponent = m[4] === undefined ? 0 : Number(m[4]);
  if (Math.abs(exponent) > 100_000) return `${t} is out of range for numeric`;
  const fraction = m[3] ?? '';
  let digits = m[2]! + fraction;
  // The value is 0.d0 d1 d2 … × 10^point.
  let point = m[2]!.length + exponent;
  const dscale = Math.max(0, fraction.length - exponent);
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead).replace(/0+$/, '');
  point -= lead;
  if (digits === '') return { digits: [], weight: 0, sign: NUMERIC_POSITIVE, dscale };
  // Base-10000 group g holds the decimal exponents 4g … 4g+3; the first digit has exponent point-1.
  const weight = Math.floor((point - 1) / 4);
  const padLeft = 4 * weight + 3 - (point - 1);
  let padded = '0'.repeat(padLeft) + digits;
  padded += '0'.repeat((4 - (padded.length % 4)) % 4);
  const groups: number[] = [];
  for (let i = 0; i < padded.length; i += 4) groups.push(Number(padded.slice(i, i + 4)));
  // The limits numeric_recv enforces.
  if (groups.length > 3000 || weight > 32767 || weight < -32768 || dscale > 0x3fff) return `${t} is out of range for numeric`;
  return { digits: groups, weight, sign: m[1] === '-' ? NUMERIC_NEGATIVE : NUMERIC_POSITIVE, dscale };
}

const encodeNumeric: TextEncoder = (w, text) => {
  const parts = numericParts(text);
  if (typeof parts === 'string') return parts;
  w.numeric(parts.digits, parts.weight, parts.sign, parts.dscale);
  return undefined;
};

const encodeBoolean: TextEncoder = (w, text) => {
  const t = text.trim().toLowerCase();
  if (TRUE_WORDS.has(t)) w.bool(true);
  else if (FALSE_WORDS.has(t)) w.bool(false);
  else return `${quoted(text)} is not a boolean (true/false, t/f, yes/no, 1/0)`;
  return undefined;
};

const encodeDate: TextEncoder = (w, text) => {
  const days = parseDate(text.trim());
  if (days === undefined) return `${quoted(text)} is not a date (YYYY-MM-DD)`;
  w.int4(days);
  return undefined;
};

/** Microseconds since 2000-01-01 as an int8; beyond ±285 years of 2000 they no longer fit a double exactly. */
function writeMicros(w: CopyBinaryWriter, seconds: number, micros: number): void {
  if (Math.abs(seconds) < 9e9) w.int8(seconds * 1e6 + micros);
  else w.int8Big(BigInt(seconds) * 1_000_000n + BigInt(micros));
}

const encodeTimestamp: TextEncoder = (w, text) => {
  const t = parseTimestamp(text.trim());
  if (t === undefined) return `${quoted(text)} is not a timestamp (YYYY-MM-DD HH:MM[:SS])`;
  // PostgreSQL would silently drop the zone here; a timestamptz column keeps it.
  if (t.zoned) return `${quoted(text)} has a time zone, but the column is timestamp without time zone; load it with --types <column>=timestamptz`;
  writeMicros(w, t.seconds, t.micros);
  return undefined;
};

/** A timestamp with a zone; one without is read as UTC (not as the server's time zone, which would make the load depend on it). */
const encodeTimestamptz: TextEncoder = (w, text) => {
  const t = parseTimestamp(text.trim());
  if (t === undefined) return `${quoted(text)} is not a timestamp (YYYY-MM-DD HH:MM[:SS][+HH:MM])`;
  writeMicros(w, t.seconds, t.micros);
  return undefined;
};

const encodeText: TextEncoder = (w, text) => {
  if (text.includes('\0')) return 'contains a NUL character, which PostgreSQL text cannot store';
  w.utf8(text);
  return undefined;
};

export const TEXT_ENCODERS: Readonly<Record<SqlType, TextEncoder>> = {
  bigint: encodeBigint,
  integer: encodeInteger(32),
  smallint: encodeInteger(16),
  'double precision': encodeDouble,
  real: encodeReal,
  numeric: encodeNumeric,
  boolean: encodeBoolean,
  date: encodeDate,
  timestamp: encodeTimestamp,
  timestamptz: encodeTimestamptz,
  text: encodeText,
};

/** Bit flags of what a sampled CSV value could be, for type inference. */
export const CAN_BE = { bigint: 1, double: 2, boolean: 4, date: 8, timestamp: 16, timestamptz: 32 } as const;
export const CAN_BE_ANYTHING = 63;

/**
 * What a non-empty CSV value could be loaded as. Inference is stricter than the encoders: only
 * true/false/t/f count as booleans (a 0/1 column is an integer column), and a date also counts as
 * a timestamp (midnight), so a column mixing both becomes timestamp.
 */
export function possibleTypes(text: string): number {
  const t = text.trim();
  let mask = 0;
  const c = t.charCodeAt(0);
  const numberLike = (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46; // digit + - .
  if (numberLike || FLOAT_WORD.test(t)) {
    if (INTEGER.test(t) && (significantDigits(t) <= 18 || (BigInt(t) >= INT64_MIN && BigInt(t) <= INT64_MAX))) mask |= CAN_BE.bigint;
    if (typeof parseFloatText(t) === 'number') mask |= CAN_BE.double;
    if (c >= 48 && c <= 57 && t.length >= 10 && t[4] === '-') {
      const ts = parseTimestamp(t);
      if (ts !== undefined) mask |= ts.zoned ? CAN_BE.timestamptz : ts.timed ? CAN_BE.timestamp : CAN_BE.date | CAN_BE.timestamp;
    }
  } else if (/^(true|false|t|f)$/i.test(t)) {
    mask |= CAN_BE.boolean;
  }
  return mask;
}
