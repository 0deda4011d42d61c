import {
  Bool,
  DateDay,
  Decimal,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  LargeUtf8,
  List,
  TimestampMicrosecond,
  TimestampMillisecond,
  Uint32,
  Utf8,
} from 'apache-arrow';
import { arrowColumnType, inferCsvColumnTypes } from '../../lib/data/load/infer-column-types';
import { parseTypeOverrides, sqlTypeOf } from '../../lib/data/load/sql-types';

/** One column of sample values → its inferred type. */
const typeOf = (...values: string[]): string =>
  inferCsvColumnTypes(
    values.map((v) => [v]),
    1,
  )[0]!;

describe('inferCsvColumnTypes', () => {
  test('the narrowest type every value fits', () => {
    expect(typeOf('1', '-2', '+30')).toBe('bigint');
    expect(typeOf('1', '2.5', '1e3')).toBe('double precision');
    expect(typeOf('NaN', '1.5', '-Infinity')).toBe('double precision');
    expect(typeOf('true', 'FALSE', 't', 'f')).toBe('boolean');
    expect(typeOf('2024-01-01', '1999-12-31')).toBe('date');
    expect(typeOf('2024-01-01 10:00', '2024-01-02T11:30:15.25')).toBe('timestamp');
    expect(typeOf('2024-01-01T10:00:00Z', '2024-01-02 11:30+02:00')).toBe('timestamptz');
    expect(typeOf('abc', '1')).toBe('text');
  });

  test('a column mixing dates and timestamps is timestamp; mixing zoned and unzoned times is text', () => {
    expect(typeOf('2024-01-01', '2024-01-02 10:00')).toBe('timestamp');
    expect(typeOf('2024-01-01 10:00', '2024-01-02 10:00Z')).toBe('text');
  });

  test('0/1 is an integer column, not boolean; yes/no stays text', () => {
    expect(typeOf('0', '1', '1')).toBe('bigint');
    expect(typeOf('yes', 'no')).toBe('text');
  });

  test('integers past int64 are doubles; impossible dates are text', () => {
    expect(typeOf('9223372036854775807')).toBe('bigint');
    expect(typeOf('9223372036854775808')).toBe('double precision');
    expect(typeOf('2023-02-29')).toBe('text');
  });

  test('empty and blank values say nothing; a column with no value at all is text', () => {
    expect(typeOf('', '12', '  ', '')).toBe('bigint');
    expect(typeOf('', '')).toBe('text');
  });

  test('columns are inferred independently, and short rows leave later columns alone', () => {
    const sample = [
      ['1', 'x', '2024-01-01'],
      ['2', 'y'],
      ['3', 'z', '2024-01-03'],
    ];
    expect(inferCsvColumnTypes(sample, 3)).toEqual(['bigint', 'text', 'date']);
  });
});

describe('arrowColumnType', () => {
  const f = (type: ConstructorParameters<typeof Field>[1]): Field => new Field('c', type, true);
  test('Arrow types map to their natural SQL types', () => {
    expect(arrowColumnType(f(new Int8()))).toBe('integer');
    expect(arrowColumnType(f(new Int16()))).toBe('integer');
    expect(arrowColumnType(f(new Int32()))).toBe('integer');
    expect(arrowColumnType(f(new Uint32()))).toBe('bigint');
    expect(arrowColumnType(f(new Int64()))).toBe('bigint');
    expect(arrowColumnType(f(new Float32()))).toBe('double precision');
    expect(arrowColumnType(f(new Float64()))).toBe('double precision');
    expect(arrowColumnType(f(new Bool()))).toBe('boolean');
    expect(arrowColumnType(f(new Utf8()))).toBe('text');
    expect(arrowColumnType(f(new LargeUtf8()))).toBe('text');
    expect(arrowColumnType(f(new Dictionary(new Utf8(), new Int32())))).toBe('text');
    expect(arrowColumnType(f(new DateDay()))).toBe('date');
    expect(arrowColumnType(f(new TimestampMicrosecond()))).toBe('timestamp');
    expect(arrowColumnType(f(new TimestampMillisecond('UTC')))).toBe('timestamptz');
    expect(arrowColumnType(f(new Decimal(2, 10, 128)))).toBe('numeric');
  });

  test('nested types have no natural column', () => {
    expect(arrowColumnType(f(new List(new Field('item', new Int32()))))).toBeUndefined();
  });
});

describe('--types', () => {
  test('parses column=type pairs, with PostgreSQL aliases', () => {
    expect(parseTypeOverrides('zip=text, amount=numeric,n=int4,x=float8,t=timestamp with time zone')).toEqual({
      zip: 'text',
      amount: 'numeric',
      n: 'integer',
      x: 'double precision',
      t: 'timestamptz',
    });
    expect(sqlTypeOf('Double  Precision')).toBe('double precision');
  });

  test('names what is wrong', () => {
    expect(() => parseTypeOverrides('zip')).toThrow('--types: "zip" is not column=type');
    expect(() => parseTypeOverrides('zip=varchar(5)')).toThrow(/"varchar\(5\)" \(for column "zip"\) is not a type pipewright loads; use one of: bigint/);
  });
});
