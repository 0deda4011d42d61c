import { CopyBinaryWriter } from '../../lib/data/load/copy-binary-writer';
import { numericParts, TEXT_ENCODERS } from '../../lib/data/load/text-values';
import type { SqlType } from '../../lib/data/load/sql-types';
import { float4, float8, int2, int4, int8, pgMicros, text, tuples } from './fixtures/load-copy-decode';

/** Encodes one value as `type` in a one-field tuple; returns the field's bytes, or the reason it was refused. */
function encode(type: SqlType, value: string): Buffer | null | string {
  const w = new CopyBinaryWriter(64);
  w.header();
  w.tuple(1);
  const problem = TEXT_ENCODERS[type](w, value);
  if (problem !== undefined) return problem;
  w.trailer();
  return tuples(1, [w.take()])[0]![0]!;
}

function bytes(type: SqlType, value: string): Buffer {
  const out = encode(type, value);
  if (!Buffer.isBuffer(out)) throw new Error(`expected ${JSON.stringify(value)} to encode as ${type}, got ${String(out)}`);
  return out;
}

describe('integer values', () => {
  test('bigint: the exact value, also past 2^53 and at the int64 limits', () => {
    expect(int8(bytes('bigint', '42'))).toBe(42n);
    expect(int8(bytes('bigint', ' -17 '))).toBe(-17n);
    expect(int8(bytes('bigint', '+0007'))).toBe(7n);
    expect(int8(bytes('bigint', '9007199254740993'))).toBe(9007199254740993n);
    expect(int8(bytes('bigint', '9223372036854775807'))).toBe(2n ** 63n - 1n);
    expect(int8(bytes('bigint', '-9223372036854775808'))).toBe(-(2n ** 63n));
  });

  test('bigint refuses what is not an integer or does not fit', () => {
    expect(encode('bigint', 'abc')).toBe('"abc" is not an integer');
    expect(encode('bigint', '1.5')).toBe('"1.5" is not an integer');
    expect(encode('bigint', '9223372036854775808')).toBe('9223372036854775808 is out of range for bigint');
  });

  test('integer and smallint check their ranges', () => {
    expect(int4(bytes('integer', '-2147483648'))).toBe(-2147483648);
    expect(encode('integer', '2147483648')).toBe('2147483648 is out of range for integer');
    expect(encode('integer', '99999999999999999999')).toBe('99999999999999999999 is out of range for integer');
    expect(int2(bytes('smallint', '32767'))).toBe(32767);
    expect(encode('smallint', '-32769')).toBe('-32769 is out of range for smallint');
  });
});

describe('floating-point values', () => {
  test('double precision: the nearest double, as Number() reads the literal', () => {
    expect(float8(bytes('double precision', '0.1'))).toBe(0.1);
    expect(float8(bytes('double precision', '-1.5e3'))).toBe(-1500);
    expect(float8(bytes('double precision', '.5'))).toBe(0.5);
    expect(float8(bytes('double precision', 'NaN'))).toBeNaN();
    expect(float8(bytes('double precision', '-Infinity'))).toBe(-Infinity);
    expect(float8(bytes('double precision', '4e-320'))).toBe(4e-320); // subnormal: PostgreSQL keeps it too
  });

  test('double precision refuses words, overflow and silent underflow', () => {
    expect(encode('double precision', '12abc')).toBe('"12abc" is not a number');
    expect(encode('double precision', '1e400')).toBe('1e400 is out of range for double precision');
    expect(encode('double precision', '1e-400')).toMatch(/out of range for double precision \(too close to zero\)/);
  });

  test('real rounds to single precision and checks its range', () => {
    expect(float4(bytes('real', '0.1'))).toBe(Math.fround(0.1));
    expect(encode('real', '1e39')).toBe('1e39 is out of range for real');
  });
});

describe('numeric values (PostgreSQL numeric_send: base-10000 digits, weight, sign, dscale)', () => {
  test('digits group around the decimal point', () => {
    // 12345.678 = 1·10000^1 + 2345·10000^0 + 6780·10000^-1
    expect(numericParts('12345.678')).toEqual({ digits: [1, 2345, 6780], weight: 1, sign: 0, dscale: 3 });
    expect(numericParts('-0.001')).toEqual({ digits: [10], weight: -1, sign: 0x4000, dscale: 3 });
    expect(numericParts('1e5')).toEqual({ digits: [10], weight: 1, sign: 0, dscale: 0 });
    expect(numericParts('100.00')).toEqual({ digits: [100], weight: 0, sign: 0, dscale: 2 });
    expect(numericParts('0.000')).toEqual({ digits: [], weight: 0, sign: 0, dscale: 3 });
    expect(numericParts('NaN')).toEqual({ digits: [], weight: 0, sign: 0xc000, dscale: 0 });
  });

  test('the parts put back together give the literal', () => {
    for (const literal of ['3.14159', '-271828.1828', '0.5', '123456789012345678901234567890.000000001', '7', '-0.0625']) {
      const parts = numericParts(literal);
      if (typeof parts === 'string') throw new Error(parts);
      // Σ digit·10000^(weight - i), scaled by 10^dscale to stay in integers.
      let total = 0n;
      parts.digits.forEach((d, i) => {
        const e = 4 * (parts.weight - i) + parts.dscale;
        total += e >= 0 ? BigInt(d) * 10n ** BigInt(e) : BigInt(d) / 10n ** BigInt(-e);
      });
      const fraction = literal.split('.')[1] ?? '';
      expect(parts.dscale).toBe(fraction.length);
      expect(total).toBe(BigInt(literal.replace('-', '').replace('.', '')));
      expect(parts.sign).toBe(literal.startsWith('-') ? 0x4000 : 0);
    }
  });

  test('refuses what is not a number', () => {
    expect(encode('numeric', '1,5')).toBe('"1,5" is not a number');
    expect(encode('numeric', '.')).toBe('"." is not a number');
  });
});

describe('booleans, dates and timestamps', () => {
  test('booleans in the spellings PostgreSQL reads', () => {
    for (const t of ['true', 'TRUE', 't', 'yes', 'y', 'on', '1']) expect(bytes('boolean', t)[0]).toBe(1);
    for (const f of ['false', 'F', 'no', 'n', 'off', '0']) expect(bytes('boolean', f)[0]).toBe(0);
    expect(encode('boolean', 'maybe')).toMatch(/"maybe" is not a boolean/);
  });

  test('dates are days since 2000-01-01', () => {
    const days = (iso: string): number => (Date.parse(`${iso}T00:00:00Z`) - Date.UTC(2000, 0, 1)) / 86_400_000;
    expect(int4(bytes('date', '2024-02-29'))).toBe(days('2024-02-29'));
    expect(int4(bytes('date', '1970-01-01'))).toBe(days('1970-01-01'));
    expect(int4(bytes('date', '0001-01-01'))).toBe(-730119); // 730119 days from 1 AD to 2000 AD
    expect(encode('date', '2023-02-29')).toMatch(/is not a date/);
    expect(encode('date', '2024-13-01')).toMatch(/is not a date/);
    expect(encode('date', '2024-01-01 10:00')).toMatch(/is not a date/);
  });

  test('timestamps are microseconds since 2000-01-01, with T or space, seconds and fractions optional', () => {
    expect(int8(bytes('timestamp', '2024-01-02 03:04'))).toBe(pgMicros('2024-01-02T03:04:00'));
    expect(int8(bytes('timestamp', '2024-01-02T03:04:05'))).toBe(pgMicros('2024-01-02T03:04:05'));
    expect(int8(bytes('timestamp', '2024-01-02 03:04:05.123456'))).toBe(pgMicros('2024-01-02T03:04:05.123456'));
    expect(int8(bytes('timestamp', '1999-12-31 23:59:59.5'))).toBe(-500_000n);
    expect(int8(bytes('timestamp', '2024-01-02'))).toBe(pgMicros('2024-01-02T00:00:00'));
    // Far from 2000 the value passes 2^53 µs and must still be exact.
    expect(int8(bytes('timestamp', '9999-12-31 23:59:59.999999'))).toBe(BigInt(Date.UTC(9999, 11, 31, 23, 59, 59) - Date.UTC(2000, 0, 1)) * 1000n + 999_999n);
  });

  test('timestamp refuses a zone (PostgreSQL would drop it silently); timestamptz applies it', () => {
    expect(encode('timestamp', '2024-01-02 03:04:05+02:00')).toMatch(/has a time zone.*--types <column>=timestamptz/);
    expect(int8(bytes('timestamptz', '2024-01-02 03:04:05+02:00'))).toBe(pgMicros('2024-01-02T01:04:05'));
    expect(int8(bytes('timestamptz', '2024-01-02T03:04:05Z'))).toBe(pgMicros('2024-01-02T03:04:05'));
    expect(int8(bytes('timestamptz', '2024-01-02 03:04:05-0530'))).toBe(pgMicros('2024-01-02T08:34:05'));
    expect(int8(bytes('timestamptz', '2024-01-02 03:04:05'))).toBe(pgMicros('2024-01-02T03:04:05')); // no zone: UTC
  });

  test('impossible times are refused', () => {
    for (const bad of ['2024-01-01 24:00', '2024-01-01 10:60', '2024-01-01 10:00:61', '0000-01-01', '2024-1-1', '2024-01-01 10:00:00.1234567']) {
      expect(encode('timestamp', bad)).toMatch(/is not a timestamp/);
    }
  });
});

describe('text values', () => {
  test('UTF-8 as it is, whitespace kept', () => {
    expect(text(bytes('text', '  naïve ☃ 😀 '))).toBe('  naïve ☃ 😀 ');
    expect(text(bytes('text', 'tab\there\nnewline\\'))).toBe('tab\there\nnewline\\');
  });

  test('NUL cannot be stored', () => {
    expect(encode('text', 'a\0b')).toBe('contains a NUL character, which PostgreSQL text cannot store');
  });
});
