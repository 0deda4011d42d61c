import { CopyBinaryReader, decodeNumber, type WireType } from '../../lib/data/copy-binary';
import { sourceColumn } from '../../lib/data/source-schema';
import { mulberry32 } from '../../lib/random';
import { TRAILER, copyStream, field, header, tuple, type WireValue } from './fixtures/pg-binary-copy';

/** Every tuple the reader yields for `chunks`, each field decoded (numbers) or as text (text). */
function readAll(wires: WireType[], chunks: Buffer[]): WireValue[][] {
  const reader = new CopyBinaryReader(wires.length);
  const rows: WireValue[][] = [];
  for (const chunk of chunks) {
    reader.push(chunk, (buf, starts, lengths) => {
      rows.push(
        wires.map((wire, f) => {
          if (lengths[f]! < 0) return null;
          return wire === 'text' ? buf.toString('utf8', starts[f]!, starts[f]! + lengths[f]!) : decodeNumber(wire, buf, starts[f]!);
        }),
      );
    });
  }
  reader.end();
  return rows;
}

function decodeOne(wire: WireType, value: WireValue): number {
  const encoded = field(wire, value); // int32 length, then the value
  return decodeNumber(wire, encoded, 4);
}

describe('decodeNumber', () => {
  test('integers of every width, negative ones included', () => {
    expect(decodeOne('int2', -12345)).toBe(-12345);
    expect(decodeOne('int2', 32767)).toBe(32767);
    expect(decodeOne('int4', -2147483648)).toBe(-2147483648);
    expect(decodeOne('int4', 1_500_000)).toBe(1_500_000);
    expect(decodeOne('int8', 2 ** 40 + 3)).toBe(2 ** 40 + 3);
    expect(decodeOne('int8', -(2 ** 45) - 17)).toBe(-(2 ** 45) - 17);
    expect(decodeOne('int8', Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeOne('int8', -1)).toBe(-1);
  });

  test('floats, with their specials', () => {
    expect(decodeOne('float8', 3.141592653589793)).toBe(3.141592653589793);
    expect(decodeOne('float4', 0.5)).toBe(0.5);
    expect(decodeOne('float4', 0.1)).toBeCloseTo(0.1, 7);
    expect(decodeOne('float8', -Infinity)).toBe(-Infinity);
    expect(Number.isNaN(decodeOne('float8', NaN))).toBe(true);
  });

  test('timestamps and dates as epoch milliseconds (UTC), infinities as ±Infinity', () => {
    const ms = Date.UTC(2001, 0, 4, 6, 58);
    expect(decodeOne('timestamp', ms)).toBe(ms);
    expect(decodeOne('timestamp', Date.UTC(1970, 0, 1))).toBe(0); // before PostgreSQL's 2000 epoch
    expect(decodeOne('timestamp', ms + 0.25)).toBe(ms + 0.25); // microsecond precision survives
    expect(decodeOne('timestamp', 'infinity')).toBe(Infinity);
    expect(decodeOne('timestamp', '-infinity')).toBe(-Infinity);
    expect(decodeOne('date', Date.UTC(2026, 10, 26))).toBe(Date.UTC(2026, 10, 26));
    expect(decodeOne('date', Date.UTC(1999, 11, 31))).toBe(Date.UTC(1999, 11, 31));
    expect(decodeOne('date', 'infinity')).toBe(Infinity);
    expect(decodeOne('date', '-infinity')).toBe(-Infinity);
  });
});

describe('CopyBinaryReader', () => {
  const wires: WireType[] = ['int8', 'int4', 'float8', 'timestamp', 'text', 'text'];
  const rows: WireValue[][] = Array.from({ length: 300 }, (_, i) => [
    i + 1,
    i % 5 === 0 ? null : i * 7 - 500,
    i / 3,
    Date.UTC(2001, 0, 1) + i * 60_000,
    ['BOS', 'Zürich', '東京', '', '🛫'][i % 5]!,
    i % 11 === 0 ? null : `dest-${i}`,
  ]);
  const stream = copyStream(wires, rows);

  test('reads every tuple of a stream in one chunk', () => {
    expect(readAll(wires, [stream])).toEqual(rows);
  });

  test('a stream cut into two at every byte position reads the same', () => {
    const small = copyStream(wires, rows.slice(0, 6));
    for (let cut = 0; cut <= small.length; cut++) {
      expect(readAll(wires, [small.subarray(0, cut), small.subarray(cut)])).toEqual(rows.slice(0, 6));
    }
  });

  test('random chunkings, down to single bytes, read the same', () => {
    const random = mulberry32(99);
    for (let trial = 0; trial < 20; trial++) {
      const maxChunk = trial === 0 ? 1 : 1 + Math.floor(random() * 700);
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length;) {
        const size = 1 + Math.floor(random() * maxChunk);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      expect(readAll(wires, chunks)).toEqual(rows);
    }
  });

  test('a field wider than the straddle window, split across chunks, is read whole', () => {
    const long = 'x'.repeat(10_000) + 'é'.repeat(3_000);
    const wide: WireValue[][] = [
      [1, 2, 3, 0, long, 'a'],
      [2, 3, 4, 0, 'short', long],
    ];
    const s = copyStream(wires, wide);
    for (const cut of [100, 5_000, 9_000, 15_000, s.length - 10]) {
      expect(readAll(wires, [s.subarray(0, cut), s.subarray(cut)])).toEqual(wide);
    }
    const pieces: Buffer[] = [];
    for (let at = 0; at < s.length; at += 1000) pieces.push(s.subarray(at, at + 1000));
    expect(readAll(wires, pieces)).toEqual(wide);
  });

  test('skips a header extension area', () => {
    const s = Buffer.concat([header(Buffer.from('future header data')), tuple(['int4'], [42]), TRAILER]);
    expect(readAll(['int4'], [s])).toEqual([[42]]);
  });

  test('an empty result is a header and a trailer', () => {
    expect(readAll(wires, [copyStream(wires, [])])).toEqual([]);
  });

  test('a stream cut off before its trailer fails instead of passing as a short table', () => {
    const cut = stream.subarray(0, stream.length - 2);
    expect(() => readAll(wires, [cut])).toThrow(/ended before its trailer/);
    expect(() => readAll(wires, [stream.subarray(0, stream.length - 40)])).toThrow(/ended before its trailer/);
  });

  test('rejects bytes after the trailer, a wrong field count and a foreign stream', () => {
    expect(() => readAll(wires, [Buffer.concat([stream, Buffer.from([1, 2, 3])])])).toThrow(/3 unexpected bytes after the binary COPY trailer/);
    expect(() => readAll(['int4'], [copyStream(['int4', 'int4'], [[1, 2]])])).toThrow('binary COPY tuple has 2 fields, expected 1');
    expect(() => readAll(wires, [Buffer.from('1\t2\tBOS\n'.repeat(5))])).toThrow(/bad signature/);
  });
});

describe('sourceColumn', () => {
  test('reads types ingest decodes itself as the bare column', () => {
    expect(sourceColumn('id', 'bigint', 'number')).toEqual({ name: 'id', kind: 'number', select: '"id"', wire: 'int8' });
    expect(sourceColumn('delay', 'integer', 'number').wire).toBe('int4');
    expect(sourceColumn('n', 'smallint', 'number').wire).toBe('int2');
    expect(sourceColumn('x', 'real', 'number').wire).toBe('float4');
    expect(sourceColumn('x', 'double precision', 'number').wire).toBe('float8');
    expect(sourceColumn('at', 'timestamp with time zone', 'timestamp')).toMatchObject({ select: '"at"', wire: 'timestamp' });
    expect(sourceColumn('at', 'timestamp without time zone', 'timestamp').wire).toBe('timestamp');
    expect(sourceColumn('day', 'date', 'timestamp').wire).toBe('date');
    expect(sourceColumn('origin', 'text', 'text')).toMatchObject({ select: '"origin"', wire: 'text' });
    expect(sourceColumn('origin', 'character varying', 'text').wire).toBe('text');
  });

  test('casts on the server what it does not decode', () => {
    expect(sourceColumn('price', 'numeric', 'number')).toEqual({ name: 'price', kind: 'number', select: '"price"::float8', wire: 'float8' });
    // A categorical feature over an integer or a padded char(n) column: its text form.
    expect(sourceColumn('carrier_id', 'integer', 'text')).toMatchObject({ select: '"carrier_id"::text', wire: 'text' });
    expect(sourceColumn('code', 'character', 'text')).toMatchObject({ select: '"code"::text', wire: 'text' });
    expect(() => sourceColumn('at', 'text', 'timestamp')).toThrow(/cannot be read as a timestamp/);
  });
});
