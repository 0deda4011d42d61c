import type { Pool } from 'pg';
import { ident } from '../lib/db/sql';

export interface RepeatedTable {
  table: string;
  rows: number;
  /** False when pipewright_sources already had it and nothing was built. */
  built: boolean;
  seconds: number;
}

/** The same advisory-lock class as pipewright load, so a load and a build of one table wait for each other. */
const LOAD_LOCK_CLASS = 727275;

/**
 * The flights table `from` (keyed 0 … n-1 by `id`, as ensureFlightsTable loads it) repeated `copies` times with fresh
 * keys (copy g's rows get id + g·n), built once and recorded in pipewright_sources so later runs
 * reuse it. One INSERT … SELECT in one transaction; the rows go in in key order, as the loaded
 * table's are, so key-range reads stay index scans over adjacent heap pages at every size, and the
 * primary key is built after the rows, which is faster than keeping it up row by row.
 */
export async function ensureRepeatedFlights(pool: Pool, from: string, copies: number, table: string): Promise<RepeatedTable> {
  const started = process.hrtime.bigint();
  const source = `${from} × ${copies}, fresh keys (bench/data-plane-table.ts)`;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOAD_LOCK_CLASS, table]);
    const recorded = await client.query<{ rows: string; source: string }>('SELECT rows::text AS rows, source FROM pipewright_sources WHERE table_name = $1', [
      table,
    ]);
    if (recorded.rows[0]?.source === source) {
      await client.query('ROLLBACK');
      return { table, rows: Number(recorded.rows[0].rows), built: false, seconds: 0 };
    }
    const { rows: counted } = await client.query<{ n: string; lo: string | null; hi: string | null }>(
      `SELECT count(*)::text AS n, min(id)::text AS lo, max(id)::text AS hi FROM ${ident(from)}`,
    );
    const n = Number(counted[0]!.n);
    if (n === 0 || counted[0]!.lo !== '0' || Number(counted[0]!.hi) !== n - 1) {
      throw new Error(`${from} must be keyed 0 … n-1 by id to be repeated with fresh keys; it has ${n} rows, ids ${counted[0]!.lo} … ${counted[0]!.hi}`);
    }
    // A table of this name that is not this build (a leftover, or a build of other copies) is replaced.
    await client.query(`DROP TABLE IF EXISTS ${ident(table)}`);
    await client.query('DELETE FROM pipewright_sources WHERE table_name = $1', [table]);
    // LIKE copies the columns, their types and NOT NULLs; the key comes after the rows.
    await client.query(`CREATE TABLE ${ident(table)} (LIKE ${ident(from)})`);
    // The sort in key order spills to disk either way; more memory makes fewer, larger runs.
    await client.query(`SET LOCAL work_mem = '256MB'`);
    await client.query(`SET LOCAL maintenance_work_mem = '1GB'`);
    await client.query(
      `INSERT INTO ${ident(table)} SELECT g * ${n} + f.id, f.date, f.delay, f.distance, f.origin, f.destination
         FROM ${ident(from)} AS f, generate_series(0, ${copies - 1}) AS g ORDER BY g, f.id`,
    );
    await client.query(`ALTER TABLE ${ident(table)} ADD PRIMARY KEY (id)`);
    await client.query('INSERT INTO pipewright_sources (table_name, source, rows) VALUES ($1, $2, $3)', [table, source, n * copies]);
    await client.query(`ANALYZE ${ident(table)}`);
    await client.query('COMMIT');
    return { table, rows: n * copies, built: true, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
