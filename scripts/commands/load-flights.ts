import { loadConfig } from '../../lib/config';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { loadDatabaseUrl } from './load';

/**
 * `pipewright load-flights [--rows N] [--table T]`: the demo data into PostgreSQL, once. A shortcut
 * for `pipewright load` of vega-datasets' flights-3m.parquet with the demo table's fixed column types.
 */
export async function loadFlightsCommand(options: { rows?: number; table?: string }): Promise<number> {
  const databaseUrl = await loadDatabaseUrl(loadConfig());
  const table = options.table ?? (options.rows ? `flights_${options.rows}` : 'flights');
  try {
    const result = await ensureFlightsTable(pgPool(databaseUrl), table, options.rows);
    console.log(
      result.loaded ? `loaded ${result.rows} rows into ${table} in ${result.seconds.toFixed(1)}s` : `${table} is already loaded (${result.rows} rows)`,
    );
    return 0;
  } finally {
    await closePgPools();
  }
}
