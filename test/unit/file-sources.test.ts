import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { readShardBatches } from '../../lib/data/arrow-shards';
import { csvLayout } from '../../lib/data/files/csv-layout';
import { planFileSource, ROW_NUMBER_FILE_SHIFT } from '../../lib/data/files/file-source-plan';
import { parquetLayout } from '../../lib/data/files/parquet-layout';
import { sourceFiles } from '../../lib/data/files/source-files';
import { ingestPartition } from '../../lib/data/ingest-partition';
import { readCsv } from '../../lib/data/load/csv-rows';
import { openParquetFile } from '../../lib/data/load/parquet-rows';
import type { FilePiece } from '../../lib/data/partitions';
import { fileStoreSettings, localArtifactPath } from '../../lib/artifacts/artifact-store';
import { parsePipelineSpec, ROW_NUMBER_COLUMN, type PipelineSpec } from '../../lib/spec/pipeline-spec';

/**
 * CSV and Parquet sources: partitions that cover every record once (never cutting a quoted
 * newline), row groups split to equal rows, and shards read straight from the files with the same
 * quarantine rules as a table.
 */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-files-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, content: string | Uint8Array): string => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

/** A CSV of `rows` records whose `note` field is quoted and holds a newline (and a doubled quote) every 7th row. */
function csvText(rows: number, from = 0): string {
  const lines = ['id,amount,city,note,when'];
  for (let i = from; i < from + rows; i++) {
    const note = i % 7 === 0 ? `"two\nlines, ""quoted"" ${i}"` : `plain ${i}`;
    lines.push(`${i},${(i * 1.5).toFixed(1)},${['oslo', 'lima', 'pune'][i % 3]},${note},2024-0${1 + (i % 9)}-1${i % 10} 0${i % 10}:30:00`);
  }
  return `${lines.join('\n')}\n`;
}

async function recordsOf(pieces: FilePiece[]): Promise<string[]> {
  const out: string[] = [];
  for (const piece of pieces) {
    if (piece.format !== 'csv') throw new Error('csv pieces expected');
    for await (const items of readCsv(piece.file, { start: piece.start, end: piece.end, firstLine: piece.firstLine })) {
      for (const item of items) out.push(item.fields === null ? `MALFORMED ${item.line}` : item.fields[0]!);
    }
  }
  return out;
}

function spec(source: Record<string, unknown>): PipelineSpec {
  return parsePipelineSpec({
    name: 'files',
    source,
    label: { column: 'amount', greaterThan: 100 },
    features: [
      { kind: 'categorical', name: 'city', column: 'city' },
      { kind: 'hourOfDay', name: 'hour', column: 'when' },
    ],
    model: {},
  });
}

describe('csvLayout', () => {
  test('byte ranges hold every record exactly once, never cutting inside a quoted field, across files', async () => {
    const a = file('a.csv', csvText(3000));
    const b = file('b.csv', csvText(1000, 3000));
    for (const count of [1, 2, 3, 7]) {
      const layout = await csvLayout([a, b], count, ',');
      expect(layout.partitions.length).toBeLessThanOrEqual(count);
      const ids = (await Promise.all(layout.partitions.map(recordsOf))).flat();
      expect(ids).toEqual(Array.from({ length: 4000 }, (_, i) => String(i)));
    }
    const layout = await csvLayout([a, b], 4, ',');
    expect(layout.columns).toEqual([
      { name: 'id', type: 'bigint' },
      { name: 'amount', type: 'double precision' },
      { name: 'city', type: 'text' },
      { name: 'note', type: 'text' },
      { name: 'when', type: 'timestamp' },
    ]);
    // Equal work: each partition's bytes within a few percent of a quarter.
    const bytes = layout.partitions.map((pieces) => pieces.reduce((n, p) => n + (p.format === 'csv' ? p.end - p.start : 0), 0));
    const total = bytes.reduce((x, y) => x + y, 0);
    for (const n of bytes) expect(Math.abs(n - total / 4)).toBeLessThan(0.1 * (total / 4));
  });

  test('headers must agree, types may be overridden, and an empty file is named', async () => {
    const a = file('h1.csv', 'x,y\n1,2\n');
    const b = file('h2.csv', 'x,z\n1,2\n');
    await expect(csvLayout([a, b], 2, ',')).rejects.toThrow(/h2\.csv has the header x,z, unlike .*h1\.csv \(x,y\)/);
    expect((await csvLayout([a], 1, ',', { y: 'text' })).columns).toEqual([
      { name: 'x', type: 'bigint' },
      { name: 'y', type: 'text' },
    ]);
    await expect(csvLayout([a], 1, ',', { nope: 'text' })).rejects.toThrow('source.types: "nope" is not a column');
    await expect(csvLayout([file('empty.csv', '')], 1, ',')).rejects.toThrow(/empty\.csv is empty/);
    await expect(csvLayout([file('header-only.csv', 'x,y\n')], 1, ',')).rejects.toThrow(/have a header but no rows/);
  });
});

describe('sourceFiles', () => {
  test('a glob in name order; a glob or a path that matches nothing is named', async () => {
    file('g-2.csv', 'x\n1\n');
    file('g-10.csv', 'x\n1\n');
    file('g-1.csv', 'x\n1\n');
    expect((await sourceFiles(path.join(dir, 'g-*.csv'))).map((f) => path.basename(f))).toEqual(['g-1.csv', 'g-10.csv', 'g-2.csv']);
    await expect(sourceFiles(path.join(dir, 'nothing-*.csv'))).rejects.toThrow(/the glob ".*nothing-\*\.csv" matches no file/);
    await expect(sourceFiles(path.join(dir, 'missing.csv'))).rejects.toThrow(/missing\.csv does not exist/);
  });
});

describe('parquetLayout', () => {
  test('rows are cut into equal runs, splitting row groups where needed, and every row is in one run', async () => {
    const parquetWasm = await import('parquet-wasm/node');
    const n = 10_000;
    const table = tableFromArrays({ id: Int32Array.from({ length: n }, (_, i) => i), amount: Float64Array.from({ length: n }, (_, i) => i / 10) });
    const props = new parquetWasm.WriterPropertiesBuilder().setMaxRowGroupSize(3000).build();
    const p = file('rg.parquet', parquetWasm.writeParquet(parquetWasm.Table.fromIPCStream(tableToIPC(table, 'stream')), props));
    const layout = await parquetLayout([p, p], 3);
    expect(layout.rows).toBe(2 * n);
    const sizes = layout.partitions.map((pieces) => pieces.reduce((s, x) => s + (x.format === 'parquet' ? x.rows : 0), 0));
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    // The pieces, read as the ingest reads them, give every row of both files once, in order.
    const seen: string[] = [];
    for (const pieces of layout.partitions) {
      for (const piece of pieces) {
        if (piece.format !== 'parquet') continue;
        const reader = await openParquetFile(piece.file);
        for await (const batch of reader.batches({ rowGroups: piece.rowGroups, offset: piece.offset, limit: piece.rows })) {
          const ids = batch.getChild('id')!.toArray() as Int32Array;
          for (const id of ids) seen.push(`${piece.fileIndex}:${id}`);
        }
        reader.close();
      }
    }
    expect(seen).toEqual([...Array.from({ length: n }, (_, i) => `0:${i}`), ...Array.from({ length: n }, (_, i) => `1:${i}`)]);
  });
});

describe('ingesting a file partition', () => {
  test('a CSV partition becomes a shard with row numbers; bad values and short lines are quarantined with their reasons', async () => {
    const csv = file(
      'dirty.csv',
      [
        'id,amount,city,note,when',
        '1,150.5,oslo,a,2024-01-01 03:30:00',
        '2,abc,lima,b,2024-01-01 04:30:00',
        '3,99,pune',
        '4,,oslo,d,2024-01-01 05:30:00',
        '5,120,"pu\nne",e,2024-01-02 06:00:00',
      ].join('\n') + '\n',
    );
    // "abc" in the sample would make amount a text column; the spec says what it is.
    const s = spec({ kind: 'csv', path: csv, partitions: 1, types: { amount: 'double precision' } });
    const plan = await planFileSource(s, s.source.kind === 'csv' ? s.source : (undefined as never));
    expect(plan.schema.columns.map((c) => c.name)).toEqual([ROW_NUMBER_COLUMN, 'amount', 'city', 'when']);
    const artifactRoot = mkdtempSync(path.join(dir, 'artifacts-'));
    const shard = await ingestPartition(
      { databaseUrl: '', artifactStore: fileStoreSettings(artifactRoot), schema: plan.schema, partition: plan.partitions[0]!, batchRows: 1024 },
      () => undefined,
    );
    expect(shard.rows).toBe(2);
    expect(shard.quarantinedRows).toBe(3);
    const rows: Array<[number, number, string]> = [];
    for await (const batch of readShardBatches(await localArtifactPath(shard.uri))) {
      for (let i = 0; i < batch.numRows; i++)
        rows.push([batch.getChild(ROW_NUMBER_COLUMN)!.get(i) as number, batch.getChild('amount')!.get(i) as number, batch.getChild('city')!.get(i) as string]);
    }
    // Line numbers are the rows' identities (file 0): lines 2 and 6 (the last record spans lines 6-7).
    expect(rows).toEqual([
      [2, 150.5, 'oslo'],
      [6, 120, 'pu\nne'],
    ]);
    const reasons = readFileSync(await localArtifactPath(shard.quarantine!.uri), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { reason: string }).reason);
    expect(reasons).toEqual([expect.stringMatching(/^line 3: "amount" "abc" is not a number/), 'line 4 has 3 fields, the header has 5', '"amount" is null']);
    expect(ROW_NUMBER_FILE_SHIFT).toBe(2 ** 36);
  });
});
