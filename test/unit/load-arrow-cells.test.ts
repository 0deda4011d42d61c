import {
  Bool,
  DateDay,
  DateMillisecond,
  Decimal,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  Int8,
  LargeUtf8,
  List,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint64,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import { cellColumn } from '../../lib/data/load/arrow-cells';
import { CopyBinaryWriter } from '../../lib/data/load/copy-binary-writer';
import type { SqlType } from '../../lib/data/load/sql-types';
import { float8, int4, int8, text, tuples } from './fixtures/load-copy-decode';

const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/** Every row of `data` written as `type`: the field's bytes, null for NULL, or the reason it was refused. */
function writeAll(data: Data, type: SqlType): Array<Buffer | null | string> {
  const cell = cellColumn(data, type);
  return Array.from({ length: data.length }, (_, row) => {
    if (cell.isNull(row)) return null;
    const w = new CopyBinaryWriter(64);
    w.header();
    w.tuple(1);
    const problem = cell.write(w, row);
    if (problem !== undefined) return problem;
    w.trailer();
    return tuples(1, [w.take()])[0]![0]!;
  });
}

const dataOf = <T extends DataType>(values: unknown[], type: T): Data => vectorFromArray(values, type).data[0]!;
const asBuffer = (x: Buffer | null | string): Buffer | null => (typeof x === 'string' ? null : x);

describe('cellColumn: Arrow values into binary COPY', () => {
  test('int64 → bigint (exact, also near the limits), integer (range-checked), NULLs', () => {
    const data = dataOf([1n, -2n, 2n ** 62n + 3n, null, -(2n ** 63n)], new Int64());
    expect(writeAll(data, 'bigint').map((b) => int8(asBuffer(b)))).toEqual([1n, -2n, 2n ** 62n + 3n, null, -(2n ** 63n)]);
    const asInteger = writeAll(dataOf([2147483647n, -2147483648n, 2147483648n, -2147483649n], new Int64()), 'integer');
    expect(asInteger.slice(0, 2).map((b) => int4(asBuffer(b)))).toEqual([2147483647, -2147483648]);
    expect(asInteger.slice(2)).toEqual(['2147483648 is out of range for integer', '-2147483649 is out of range for integer']);
  });

  test('uint64 above 2^63 - 1 does not fit a bigint', () => {
    expect(writeAll(dataOf([5n, 2n ** 64n - 1n], new Uint64()), 'bigint')).toEqual([expect.any(Buffer), '18446744073709551615 is out of range for bigint']);
  });

  test('narrow integers, floats and booleans', () => {
    expect(writeAll(dataOf([1, -128, null], new Int8()), 'integer').map((b) => int4(asBuffer(b)))).toEqual([1, -128, null]);
    expect(writeAll(dataOf([0.1, NaN, -Infinity], new Float64()), 'double precision').map((b) => float8(asBuffer(b)))).toEqual([0.1, NaN, -Infinity]);
    expect(writeAll(dataOf([0.1], new Float32()), 'double precision').map((b) => float8(asBuffer(b)))).toEqual([Math.fround(0.1)]);
    expect(writeAll(dataOf([true, false, null, true], new Bool()), 'boolean').map((b) => (b === null ? null : (b as Buffer)[0]))).toEqual([1, 0, null, 1]);
  });

  test('strings go out as their UTF-8 bytes; a NUL is refused', () => {
    for (const type of [new Utf8(), new LargeUtf8()]) {
      const written = writeAll(dataOf(['LAS', '', null, 'naïve ☃ 😀', 'a\0b'], type), 'text');
      expect(written.slice(0, 4).map((b) => text(asBuffer(b)))).toEqual(['LAS', '', null, 'naïve ☃ 😀']);
      expect(written[4]).toBe('contains a NUL character, which PostgreSQL text cannot store');
    }
  });

  test('dictionary-encoded strings', () => {
    expect(writeAll(dataOf(['x', 'y', 'x', null], new Dictionary(new Utf8(), new Int32())), 'text').map((b) => text(asBuffer(b)))).toEqual([
      'x',
      'y',
      'x',
      null,
    ]);
  });

  test('timestamps of every unit become microseconds since 2000-01-01', () => {
    const ms = Date.UTC(2020, 0, 2, 3, 4, 5, 678);
    const expected = BigInt(ms - PG_EPOCH_MS) * 1000n;
    expect(int8(asBuffer(writeAll(dataOf([ms], new TimestampMillisecond()), 'timestamp')[0]!))).toBe(expected);
    expect(
      int8(asBuffer(writeAll(makeData({ type: new TimestampMicrosecond(), length: 1, data: new BigInt64Array([BigInt(ms) * 1000n + 9n]) }), 'timestamp')[0]!)),
    ).toBe(expected + 9n);
    // Nanoseconds: already past 2^53, truncated to the microsecond below (also before 1970).
    expect(
      int8(
        asBuffer(
          writeAll(makeData({ type: new TimestampNanosecond(), length: 1, data: new BigInt64Array([BigInt(ms) * 1_000_000n + 9_999n]) }), 'timestamp')[0]!,
        ),
      ),
    ).toBe(expected + 9n);
    expect(int8(asBuffer(writeAll(makeData({ type: new TimestampNanosecond(), length: 1, data: new BigInt64Array([-1n]) }), 'timestamp')[0]!))).toBe(
      BigInt(-PG_EPOCH_MS) * 1000n - 1n,
    );
    expect(
      int8(asBuffer(writeAll(makeData({ type: new TimestampSecond(), length: 1, data: new BigInt64Array([BigInt(ms / 1000 - 0.678)]) }), 'timestamp')[0]!)),
    ).toBe(expected - 678_000n);
    // A sentinel far from 1970 stays exact.
    const far = Date.UTC(9999, 11, 31, 23, 59, 59);
    const farData = makeData({ type: new TimestampMicrosecond(), length: 1, data: new BigInt64Array([BigInt(far) * 1000n + 999_999n]) });
    expect(int8(asBuffer(writeAll(farData, 'timestamp')[0]!))).toBe(BigInt(far - PG_EPOCH_MS) * 1000n + 999_999n);
  });

  test('dates become days since 2000-01-01', () => {
    const days = (y: number, m: number, d: number): number => (Date.UTC(y, m - 1, d) - PG_EPOCH_MS) / 86_400_000;
    const data = dataOf([new Date(Date.UTC(2020, 0, 2)), new Date(Date.UTC(1969, 11, 31)), null], new DateDay());
    expect(writeAll(data, 'date').map((b) => int4(asBuffer(b)))).toEqual([days(2020, 1, 2), days(1969, 12, 31), null]);
    expect(writeAll(dataOf([new Date(Date.UTC(1900, 5, 15))], new DateMillisecond()), 'date').map((b) => int4(asBuffer(b)))).toEqual([days(1900, 6, 15)]);
  });

  test('conversions through text: --types on a Parquet column', () => {
    const ts = dataOf([Date.UTC(2020, 0, 2, 3, 4, 5, 678)], new TimestampMicrosecond('UTC'));
    expect(text(asBuffer(writeAll(ts, 'text')[0]!))).toBe('2020-01-02 03:04:05.678+00');
    expect(text(asBuffer(writeAll(dataOf([new Date(Date.UTC(2020, 0, 2))], new DateDay()), 'text')[0]!))).toBe('2020-01-02');
    expect(writeAll(dataOf(['12', 'x', ''], new Utf8()), 'bigint').map((b) => (typeof b === 'string' ? b : int8(b)))).toEqual([
      12n,
      '"x" is not an integer',
      'an empty string is not a bigint',
    ]);
    expect(writeAll(dataOf([1.5, 2], new Float64()), 'integer').map((b) => (typeof b === 'string' ? b : int4(b)))).toEqual(['"1.5" is not an integer', 2]);
  });

  test('decimals keep every digit on the way to numeric text', () => {
    // 128-bit little-endian two's complement words: 12345 and -12345, scale 2.
    const words = new Uint32Array([12345, 0, 0, 0, (-12345 >>> 0) as number, 0xffffffff, 0xffffffff, 0xffffffff]);
    const data = makeData({ type: new Decimal(2, 10, 128), length: 2, data: words });
    expect(writeAll(data, 'text').map((b) => text(asBuffer(b)))).toEqual(['123.45', '-123.45']);
    expect(cellColumn(data, 'numeric').text(1)).toBe('-123.45');
  });

  test('nested values as JSON text when asked for text', () => {
    const list = vectorFromArray([[1, 2], [3]], new List(new Field('item', new Int32(), true))).data[0]!;
    expect(writeAll(list, 'text').map((b) => text(asBuffer(b)))).toEqual(['[1,2]', '[3]']);
  });
});
