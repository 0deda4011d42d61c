import { loadConfig } from '../../lib/config';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { resolveTarget } from '../client/target';

/** `pipewright load-flights [--rows N] [--table T]`: the demo data into PostgreSQL, once. */
export async function loadFlightsCommand(options: { rows?: number; table?: string }): Promise<number> {
  const target = await resolveTarget(loadConfig(), false, () => undefined);
  if (!target.databaseUrl) throw new Error('set DATABASE_URL (or run `pipewright up`)');
  const table = options.table ?? (options.rows ? `flights_${options.rows}` : 'flights');
  try {
    const result = await ensureFlightsTable(pgPool(target.databaseUrl), table, options.rows);
    console.log(
      result.loaded ? `loaded ${result.rows} rows into ${table} in ${result.seconds.toFixed(1)}s` : `${table} is already loaded (${result.rows} rows)`,
    );
    return 0;
  } finally {
    await closePgPools();
  }
}
