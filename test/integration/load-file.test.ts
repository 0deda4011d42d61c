import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Bool, DateDay, Float64, Int32, Int64, Table, TimestampMicrosecond, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { createHash } from 'node:crypto';
import { ensureFlightsTable, flightsParquetPath } from '../../lib/data/flights-loader';
import { loadFile } from '../../lib/data/load/load-file';
import { openTestStack, type TestStack } from './stack';

/**
 * `pipewright load` against the stack's real PostgreSQL: CSV and Parquet files written here, what
 * lands in the table and in pipewright_load_rejects, the failures that must leave nothing behind,
 * and the flights table, which must stay exactly what the demo has always loaded.
 */
const execFileAsync = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');

let stack: TestStack;
let dir: string;

beforeAll(async () => {
  stack = await openTestStack();
  dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-it-load-'));
  const { rows } = await stack.db.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'it\\_load\\_%'`);
  for (const { t } of rows) await stack.db.query(`DROP TABLE "${t}"`);
  await stack.db.query(`DELETE FROM pipewright_sources WHERE table_name LIKE 'it\\_load\\_%'`);
  await stack.db.query(`DELETE FROM pipewright_load_rejects WHERE table_name LIKE 'it\\_load\\_%'`);
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await stack?.close();
});

function file(name: string, content: string | Uint8Array): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Whether a load left anything behind for `table`: the table, its pipewright_sources row, rejects. */
async function traces(table: string): Promise<{ table: boolean; sources: number; rejects: number }> {
  const exists = (await stack.db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`"${table}"`])).rows[0]!.t !== null;
  const sources = (await stack.db.query('SELECT 1 FROM pipewright_sources WHERE table_name = $1', [table])).rowCount ?? 0;
  const rejects = (await stack.db.query('SELECT 1 FROM pipewright_load_rejects WHERE table_name = $1', [table])).rowCount ?? 0;
  return { table: exists, sources, rejects };
}

async function columnTypes(table: string): Promise<string[]> {
  const { rows } = await stack.db.query<{ c: string }>(
    `SELECT column_name || ' ' || data_type || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END AS c
       FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((r) => r.c);
}

async function primaryKey(table: string): Promise<string | undefined> {
  const { rows } = await stack.db.query<{ def: string }>(
    `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'`,
    [`"${table}"`],
  );
  return rows[0]?.def;
}

/**
 * A CSV of 10,010 rows whose 10,005th row (after the 10,000 rows type inference samples) has "abc"
 * in an integer column, with a quoted field holding a newline, a row with a field missing and a
 * stray quote. Returns the file and what a correct load must contain, computed here.
 */
function trickyCsv(): { path: string; loadedSum: bigint; loaded: number; lines: Record<string, number> } {
  const lines = ['Trip ID,Pickup Time,Fare ($),Note'];
  let loadedSum = 0n;
  let loaded = 0;
  const special: Record<string, number> = {};
  for (let i = 0; i < 10_010; i++) {
    const fare = (i * 7) % 1000;
    const time = new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString().slice(0, 16).replace('T', ' ');
    const line = lines.length + 1 + (special.newline !== undefined && i > 3 ? 1 : 0); // the line this row starts on
    if (i === 3) {
      special.newline = line;
      lines.push(`${i},${time},${fare},"two\nlines, and a comma"`);
    } else if (i === 10_004) {
      special.typeError = line;
      lines.push(`${i},${time},abc,typo`);
      continue;
    } else if (i === 10_006) {
      special.fieldCount = line;
      lines.push(`${i},${time},${fare}`);
      continue;
    } else if (i === 10_008) {
      special.malformed = line;
      lines.push(`${i},${time},${fare},"bad"quote`);
      continue;
    } else {
      lines.push(`${i},${time},${fare},${i % 5 === 0 ? '' : `n${i}`}`);
    }
    loadedSum += BigInt(fare);
    loaded++;
  }
  return { path: file('tricky.csv', `${lines.join('\n')}\n`), loadedSum, loaded, lines: special };
}

describe('loading a CSV file', () => {
  test('loads what fits, quarantines what does not (with line, reason and fields), and records the load', async () => {
    const csv = trickyCsv();
    const result = await loadFile(stack.db, csv.path, { table: 'it_load_trips' });
    expect(result.loaded).toBe(true);
    expect(result.rows).toBe(csv.loaded);
    expect(result.renamed).toEqual([
      { header: 'Trip ID', name: 'trip_id' },
      { header: 'Pickup Time', name: 'pickup_time' },
      { header: 'Fare ($)', name: 'fare' },
      { header: 'Note', name: 'note' },
    ]);
    expect(result.rejects!.total).toBe(3);
    expect(result.rejects!.counts).toEqual(
      expect.arrayContaining([
        { reason: 'invalid_value', column: 'fare', count: 1 },
        { reason: 'wrong_field_count', count: 1 },
        { reason: 'malformed_csv', count: 1 },
      ]),
    );

    expect(await columnTypes('it_load_trips')).toEqual([
      'id bigint not null',
      'trip_id bigint',
      'pickup_time timestamp without time zone',
      'fare bigint',
      'note text',
    ]);
    expect(await primaryKey('it_load_trips')).toBe('PRIMARY KEY (id)');
    const stats = await stack.db.query<{ n: string; fares: string; min_id: string; max_id: string; nulls: string }>(
      `SELECT count(*)::text AS n, sum(fare)::text AS fares, min(id)::text AS min_id, max(id)::text AS max_id,
              count(*) FILTER (WHERE note IS NULL)::text AS nulls FROM it_load_trips`,
    );
    expect(stats.rows[0]).toEqual({ n: String(csv.loaded), fares: String(csv.loadedSum), min_id: '0', max_id: String(csv.loaded - 1), nulls: '2002' });
    const row3 = await stack.db.query<{ id: string; note: string; pickup: string }>(
      `SELECT id::text, note, pickup_time::text AS pickup FROM it_load_trips WHERE trip_id = 3`,
    );
    expect(row3.rows[0]).toEqual({ id: '3', note: 'two\nlines, and a comma', pickup: '2024-01-01 00:03:00' });

    const rejects = await stack.db.query<{ line: string; reason: string; column_name: string | null; message: string; fields: unknown; raw: string | null }>(
      `SELECT line::text, reason, column_name, message, fields, raw FROM pipewright_load_rejects WHERE table_name = 'it_load_trips' ORDER BY line`,
    );
    expect(rejects.rows).toEqual([
      {
        line: String(csv.lines.typeError),
        reason: 'invalid_value',
        column_name: 'fare',
        message: 'column "fare" (bigint): "abc" is not an integer',
        fields: ['10004', '2024-01-07 22:44', 'abc', 'typo'],
        raw: null,
      },
      {
        line: String(csv.lines.fieldCount),
        reason: 'wrong_field_count',
        column_name: null,
        message: 'expected 4 fields, found 3',
        fields: ['10006', '2024-01-07 22:46', '42'],
        raw: null,
      },
      {
        line: String(csv.lines.malformed),
        reason: 'malformed_csv',
        column_name: null,
        message: 'malformed CSV: a quoted field is followed by other characters before the next delimiter',
        fields: null,
        raw: '10008,2024-01-07 22:48,56,"bad"quote',
      },
    ]);
    const sources = await stack.db.query<{ source: string; rows: string }>(
      `SELECT source, rows::text FROM pipewright_sources WHERE table_name = 'it_load_trips'`,
    );
    expect(sources.rows).toEqual([{ source: csv.path, rows: String(csv.loaded) }]);

    // Loading again is a no-op that says so; --replace reloads (and the old rejects go with the old table).
    expect(await loadFile(stack.db, csv.path, { table: 'it_load_trips' })).toEqual({ table: 'it_load_trips', rows: csv.loaded, loaded: false, seconds: 0 });
    const again = await loadFile(stack.db, csv.path, { table: 'it_load_trips', replace: true, key: 'trip_id', types: { fare: 'text' } });
    expect(again.rows).toBe(csv.loaded + 1); // "abc" is text now
    expect(await primaryKey('it_load_trips')).toBe('PRIMARY KEY (trip_id)');
    expect((await traces('it_load_trips')).rejects).toBe(2);
  });

  test('too many rejected rows fail the load, saying how many and why, and nothing is written', async () => {
    const csv = file('mostly-bad.csv', 'a,b\n1,2\n3\n4,5,6\nx,"y"z\n7,8\n');
    await expect(loadFile(stack.db, csv, { table: 'it_load_bad' })).rejects.toThrow(
      /^3 of 5 rows \(60\.0%\) could not be loaded, more than --max-rejects-fraction 0\.01 allows: .*wrong_field_count.*malformed_csv.*\(first: line 3: expected 2 fields, found 1; line 4: expected 2 fields, found 3; line 5: malformed CSV/,
    );
    expect(await traces('it_load_bad')).toEqual({ table: false, sources: 0, rejects: 0 });
    const ok = await loadFile(stack.db, csv, { table: 'it_load_bad', maxRejectsFraction: 0.6 });
    expect(ok.rows).toBe(2);
  });

  test("a key column of the file's own must be unique: the error names the duplicates and their lines, and nothing is written", async () => {
    const csv = file('dup-keys.csv', 'id,v\n1,a\n2,b\n7,c\n2,d\n7,e\n7,f\n');
    await expect(loadFile(stack.db, csv, { table: 'it_load_dups' })).rejects.toThrow(
      'key column "id" has duplicate values, e.g. 2 (2 times: lines 3, 5); 7 (3 times: lines 4, 6, 7); a key must be unique',
    );
    expect(await traces('it_load_dups')).toEqual({ table: false, sources: 0, rejects: 0 });
    const empty = file('null-keys.csv', 'id,v\n1,a\n,b\n3,c\n,d\n');
    await expect(loadFile(stack.db, empty, { table: 'it_load_dups' })).rejects.toThrow(
      /^key column "id" is empty on lines 3, 5; a key needs a value in every row/,
    );
    expect(await traces('it_load_dups')).toEqual({ table: false, sources: 0, rejects: 0 });
    // With another key name, pipewright numbers the rows and "id" is an ordinary column.
    const numbered = await loadFile(stack.db, csv, { table: 'it_load_dups', key: 'row_id' });
    expect(numbered.rows).toBe(6);
    expect(await columnTypes('it_load_dups')).toEqual(['row_id bigint not null', 'id bigint', 'v text']);
  });

  test('an existing table pipewright did not load is not dropped without --replace', async () => {
    await stack.db.query('CREATE TABLE it_load_mine (x int)');
    const csv = file('small.csv', 'x\n1\n');
    await expect(loadFile(stack.db, csv, { table: 'it_load_mine' })).rejects.toThrow(
      'table "it_load_mine" already exists and was not loaded by pipewright; load with --replace to drop and reload it, or choose another --table.',
    );
    expect((await loadFile(stack.db, csv, { table: 'it_load_mine', replace: true })).rows).toBe(1);
  });

  test('clear errors for a missing file, an unknown extension, an empty file, a header without rows, a bad table name', async () => {
    await expect(loadFile(stack.db, path.join(dir, 'nope.csv'), { table: 'it_load_x' })).rejects.toThrow(/nope\.csv does not exist; check the path\./);
    await expect(loadFile(stack.db, file('data.xlsx', 'x'), { table: 'it_load_x' })).rejects.toThrow(
      /pipewright loads \.csv \(also \.tsv, \.txt\) and \.parquet files, not "\.xlsx"/,
    );
    await expect(loadFile(stack.db, file('empty.csv', ''), { table: 'it_load_x' })).rejects.toThrow(/empty\.csv is empty/);
    await expect(loadFile(stack.db, file('header.csv', 'a,b\n'), { table: 'it_load_x' })).rejects.toThrow(/has a header \(a,b\) but no data rows/);
    await expect(loadFile(stack.db, file('fake.parquet', 'a,b\n1,2\n'), { table: 'it_load_x' })).rejects.toThrow(
      /fake\.parquet is not a readable Parquet file/,
    );
    await expect(loadFile(stack.db, file('ok.csv', 'a\n1\n'), { table: 'it-load-x' })).rejects.toThrow(/--table: "it-load-x" is not a plain SQL identifier/);
    expect(await traces('it_load_x')).toEqual({ table: false, sources: 0, rejects: 0 });
  });
});

describe('loading a Parquet file', () => {
  test('column types come from the Arrow schema and values arrive exactly, over several record batches', async () => {
    const n = 70_000; // more than one 65,536-row batch
    const base = Date.UTC(2024, 0, 1);
    const table = new Table({
      n32: vectorFromArray(
        Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : i - 35_000)),
        new Int32(),
      ),
      n64: vectorFromArray(
        Array.from({ length: n }, (_, i) => BigInt(i) * 3_000_000_000n),
        new Int64(),
      ),
      x: vectorFromArray(
        Array.from({ length: n }, (_, i) => i / 8),
        new Float64(),
      ),
      name: vectorFromArray(
        Array.from({ length: n }, (_, i) => (i % 13 === 0 ? null : `name ${i % 100} ☃`)),
        new Utf8(),
      ),
      flag: vectorFromArray(
        Array.from({ length: n }, (_, i) => i % 3 === 0),
        new Bool(),
      ),
      at: vectorFromArray(
        Array.from({ length: n }, (_, i) => base + i * 1_500),
        new TimestampMicrosecond(),
      ),
      day: vectorFromArray(
        Array.from({ length: n }, (_, i) => new Date(base + (i % 400) * 86_400_000)),
        new DateDay(),
      ),
    });
    const parquetWasm = await import('parquet-wasm/node');
    const parquet = file('typed.parquet', parquetWasm.writeParquet(parquetWasm.Table.fromIPCStream(tableToIPC(table, 'stream'))));

    const result = await loadFile(stack.db, parquet, { table: 'it_load_typed' });
    expect(result.rows).toBe(n);
    expect(result.rejects!.total).toBe(0);
    expect(await columnTypes('it_load_typed')).toEqual([
      'id bigint not null',
      'n32 integer',
      'n64 bigint',
      'x double precision',
      'name text',
      'flag boolean',
      'at timestamp without time zone',
      'day date',
    ]);
    // Spot rows against the values they were built from, then aggregates over all of them.
    const { rows } = await stack.db.query(
      `SELECT id::text, n32, n64::text, x, name, flag, to_char(at, 'YYYY-MM-DD HH24:MI:SS.US') AS at, day::text FROM it_load_typed WHERE id IN (0, 1, 65536, 69999) ORDER BY id`,
    );
    const expected = (i: number): Record<string, unknown> => ({
      id: String(i),
      n32: i % 11 === 0 ? null : i - 35_000,
      n64: String(BigInt(i) * 3_000_000_000n),
      x: i / 8,
      name: i % 13 === 0 ? null : `name ${i % 100} ☃`,
      flag: i % 3 === 0,
      at: new Date(base + i * 1_500).toISOString().replace('T', ' ').replace('Z', '000'),
      day: new Date(base + (i % 400) * 86_400_000).toISOString().slice(0, 10),
    });
    expect(rows).toEqual([0, 1, 65_536, 69_999].map(expected));
    const sums = await stack.db.query<{ s32: string; s64: string; nulls: string; flags: string }>(
      `SELECT sum(n32)::text AS s32, sum(n64)::text AS s64, count(*) FILTER (WHERE name IS NULL)::text AS nulls, count(*) FILTER (WHERE flag)::text AS flags FROM it_load_typed`,
    );
    let s32 = 0;
    let s64 = 0n;
    for (let i = 0; i < n; i++) {
      if (i % 11 !== 0) s32 += i - 35_000;
      s64 += BigInt(i) * 3_000_000_000n;
    }
    expect(sums.rows[0]).toEqual({ s32: String(s32), s64: String(s64), nulls: String(Math.ceil(n / 13)), flags: String(Math.ceil(n / 3)) });
  });

  test('the flights table is the one the demo always had: same columns, same key, same values (digest from the Parquet file)', async () => {
    const rows = 50_000;
    const result = await ensureFlightsTable(stack.db, 'it_load_flights', rows);
    expect(result).toMatchObject({ table: 'it_load_flights', rows, loaded: true });
    expect(await columnTypes('it_load_flights')).toEqual([
      'id bigint not null',
      'date timestamp without time zone not null',
      'delay integer',
      'distance integer',
      'origin text',
      'destination text',
    ]);
    expect(await primaryKey('it_load_flights')).toBe('PRIMARY KEY (id)');
    const digest = await stack.db.query<{ md5: string }>(`SELECT md5(string_agg(t::text, E'\\n' ORDER BY id)) AS md5 FROM it_load_flights t`);
    expect(digest.rows[0]!.md5).toBe(await flightsDigest(rows));
    expect(await ensureFlightsTable(stack.db, 'it_load_flights', rows)).toEqual({ table: 'it_load_flights', rows, loaded: false, seconds: 0 });
  });
});

test('the CLI prints what it loaded, renamed and rejected, and fails with exit code 1 and the reason', async () => {
  const csv = file('cli.csv', 'Name,Score\nann,1\nbob,x\ncid,3\n');
  const env = { ...process.env, ...stack.env };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  const ok = await execFileAsync(process.execPath, [CLI, 'load', csv, '--table', 'it_load_cli', '--types', 'score=bigint', '--max-rejects-fraction', '0.5'], {
    env,
  });
  expect(ok.stdout).toContain(`Loaded 2 rows from ${csv} into it_load_cli`);
  expect(ok.stdout).toContain('  id     bigint  key, added by pipewright: 0, 1, 2, … in file order');
  expect(ok.stdout).toContain('name   text    from "Name"');
  expect(ok.stdout).toContain('line 3: column "score" (bigint): "x" is not an integer');
  const failed = await execFileAsync(process.execPath, [CLI, 'load', csv, '--table', 'it_load_cli2', '--types', 'score=bigint'], { env }).catch(
    (err: { code: number; stderr: string }) => err,
  );
  expect(failed).toMatchObject({ code: 1 });
  expect((failed as { stderr: string }).stderr).toMatch(
    /^pipewright: 1 of 3 rows \(33\.3%\) could not be loaded, more than --max-rejects-fraction 0\.01 allows/,
  );
});

/**
 * md5 of the first `rows` flights as PostgreSQL prints each row of the table (record_out of
 * (id, date, delay, distance, origin, destination)), computed from the Parquet file with
 * parquet-wasm and apache-arrow alone.
 */
async function flightsDigest(rows: number): Promise<string> {
  const parquetWasm = await import('parquet-wasm/node');
  const arrow = tableFromIPC(parquetWasm.readParquet(new Uint8Array(readFileSync(flightsParquetPath())), { limit: rows }).intoIPCStream());
  // record_out quotes a field that is empty or holds a space, comma, quote, backslash or parenthesis.
  const field = (v: string | null): string => (v === null ? '' : v === '' || /[\s,"\\()]/.test(v) ? `"${v.replace(/(["\\])/g, '$1$1')}"` : v);
  const lines: string[] = [];
  for (let i = 0; i < arrow.numRows; i++) {
    const r = arrow.get(i)!.toJSON() as {
      date: number | null;
      delay: bigint | null;
      distance: bigint | null;
      origin: string | null;
      destination: string | null;
    };
    const date = r.date === null ? null : new Date(r.date).toISOString().slice(0, 19).replace('T', ' ');
    const str = (v: bigint | null): string | null => (v === null ? null : String(v));
    lines.push(`(${[String(i), date, str(r.delay), str(r.distance), r.origin, r.destination].map(field).join(',')})`);
  }
  return createHash('md5').update(lines.join('\n')).digest('hex');
}
