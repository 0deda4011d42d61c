import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { tableFromIPC, type Table } from 'apache-arrow';
import { ident } from '../db/sql';

/** Where vega-datasets keeps the 3M-row US flights table. */
export function flightsParquetPath(): string {
  // The package exports only its JS entry (build/index.js); the data folder sits beside build/.
  return path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'flights-3m.parquet');
}

const CHUNK_ROWS = 500_000;

export interface LoadResult {
  table: string;
  rows: number;
  /** False when the table was already there and loading was skipped. */
  loaded: boolean;
  seconds: number;
}

/**
 * Loads the flights Parquet file (or its first `limit` rows) into a PostgreSQL table with an
 * integer key `id`, once. The table, its rows and its entry in pipewright_sources are created in
 * one transaction, so an interrupted load leaves nothing behind and the next call starts over.
 */
export async function ensureFlightsTable(pool: Pool, table: string, limit?: number): Promise<LoadResult> {
  const started = Date.now();
  const existing = await pool.query<{ rows: string }>('SELECT rows FROM pipewright_sources WHERE table_name = $1', [table]);
  if (existing.rowCount) {
    return { table, rows: Number(existing.rows[0]!.rows), loaded: false, seconds: 0 };
  }
  const parquetWasm = await import('parquet-wasm/node');
  const file = new Uint8Array(readFileSync(flightsParquetPath()));
  const client = await pool.connect();
  let rows = 0;
  try {
    await client.query('BEGIN');
    await client.query(`DROP TABLE IF EXISTS ${ident(table)}`);
    await client.query(`CREATE TABLE ${ident(table)} (
      id bigint PRIMARY KEY,
      date timestamp NOT NULL,
      delay integer,
      distance integer,
      origin text,
      destination text
    )`);
    const copy = client.query(copyFrom(`COPY ${ident(table)} (id, date, delay, distance, origin, destination) FROM STDIN`));
    async function* lines(): AsyncGenerator<string> {
      for (let offset = 0; limit === undefined || offset < limit; offset += CHUNK_ROWS) {
        const want = limit === undefined ? CHUNK_ROWS : Math.min(CHUNK_ROWS, limit - offset);
        const wasmTable = parquetWasm.readParquet(file, { offset, limit: want, batchSize: 65536 });
        const arrow: Table = tableFromIPC(wasmTable.intoIPCStream());
        if (arrow.numRows === 0) return;
        yield copyTextOfFlights(arrow, rows);
        rows += arrow.numRows;
        if (arrow.numRows < want) return;
      }
    }
    await pipeline(Readable.from(lines()), copy);
    await client.query(`ANALYZE ${ident(table)}`);
    await client.query('INSERT INTO pipewright_sources (table_name, source, rows) VALUES ($1, $2, $3)', [table, 'vega-datasets/data/flights-3m.parquet', rows]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return { table, rows, loaded: true, seconds: (Date.now() - started) / 1000 };
}

/** Renders Arrow rows as COPY text lines; ids continue from `firstId`. */
function copyTextOfFlights(arrow: Table, firstId: number): string {
  const parts: string[] = [];
  let id = firstId;
  for (const batch of arrow.batches) {
    const date = batch.getChild('date')!;
    const delay = batch.getChild('delay')!;
    const distance = batch.getChild('distance')!;
    const origin = batch.getChild('origin')!;
    const destination = batch.getChild('destination')!;
    for (let i = 0; i < batch.numRows; i++) {
      const ms = date.get(i) as number | null;
      parts.push(
        `${id++}\t${ms === null ? '\\N' : new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}\t${nullable(delay.get(i))}\t${nullable(distance.get(i))}\t${nullable(origin.get(i))}\t${nullable(destination.get(i))}\n`,
      );
    }
  }
  return parts.join('');
}

function nullable(value: unknown): string {
  return value === null || value === undefined ? '\\N' : String(value);
}
