import type { Pool } from 'pg';

/**
 * Ordered, append-only schema migrations. Each runs once, in a transaction, recorded in
 * pipewright_migrations; an advisory lock keeps concurrent start-ups from racing.
 */
const MIGRATIONS: ReadonlyArray<{ id: number; sql: string }> = [
  {
    id: 1,
    sql: `
      CREATE TABLE pipewright_sources (
        table_name text PRIMARY KEY,
        source     text NOT NULL,
        rows       bigint NOT NULL,
        loaded_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE pipewright_runs (
        run_id        text PRIMARY KEY,  -- the workflow id, e.g. flights-20261125-061500
        temporal_run_id text NOT NULL,
        pipeline      text NOT NULL,
        spec          jsonb NOT NULL,
        status        text NOT NULL,
        started_at    timestamptz NOT NULL DEFAULT now(),
        finished_at   timestamptz,
        metrics       jsonb,
        stage_seconds jsonb
      );
      CREATE TABLE pipewright_model_versions (
        name          text NOT NULL,
        version       integer NOT NULL,
        run_id        text NOT NULL,
        stage         text NOT NULL DEFAULT 'registered',
        backend       text NOT NULL,
        metrics       jsonb NOT NULL,
        model_uri     text NOT NULL,
        model_sha256  text NOT NULL,
        transform_uri text NOT NULL,
        transform_sha256 text NOT NULL,
        dataset_sha256 text NOT NULL,
        spec          jsonb NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        deployed_at   timestamptz,
        PRIMARY KEY (name, version),
        UNIQUE (name, run_id)
      );
    `,
  },
];

export async function migrate(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(727274)');
    await client.query('CREATE TABLE IF NOT EXISTS pipewright_migrations (id integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ id: number }>('SELECT id FROM pipewright_migrations');
    const applied = new Set(rows.map((r) => r.id));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO pipewright_migrations (id) VALUES ($1)', [migration.id]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
    client.release();
  }
}
