import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Pool } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { flightsParquetPath } from '../../lib/data/flights-loader';

/** A site's database beside the stack's: same server, own database (created once). */
export async function ensureDatabase(admin: Pool, database: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new Error(`database name "${database}" must be lowercase letters, digits and _`);
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${database}`);
}

/** The URL of `database` on the server `url` points at. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Copies the rows of `table` that `where` selects into `into` (made with the same columns and key,
 * in the same or another database), streaming COPY to COPY. A target already holding as many rows
 * as the selection is left as it is.
 */
export async function copyTableSubset(source: Pool, target: Pool, table: string, into: string, key: string, where: string, params: unknown[]): Promise<number> {
  const columns = await source.query<{ column_name: string; type: string }>(
    `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [table],
  );
  if (columns.rowCount === 0) throw new Error(`table ${table} not found in the source database`);
  const want = Number((await source.query(`SELECT count(*) AS n FROM ${table} WHERE ${where}`, params)).rows[0].n);
  const have = await target.query(`SELECT count(*) AS n FROM ${into}`).then(
    (r) => Number(r.rows[0].n),
    () => -1,
  );
  if (have === want) return want;
  await target.query(`DROP TABLE IF EXISTS ${into}`);
  await target.query(
    `CREATE TABLE ${into} (${columns.rows.map((c) => `"${c.column_name}" ${c.type}${c.column_name === key ? ' PRIMARY KEY' : ''}`).join(', ')})`,
  );
  const reader = await source.connect();
  const writer = await target.connect();
  try {
    // COPY (query) TO STDOUT takes no parameters: the values are inlined as literals.
    const literal = (v: unknown): string => (Array.isArray(v) ? `ARRAY[${v.map(literal).join(',')}]` : `'${String(v).replace(/'/g, "''")}'`);
    const inlined = where.replace(/\$(\d+)/g, (_, i: string) => literal(params[Number(i) - 1]));
    await pipeline(
      reader.query(copyTo(`COPY (SELECT * FROM ${table} WHERE ${inlined}) TO STDOUT (FORMAT binary)`)),
      writer.query(copyFrom(`COPY ${into} FROM STDIN (FORMAT binary)`)),
    );
  } finally {
    reader.release();
    writer.release();
  }
  await target.query(`ANALYZE ${into}`);
  return want;
}

/** The flights demo's regions, by the origin airport's longitude: west of 100°W, 100°W to 87°W, east of 87°W. */
export const FLIGHT_REGIONS = ['west', 'central', 'east'] as const;
export type FlightRegion = (typeof FLIGHT_REGIONS)[number];

export function regionOfLongitude(longitude: number): FlightRegion {
  return longitude < -100 ? 'west' : longitude < -87 ? 'central' : 'east';
}

/** Airport codes of each region, from vega-datasets' airports.csv (iata, …, latitude, longitude). */
export function airportsByRegion(): Record<FlightRegion, string[]> {
  const file = path.join(path.dirname(flightsParquetPath()), 'airports.csv');
  const out: Record<FlightRegion, string[]> = { west: [], central: [], east: [] };
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = header!.split(',');
  const iata = cols.indexOf('iata');
  const lon = cols.indexOf('longitude');
  for (const line of lines) {
    // Names may hold quoted commas; the code is first and the longitude last.
    const fields = line.split(',');
    const code = fields[iata]!;
    const longitude = Number(fields[fields.length - (cols.length - lon)]);
    if (code && Number.isFinite(longitude)) out[regionOfLongitude(longitude)].push(code);
  }
  return out;
}
