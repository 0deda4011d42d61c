import { Pool, type PoolConfig } from 'pg';

/** One pg Pool per process and URL; activities share it. */
const pools = new Map<string, Pool>();

export function pgPool(databaseUrl: string, extra: Omit<PoolConfig, 'connectionString'> = {}): Pool {
  let pool = pools.get(databaseUrl);
  if (!pool) {
    pool = new Pool({ connectionString: databaseUrl, max: 8, ...extra });
    // An idle client that loses its server must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    pools.set(databaseUrl, pool);
  }
  return pool;
}

export async function closePgPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.end().catch(() => undefined)));
}
