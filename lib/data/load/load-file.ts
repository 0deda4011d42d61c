import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PipelineInputError } from '../../errors';
import { migrate } from '../../db/migrations';
import { ident } from '../../db/sql';
import { checkTableName } from './column-names';
import { openCsvSource } from './csv-source';
import { RowSink, type FileSource } from './file-source';
import { copySql, createTableSql, planLoad, type LoadPlan } from './load-plan';
import { openParquetSource } from './parquet-source';
import { RejectLog, type RejectSummary } from './rejects';
import type { SqlType } from './sql-types';

export interface LoadFileOptions {
  /** Table to create: a plain SQL identifier, used as is. */
  table: string;
  /** Key column (default `id`): the file's integer column of that name, or one pipewright adds, numbered 0, 1, 2, … in file order. */
  key?: string;
  /** Drop and reload the table if it exists. Without it, a table already loaded is left as it is, and any other table of that name is an error. */
  replace?: boolean;
  /** Also drop an existing table that pipewright_sources does not know (a leftover), but keep one it does: what the demo's flights loader has always done. */
  replaceUnrecorded?: boolean;
  /** Column (file header or SQL name) → SQL type, over the inferred one. */
  types?: Readonly<Record<string, SqlType>>;
  /** Fail the whole load when more than this fraction of the rows is quarantined (default 0.01). */
  maxRejectsFraction?: number;
  /** CSV field delimiter (default `,`). */
  delimiter?: string;
  /** Load only the first N rows of the file. */
  limit?: number;
  /** Columns that may not be NULL: rows without a value are quarantined. */
  notNull?: readonly string[];
  /** What pipewright_sources records as the table's source (default: the file's absolute path). */
  source?: string;
  /** CSV rows that type inference looks at (default 10,000). */
  sampleRows?: number;
}

export interface LoadFileResult {
  table: string;
  /** Rows in the table. */
  rows: number;
  /** False when the table was already loaded and nothing was done. */
  loaded: boolean;
  seconds: number;
  /** The rest is only set when `loaded`. */
  format?: 'csv' | 'parquet';
  columns?: Array<{ name: string; type: SqlType; header?: string }>;
  key?: { name: string; generated: boolean };
  renamed?: Array<{ header: string; name: string }>;
  rejects?: RejectSummary;
  notes?: string[];
}

export const DEFAULT_MAX_REJECTS_FRACTION = 0.01;
/** Advisory-lock class of table loads (pg_advisory_xact_lock(class, hashtext(table))). */
const LOAD_LOCK_CLASS = 727275;

/**
 * Loads a CSV or Parquet file into a new PostgreSQL table with an integer primary key.
 *
 * Everything happens in one transaction: the table, its rows (binary COPY, streamed), its primary
 * key, the quarantined rows in pipewright_load_rejects and its entry in pipewright_sources. A load
 * that fails or is interrupted leaves nothing behind, and two loads of one table wait for each
 * other instead of racing.
 */
export async function loadFile(pool: Pool, file: string, options: LoadFileOptions): Promise<LoadFileResult> {
  const started = Date.now();
  const { table } = options;
  checkTableName(table);
  const maxRejectsFraction = options.maxRejectsFraction ?? DEFAULT_MAX_REJECTS_FRACTION;
  if (!(maxRejectsFraction >= 0 && maxRejectsFraction <= 1)) {
    throw new PipelineInputError(`--max-rejects-fraction must be between 0 and 1, got ${maxRejectsFraction}.`);
  }
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) {
    throw new PipelineInputError(`the row limit must be a positive integer, got ${options.limit}.`);
  }
  const format = await checkFile(file);
  const seconds = (): number => (Date.now() - started) / 1000;
  // The tables written below exist even on a database that no `pipewright up` of this version has migrated yet.
  await migrate(pool);

  if (!options.replace) {
    const recorded = await recordedRows(pool, table);
    if (recorded !== undefined) return { table, rows: recorded, loaded: false, seconds: 0 };
  }

  const limit = options.limit !== undefined ? { limit: options.limit } : {};
  const source: FileSource =
    format === 'csv'
      ? await openCsvSource(file, {
          ...limit,
          ...(options.delimiter !== undefined ? { delimiter: options.delimiter } : {}),
          ...(options.sampleRows !== undefined ? { sampleRows: options.sampleRows } : {}),
        })
      : await openParquetSource(file, limit);
  const rejects = new RejectLog(table);
  let client: PoolClient | undefined;
  let failure: Error | undefined;
  try {
    const plan = planLoad(source, {
      table,
      key: options.key ?? 'id',
      ...(options.types !== undefined ? { types: options.types } : {}),
      ...(options.notNull !== undefined ? { notNull: options.notNull } : {}),
    });
    client = await pool.connect();
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOAD_LOCK_CLASS, table]);
    const recorded = await recordedRows(client, table);
    if (recorded !== undefined && !options.replace) {
      await client.query('ROLLBACK');
      return { table, rows: recorded, loaded: false, seconds: 0 }; // another load finished it while this one read the header
    }
    const exists = (await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [ident(table)])).rows[0]!.t !== null;
    if (exists && !options.replace && !(options.replaceUnrecorded && recorded === undefined)) {
      throw new PipelineInputError(
        `table "${table}" already exists and was not loaded by pipewright; load with --replace to drop and reload it, or choose another --table.`,
      );
    }
    if (exists) await client.query(`DROP TABLE ${ident(table)}`);
    await client.query('DELETE FROM pipewright_sources WHERE table_name = $1', [table]);
    await client.query('DELETE FROM pipewright_load_rejects WHERE table_name = $1', [table]);
    await client.query(createTableSql(plan));

    const sink = new RowSink(plan, rejects, options.limit);
    await pipeline(Readable.from(source.copyChunks(sink)), client.query(copyFrom(copySql(plan))));

    if (sink.nullKeyLines.length > 0) {
      throw new PipelineInputError(
        `key column "${plan.key.name}" is empty on ${places(source, sink.nullKeyLines)}; a key needs a value in every row: fill them in, or choose another --key ` +
          `(a name the file does not have, e.g. --key row_id, makes pipewright number the rows 0, 1, 2, …). Nothing was loaded.`,
      );
    }
    const summary = rejects.summary();
    if (summary.total > maxRejectsFraction * sink.read) {
      throw new PipelineInputError(
        `${summary.total} of ${sink.read} rows (${percent(summary.total / sink.read)}) could not be loaded, more than --max-rejects-fraction ${maxRejectsFraction} allows: ` +
          `${describeRejects(summary, source.format)}. Fix the file, name column types with --types, or raise --max-rejects-fraction. Nothing was loaded.`,
      );
    }
    await addPrimaryKey(client, plan, source);
    await rejects.copyInto(client);
    await client.query('INSERT INTO pipewright_sources (table_name, source, rows) VALUES ($1, $2, $3)', [
      table,
      options.source ?? path.resolve(file),
      sink.loaded,
    ]);
    await client.query(`ANALYZE ${ident(table)}`);
    await client.query('COMMIT');
    return {
      table,
      rows: sink.loaded,
      loaded: true,
      seconds: seconds(),
      format: source.format,
      columns: plan.columns.map((c) => ({ name: c.name, type: c.type, ...(c.header !== undefined ? { header: c.header } : {}) })),
      key: plan.key,
      renamed: plan.renamed,
      rejects: summary,
      notes: source.notes,
    };
  } catch (err) {
    await client?.query('ROLLBACK').catch(() => undefined);
    // After a user's mistake the connection is clean again; after anything else (e.g. a COPY cut off
    // half-way) it is closed rather than handed to the next query.
    if (!(err instanceof PipelineInputError)) failure = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client?.release(failure);
    rejects.dispose();
    await source.close();
  }
}

/**
 * Adds the key's primary key (one index build after the rows are in, faster than keeping it up
 * row by row); duplicates fail the load with the first few values and the rows they are on.
 */
async function addPrimaryKey(client: PoolClient, plan: LoadPlan, source: FileSource): Promise<void> {
  const key = ident(plan.key.name);
  await client.query('SAVEPOINT pipewright_key');
  try {
    await client.query(`ALTER TABLE ${ident(plan.table)} ADD PRIMARY KEY (${key})`);
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err; // unique_violation
    await client.query('ROLLBACK TO SAVEPOINT pipewright_key');
    const { rows } = await client.query<{ key: string; n: string }>(
      `SELECT ${key}::text AS key, count(*)::text AS n FROM ${ident(plan.table)} GROUP BY ${key} HAVING count(*) > 1 ORDER BY ${key} LIMIT 5`,
    );
    const column = plan.columns.find((c) => c.name === plan.key.name)!;
    const where = await source.linesOfKeys(column, new Set(rows.map((r) => r.key)));
    const unit = source.format === 'csv' ? 'lines' : 'rows';
    const listed = rows.map((r) => `${r.key} (${r.n} times: ${unit} ${(where.get(r.key) ?? []).slice(0, 5).join(', ')})`).join('; ');
    throw new PipelineInputError(
      `key column "${plan.key.name}" has duplicate values, e.g. ${listed}; a key must be unique: fix the file, or choose another --key ` +
        `(a name the file does not have, e.g. --key row_id, makes pipewright number the rows 0, 1, 2, …). Nothing was loaded.`,
    );
  }
}

const FORMATS: Readonly<Record<string, 'csv' | 'parquet'>> = { '.csv': 'csv', '.tsv': 'csv', '.txt': 'csv', '.parquet': 'parquet', '.pq': 'parquet' };

/** The file's format by its extension, once it is known to be a non-empty regular file. */
async function checkFile(file: string): Promise<'csv' | 'parquet'> {
  const format = FORMATS[path.extname(file).toLowerCase()];
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new PipelineInputError(`${file} does not exist; check the path.`);
    throw new PipelineInputError(`${file} cannot be read (${err.message}).`);
  });
  if (!info.isFile()) throw new PipelineInputError(`${file} is not a file; give the path of a .csv or .parquet file.`);
  if (format === undefined) {
    throw new PipelineInputError(
      `${file}: pipewright loads .csv (also .tsv, .txt) and .parquet files, not "${path.extname(file) || 'no extension'}"; rename the file if it is one of those.`,
    );
  }
  if (info.size === 0) throw new PipelineInputError(`${file} is empty; there is nothing to load.`);
  return format;
}

async function recordedRows(db: Pool | PoolClient, table: string): Promise<number | undefined> {
  const { rows } = await db.query<{ rows: string }>('SELECT rows::text AS rows FROM pipewright_sources WHERE table_name = $1', [table]);
  return rows.length > 0 ? Number(rows[0]!.rows) : undefined;
}

/** "3 invalid_value in "delay", 1 malformed_csv (first: line 4: …; line 9: …)". */
export function describeRejects(summary: RejectSummary, format: 'csv' | 'parquet'): string {
  const unit = format === 'csv' ? 'line' : 'row';
  const counts = summary.counts.map((c) => `${c.count} ${c.reason}${c.column !== undefined ? ` in "${c.column}"` : ''}`).join(', ');
  const first = summary.examples
    .slice(0, 3)
    .map((r) => `${unit} ${r.line}: ${r.message}`)
    .join('; ');
  return `${counts} (first: ${first})`;
}

/** "lines 4, 9" of a CSV file, "row 7" of a Parquet file. */
function places(source: FileSource, numbers: readonly number[]): string {
  const unit = source.format === 'csv' ? 'line' : 'row';
  return `${unit}${numbers.length === 1 ? '' : 's'} ${numbers.join(', ')}`;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction < 0.001 ? 3 : 1)}%`;
}
