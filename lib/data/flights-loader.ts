import path from 'node:path';
import type { Pool } from 'pg';
import { loadFile } from './load/load-file';

/** Where vega-datasets keeps the 3M-row US flights table. */
export function flightsParquetPath(): string {
  // The package exports only its JS entry (build/index.js); the data folder sits beside build/.
  return path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'flights-3m.parquet');
}

export interface LoadResult {
  table: string;
  rows: number;
  /** False when the table was already there and loading was skipped. */
  loaded: boolean;
  seconds: number;
}

/**
 * Loads the flights Parquet file (or its first `limit` rows) into a PostgreSQL table with an
 * integer key `id`, once: `pipewright load` of the file with the table the demo, tests and benches
 * have always had: id bigint PRIMARY KEY (0, 1, 2, … in file order), date timestamp NOT NULL,
 * delay and distance integer (the file's int64 values all fit), origin and destination text.
 * Models trained on it stay bit-identical, so these types must not drift.
 */
export async function ensureFlightsTable(pool: Pool, table: string, limit?: number): Promise<LoadResult> {
  const result = await loadFile(pool, flightsParquetPath(), {
    table,
    key: 'id',
    types: { delay: 'integer', distance: 'integer' },
    notNull: ['date'],
    // The file is known to be clean: a row that does not fit means the file changed, and the demo must not hide that.
    maxRejectsFraction: 0,
    // A table of this name that pipewright did not record is a leftover (e.g. of a test run): reload it.
    replaceUnrecorded: true,
    source: 'vega-datasets/data/flights-3m.parquet',
    ...(limit !== undefined ? { limit } : {}),
  });
  return { table, rows: result.rows, loaded: result.loaded, seconds: result.seconds };
}
