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
  {
    // Rows `pipewright load` could not load, kept with the reason instead of being dropped.
    id: 2,
    sql: `
      CREATE TABLE pipewright_load_rejects (
        table_name  text NOT NULL,
        line        bigint NOT NULL,  -- CSV: the line the record starts on (header = 1); Parquet: the row number, from 1
        reason      text NOT NULL,    -- wrong_field_count | invalid_value | null_value | malformed_csv
        column_name text,             -- the column whose value did not fit
        message     text NOT NULL,
        fields      jsonb,            -- the record as read: an array (CSV) or column -> value (Parquet)
        raw         text,             -- the line as it is in the file, when it could not be split into fields
        loaded_at   timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX pipewright_load_rejects_table_line ON pipewright_load_rejects (table_name, line);
    `,
  },
  {
    // Each run's dataset (statistics, validation report) and each pipeline's schema: lib/registry/dataset-registry.ts.
    id: 3,
    sql: `
      CREATE TABLE pipewright_datasets (
        run_id           text PRIMARY KEY,
        pipeline         text NOT NULL,
        source           text NOT NULL,
        rows             bigint NOT NULL,
        quarantined_rows bigint NOT NULL,
        sha256           text NOT NULL,
        statistics_uri   text NOT NULL,
        validation_uri   text NOT NULL,
        passed           boolean NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX pipewright_datasets_pipeline ON pipewright_datasets (pipeline, created_at DESC);
      CREATE TABLE pipewright_schemas (
        pipeline   text PRIMARY KEY,
        schema     jsonb NOT NULL,
        run_id     text NOT NULL,  -- the run whose statistics it was inferred from, or accepted from
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    // Results of finished steps by cache key, reused by later runs with the same key: lib/cache/step-cache.ts.
    id: 4,
    sql: `
      CREATE TABLE pipewright_step_cache (
        key        text PRIMARY KEY,
        step       text NOT NULL,
        result     jsonb NOT NULL,
        run_id     text NOT NULL,  -- the run that computed it
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    // The registry grows up (lib/registry/model-registry.ts): models, aliases with an append-only
    // history (which version served on date D, and why), lineage, blessing and the evaluation's
    // artifacts per version. The old `stage` column stays in step for readers written before.
    id: 5,
    sql: `
      ALTER TABLE pipewright_model_versions
        ADD COLUMN lineage        jsonb,  -- dataset, transform and spec hashes, code version, seeds, backend
        ADD COLUMN blessing       jsonb,  -- contracts Blessing: blessed, the checks, the baseline compared with
        ADD COLUMN evaluation_uri text,   -- the EvaluationReport artifact (curves, thresholds, calibration, slices)
        ADD COLUMN importance     jsonb,  -- permutation feature importance (contracts ImportanceResult)
        ADD COLUMN training       jsonb,  -- loss per epoch, validation loss and metric per epoch
        ADD COLUMN cross_validation jsonb, -- k-fold figures: mean, std and values per metric
        ADD COLUMN search         jsonb;  -- the hyperparameter search: metric, best trial, every trial
      CREATE TABLE pipewright_models (
        name       text PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO pipewright_models (name, created_at)
        SELECT name, min(created_at) FROM pipewright_model_versions GROUP BY name;
      CREATE TABLE pipewright_model_aliases (
        name       text NOT NULL,
        alias      text NOT NULL,          -- production, candidate, or any user alias
        version    integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, alias)
      );
      CREATE TABLE pipewright_alias_history (
        id               bigserial PRIMARY KEY,
        name             text NOT NULL,
        alias            text NOT NULL,
        version          integer,          -- NULL: the alias was removed
        previous_version integer,
        changed_at       timestamptz NOT NULL DEFAULT now(),
        actor            text NOT NULL,    -- run:<run id>, user:<name>, or migration
        reason           text NOT NULL
      );
      CREATE INDEX pipewright_alias_history_at ON pipewright_alias_history (name, alias, changed_at);
      INSERT INTO pipewright_model_aliases (name, alias, version, updated_at)
        SELECT name, 'production', version, COALESCE(deployed_at, created_at) FROM pipewright_model_versions WHERE stage = 'production';
      INSERT INTO pipewright_alias_history (name, alias, version, changed_at, actor, reason)
        SELECT name, 'production', version, COALESCE(deployed_at, created_at), 'migration', 'production before alias history was kept'
          FROM pipewright_model_versions WHERE stage = 'production';
    `,
  },
  {
    // Prediction logging and feedback (lib/serving/prediction-log.ts): one row per instance the model
    // server answered, written in batches, and the true labels that clients send later, by request and row.
    id: 6,
    sql: `
      CREATE TABLE pipewright_predictions (
        id         bigserial PRIMARY KEY,
        request_id text NOT NULL,         -- x-request-id, or the id the server generated; feedback refers to it
        row_index  integer NOT NULL,      -- the instance's position in the request, from 0
        model      text NOT NULL,
        version    integer NOT NULL,
        role       text NOT NULL,         -- production | canary | shadow
        logged_at  timestamptz NOT NULL DEFAULT now(),
        features   jsonb NOT NULL,        -- the raw instance as the client sent it
        prediction jsonb NOT NULL,
        latency_ms real NOT NULL          -- of the whole request; NaN when unknown
      );
      CREATE INDEX pipewright_predictions_model_at ON pipewright_predictions (model, logged_at);
      -- Feedback looks its predictions up by request.
      CREATE INDEX pipewright_predictions_request ON pipewright_predictions (request_id, row_index);
      CREATE TABLE pipewright_feedback (
        request_id  text NOT NULL,
        row_index   integer NOT NULL,
        label       jsonb NOT NULL,
        model       text,                 -- NULL: the label holds for every model that answered the request
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (request_id, row_index)
      );
    `,
  },
  {
    // Monitoring alerts (lib/monitoring/alerts.ts): what a monitor check found on the serving data
    // (drift from training, or a live metric below the registered one) and the retraining it started.
    id: 7,
    sql: `
      CREATE TABLE pipewright_alerts (
        id                  bigserial PRIMARY KEY,
        model               text NOT NULL,
        version             integer NOT NULL,
        kind                text NOT NULL CHECK (kind IN ('drift', 'performance')),
        reason              text NOT NULL,
        details             jsonb NOT NULL,  -- the check's report: per-column figures, live metric
        monitor_workflow_id text NOT NULL UNIQUE,  -- one alert per check, however often its activity runs
        retrain_workflow_id text,            -- the retraining run started (or already running) for it
        at                  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX pipewright_alerts_model_at ON pipewright_alerts (model, at);
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
