import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` in a transaction that holds the model's advisory lock, so that version numbering and
 * alias moves of one model are serialised (two deploys of the same model cannot both read "v3 is
 * production" and write diverging histories), while other models go on in parallel.
 */
export async function withModelLock<T>(pool: Pool, name: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pipewright.model.${name}`]);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
