import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Float64, Utf8, type RecordBatch } from 'apache-arrow';
import { ShardWriter, readShardBatches } from '../../lib/data/arrow-shards';
import { CopyBinaryReader } from '../../lib/data/copy-binary';
import { ShardBatchBuilder, describeTuple, shardSchema } from '../../lib/data/ingest-partition';
import type { SourceColumn } from '../../lib/data/source-schema';
import { copyStream, type WireValue } from './fixtures/pg-binary-copy';

const columns: SourceColumn[] = [
  { name: 'id', kind: 'number', select: '"id"', wire: 'int8' },
  { name: 'delay', kind: 'number', select: '"delay"', wire: 'float8' },
  { name: 'date', kind: 'timestamp', select: '"date"', wire: 'timestamp' },
  { name: 'origin', kind: 'text', select: '"origin"', wire: 'text' },
];
const wires = columns.map((c) => c.wire);
type CopyField = WireValue;

/** Feeds rows, encoded as a binary COPY stream, to the builder; returns the reasons for refused rows (null when taken). */
function addRows(builder: ShardBatchBuilder, rows: CopyField[][], onFull?: () => void): Array<string | null> {
  const outcomes: Array<string | null> = [];
  const reader = new CopyBinaryReader(columns.length);
  reader.push(copyStream(wires, rows), (buf, starts, lengths) => {
    outcomes.push(builder.addTuple(buf, starts, lengths));
    if (builder.full) onFull?.();
  });
  reader.end();
  return outcomes;
}

function add(builder: ShardBatchBuilder, row: CopyField[]): string | null {
  return addRows(builder, [row])[0]!;
}

interface Row {
  id: number;
  delay: number;
  date: number;
  origin: string | null;
}

function fieldsOf(row: Row): CopyField[] {
  return [row.id, row.delay, row.date, row.origin];
}

function makeRows(n: number): Row[] {
  const airports = ['BOS', 'SFO', 'Zürich', '東京', null, '']; // null and '' must stay distinct
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    delay: (i % 7) * 2.5 - 5,
    date: Date.UTC(2001, 0, 1) + i * 60_000,
    origin: airports[i % airports.length]!,
  }));
}

async function readRows(file: string): Promise<{ rows: Row[]; batchSizes: number[] }> {
  const rows: Row[] = [];
  const batchSizes: number[] = [];
  for await (const batch of readShardBatches(file)) {
    batchSizes.push(batch.numRows);
    rows.push(...rowsOf(batch));
  }
  return { rows, batchSizes };
}

function rowsOf(batch: RecordBatch): Row[] {
  const id = batch.getChild('id')!;
  const delay = batch.getChild('delay')!;
  const date = batch.getChild('date')!;
  const origin = batch.getChild('origin')!;
  const out: Row[] = [];
  for (let r = 0; r < batch.numRows; r++) out.push({ id: id.get(r), delay: delay.get(r), date: date.get(r), origin: origin.get(r) });
  return out;
}

describe('shardSchema', () => {
  test('numbers and timestamps are non-null Float64; text is nullable Utf8', () => {
    const schema = shardSchema(columns);
    expect(schema.fields.map((f) => f.name)).toEqual(['id', 'delay', 'date', 'origin']);
    expect(schema.fields.map((f) => f.nullable)).toEqual([false, false, false, true]);
    expect(schema.fields.slice(0, 3).every((f) => f.type instanceof Float64)).toBe(true);
    expect(schema.fields[3]!.type).toBeInstanceOf(Utf8);
  });
});

describe('ShardBatchBuilder', () => {
  test('accepts well-formed rows and counts them', () => {
    const builder = new ShardBatchBuilder(columns, 3);
    expect(add(builder, [1, 2.5, 978307200000, 'BOS'])).toBeNull();
    expect(add(builder, [2, -3, 978307260000, null])).toBeNull(); // null text is fine
    expect(builder.length).toBe(2);
    expect(builder.full).toBe(false);
    expect(add(builder, [3, 0, 978307320000, ''])).toBeNull();
    expect(builder.full).toBe(true);
  });

  test('rejects a null number, appending nothing', () => {
    const builder = new ShardBatchBuilder(columns, 10);
    expect(add(builder, [1, null, 3, 'BOS'])).toBe('"delay" is null');
    expect(add(builder, [1, 2, null, 'BOS'])).toBe('"date" is null');
    expect(builder.length).toBe(0);
  });

  test('rejects non-finite numbers and infinite timestamps, appending nothing', () => {
    const builder = new ShardBatchBuilder(columns, 10);
    expect(add(builder, [1, NaN, 3, 'BOS'])).toBe('"delay" is not a finite number: NaN');
    expect(add(builder, [1, Infinity, 3, 'BOS'])).toBe('"delay" is not a finite number: Infinity');
    expect(add(builder, [1, 2, 'infinity', 'BOS'])).toBe('"date" is not a finite number: Infinity');
    expect(add(builder, [1, 2, '-infinity', 'BOS'])).toBe('"date" is not a finite number: -Infinity');
    expect(builder.length).toBe(0);
  });

  test('rejects a field whose width does not fit its type', () => {
    const builder = new ShardBatchBuilder(columns, 10);
    const reader = new CopyBinaryReader(columns.length);
    // "delay" declared float8 but sent as 4 bytes.
    const stream = copyStream(['int8', 'float4', 'timestamp', 'text'], [[1, 2, 3, 'BOS']]);
    const outcomes: Array<string | null> = [];
    reader.push(stream, (buf, starts, lengths) => outcomes.push(builder.addTuple(buf, starts, lengths)));
    expect(outcomes).toEqual(['"delay" has 4 bytes, expected 8 for float8']);
    expect(builder.length).toBe(0);
  });

  test('a rejected row does not disturb the rows around it', () => {
    const builder = new ShardBatchBuilder(columns, 10);
    expect(
      addRows(builder, [
        [1, 10, 100, 'A'],
        [2, NaN, 200, 'B'],
        [3, 30, 300, 'C'],
      ]),
    ).toEqual([null, '"delay" is not a finite number: NaN', null]);
    const { columns: data, length } = builder.flush();
    expect(length).toBe(2);
    expect(data).toHaveLength(4);
    expect(Array.from(data[0]!.values as Float64Array).slice(0, length)).toEqual([1, 3]);
    expect(Array.from(data[1]!.values as Float64Array).slice(0, length)).toEqual([10, 30]);
    expect(Array.from(data[2]!.values as Float64Array).slice(0, length)).toEqual([100, 300]);
  });

  test('describeTuple renders a refused row for the quarantine file', () => {
    const reader = new CopyBinaryReader(columns.length);
    const described: Array<Array<number | string | null>> = [];
    reader.push(
      copyStream(wires, [
        [7, null, 'infinity', 'Zürich'],
        [8, NaN, 0, null],
      ]),
      (buf, starts, lengths) => described.push(describeTuple(columns, buf, starts, lengths)),
    );
    expect(described).toEqual([
      [7, null, 'Infinity', 'Zürich'],
      [8, 'NaN', 0, null],
    ]);
    // JSON-safe: the quarantine file is NDJSON.
    expect(JSON.parse(JSON.stringify(described))).toEqual(described);
  });

  test('flush resets the builder', () => {
    const builder = new ShardBatchBuilder(columns, 2);
    addRows(builder, [
      [1, 1, 1, 'a'],
      [2, 2, 2, 'b'],
    ]);
    expect(builder.flush().length).toBe(2);
    expect(builder.length).toBe(0);
    expect(builder.full).toBe(false);
    expect(builder.flush().length).toBe(0);
  });
});

describe('ShardWriter and readShardBatches', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-shards-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes rows the way ingestPartition does: full batches as they fill, then a final (maybe empty) one. */
  async function writeShard(file: string, rows: Row[], batchRows: number, extraRows: CopyField[][] = []): Promise<string[]> {
    const writer = new ShardWriter(file, shardSchema(columns));
    const builder = new ShardBatchBuilder(columns, batchRows);
    const outcomes = addRows(builder, [...rows.map(fieldsOf), ...extraRows], () => {
      const batch = builder.flush();
      writer.write(batch.columns, batch.length);
    });
    const last = builder.flush();
    writer.write(last.columns, last.length);
    await writer.close();
    return outcomes.filter((o): o is string => o !== null);
  }

  test('writes several batches and reads every row back in order', async () => {
    const file = path.join(dir, 'shard.arrows');
    const rows = makeRows(2_345);
    await writeShard(file, rows, 1000);
    const back = await readRows(file);
    // Two full batches, the 345-row remainder.
    expect(back.batchSizes).toEqual([1000, 1000, 345]);
    expect(back.rows).toEqual(rows);
  });

  test('an exact multiple of the batch size ends with an empty batch and loses nothing', async () => {
    const file = path.join(dir, 'exact.arrows');
    const rows = makeRows(600);
    await writeShard(file, rows, 200);
    const back = await readRows(file);
    expect(back.batchSizes.filter((n) => n > 0)).toEqual([200, 200, 200]);
    expect(back.rows).toEqual(rows);
  });

  test('an empty shard still carries its schema', async () => {
    const file = path.join(dir, 'empty.arrows');
    await writeShard(file, [], 100);
    expect(statSync(file).size).toBeGreaterThan(0);
    const back = await readRows(file);
    expect(back.rows).toEqual([]);
    expect(back.batchSizes.every((n) => n === 0)).toBe(true);
  });

  test('malformed rows are reported and left out of the shard', async () => {
    const file = path.join(dir, 'dirty.arrows');
    const rows = makeRows(250);
    const bad: CopyField[][] = [
      [9001, null, 0, 'BOS'],
      [9002, Infinity, 0, 'BOS'],
      [9003, 1, '-infinity', 'BOS'],
    ];
    const rejected = await writeShard(file, rows, 100, bad);
    expect(rejected).toEqual(['"delay" is null', '"delay" is not a finite number: Infinity', '"date" is not a finite number: -Infinity']);
    const back = await readRows(file);
    expect(back.rows).toEqual(rows);
    expect(back.rows.some((r) => r.id > 9000)).toBe(false);
  });

  test('writing the same rows twice gives byte-identical shards', async () => {
    const rows = makeRows(1_500);
    const a = path.join(dir, 'a.arrows');
    const b = path.join(dir, 'b.arrows');
    await writeShard(a, rows, 512);
    await writeShard(b, rows, 512);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });
});
