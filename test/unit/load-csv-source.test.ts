import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCsvSource } from '../../lib/data/load/csv-source';
import { RowSink, type FileSource } from '../../lib/data/load/file-source';
import { planLoad, type PlanOptions } from '../../lib/data/load/load-plan';
import { RejectLog } from '../../lib/data/load/rejects';
import { bool, float8, int4, int8, pgMicros, text, tuples } from './fixtures/load-copy-decode';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-load-source-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function csvFile(content: string): string {
  const file = path.join(dir, `f${files++}.csv`);
  writeFileSync(file, content);
  return file;
}

/** Runs a CSV through inference, planning and encoding, as loadFile does, without a database. */
async function encodeCsv(content: string, options: { sampleRows?: number; limit?: number; plan?: Partial<PlanOptions> } = {}) {
  const source: FileSource = await openCsvSource(csvFile(content), {
    ...(options.sampleRows ? { sampleRows: options.sampleRows } : {}),
    ...(options.limit ? { limit: options.limit } : {}),
  });
  try {
    const plan = planLoad(source, { table: 't', key: 'id', ...options.plan });
    const rejects = new RejectLog('t');
    const sink = new RowSink(plan, rejects, options.limit);
    const chunks: Buffer[] = [];
    for await (const chunk of source.copyChunks(sink)) chunks.push(chunk);
    rejects.dispose();
    return { source, plan, sink, rows: tuples(plan.columns.length, chunks), rejects: rejects.summary() };
  } finally {
    await source.close();
  }
}

describe('CSV rows into binary COPY', () => {
  test('types are inferred, a key is added and numbered over the loaded rows, empty fields are NULL', async () => {
    const { plan, rows, sink, rejects } = await encodeCsv(
      'Name,Score,When,Ok\n"Smith, J",1.5,2024-01-02 03:04,true\nLee,,,\n"multi\nline",2,2024-01-03 00:00:01,f\n',
    );
    expect(plan.columns.map((c) => `${c.name} ${c.type}`)).toEqual(['id bigint', 'name text', 'score double precision', 'when timestamp', 'ok boolean']);
    expect(plan.renamed).toEqual([
      { header: 'Name', name: 'name' },
      { header: 'Score', name: 'score' },
      { header: 'When', name: 'when' },
      { header: 'Ok', name: 'ok' },
    ]);
    expect(rows.map((r) => [int8(r[0]), text(r[1]), float8(r[2]), int8(r[3]), bool(r[4])])).toEqual([
      [0n, 'Smith, J', 1.5, pgMicros('2024-01-02T03:04:00'), true],
      [1n, 'Lee', null, null, null],
      [2n, 'multi\nline', 2, pgMicros('2024-01-03T00:00:01'), false],
    ]);
    expect(sink.loaded).toBe(3);
    expect(rejects.total).toBe(0);
  });

  test('every reason a row is quarantined, with its line; later rows keep consecutive keys', async () => {
    const csv = [
      'id_text,n,label', // line 1
      'a,1,x', // 2: sampled
      'b,2,y', // 3: sampled → n is bigint
      'c,abc,z', // 4: type error after the sample
      'd,4', // 5: wrong field count
      'e,"5"x,w', // 6: malformed
      'f,6,', // 7: empty label, which may not be NULL
      'g,7,v', // 8
    ].join('\n');
    const { rows, rejects, sink } = await encodeCsv(csv, { sampleRows: 2, plan: { key: 'row_id', notNull: ['label'] } });
    expect(rows.map((r) => [int8(r[0]), text(r[1]), int8(r[2]), text(r[3])])).toEqual([
      [0n, 'a', 1n, 'x'],
      [1n, 'b', 2n, 'y'],
      [2n, 'g', 7n, 'v'],
    ]);
    expect(sink.read).toBe(7);
    expect(rejects.total).toBe(4);
    expect(rejects.counts).toEqual(
      expect.arrayContaining([
        { reason: 'invalid_value', column: 'n', count: 1 },
        { reason: 'wrong_field_count', count: 1 },
        { reason: 'malformed_csv', count: 1 },
        { reason: 'null_value', column: 'label', count: 1 },
      ]),
    );
    expect(rejects.examples.map((r) => [r.line, r.reason, r.message])).toEqual([
      [4, 'invalid_value', 'column "n" (bigint): "abc" is not an integer'],
      [5, 'wrong_field_count', 'expected 3 fields, found 2'],
      [6, 'malformed_csv', 'malformed CSV: a quoted field is followed by other characters before the next delimiter'],
      [7, 'null_value', 'column "label" has no value, and it may not be NULL'],
    ]);
    expect(rejects.examples[0]!.fields).toEqual(['c', 'abc', 'z']);
    expect(rejects.examples[2]!.raw).toBe('e,"5"x,w');
  });

  test('blank values in typed columns are NULL; text keeps its spaces', async () => {
    const { rows } = await encodeCsv('n,t\n1, a \n  ,  \n');
    expect(rows.map((r) => [int8(r[1]), text(r[2])])).toEqual([
      [1n, ' a '],
      [null, '  '],
    ]);
  });

  test("the file's own integer key is used as is; empty keys are collected, and reading stops after five", async () => {
    const good = await encodeCsv('ID,v\n10,a\n7,b\n');
    expect(good.plan.key).toEqual({ name: 'id', generated: false });
    expect(good.rows.map((r) => [int8(r[0]), text(r[1])])).toEqual([
      [10n, 'a'],
      [7n, 'b'],
    ]);
    const lines = ['id,v', '1,a', ...Array.from({ length: 8 }, (_, i) => `,x${i}`)];
    const { sink } = await encodeCsv(lines.join('\n'));
    expect(sink.nullKeyLines).toEqual([3, 4, 5, 6, 7]);
    expect(sink.read).toBe(6);
  });

  test('a limit reads only the first N rows, rejected ones included', async () => {
    const { rows, sink } = await encodeCsv('n\n1\n2\n3\n4\n', { limit: 2 });
    expect(rows.map((r) => int8(r[1]))).toEqual([1n, 2n]);
    expect(sink.read).toBe(2);
  });

  test('--types override the inferred type (and the values are checked against it)', async () => {
    const { plan, rows, rejects } = await encodeCsv('zip,n\n01234,5\n99999,70000\n', { plan: { types: { zip: 'text', n: 'smallint' } } });
    expect(plan.columns.map((c) => c.type)).toEqual(['bigint', 'text', 'smallint']);
    expect(rows.map((r) => text(r[1]))).toEqual(['01234']);
    expect(rejects.examples[0]!.message).toBe('column "n" (smallint): 70000 is out of range for smallint');
  });

  test('a single-column file that looks semicolon-separated gets a note', async () => {
    const { source } = await encodeCsv('a;b;c\n1;2;3\n');
    expect(source.notes).toEqual(['the file has a single column "a;b;c"; if its fields are separated by ";", load it with --delimiter ";".']);
  });

  test('clear errors for an empty file, a header without rows and a malformed header', async () => {
    await expect(openCsvSource(csvFile('\n\n'))).rejects.toThrow(/is empty; a CSV file needs a header line/);
    await expect(openCsvSource(csvFile('a,b\n'))).rejects.toThrow(/has a header \(a,b\) but no data rows/);
    await expect(openCsvSource(csvFile('a,"b\n1,2\n'))).rejects.toThrow(
      /the header \(line 1\) is not valid CSV \(malformed CSV: a quoted field is never closed\)/,
    );
  });

  test('integers wider than 32 bits in an integer override are quarantined, not wrapped', async () => {
    const { rows, rejects } = await encodeCsv('n\n2147483647\n2147483648\n', { plan: { types: { n: 'integer' } } });
    expect(rows.map((r) => int4(r[1]))).toEqual([2147483647]);
    expect(rejects.examples[0]!.message).toBe('column "n" (integer): 2147483648 is out of range for integer');
  });
});
