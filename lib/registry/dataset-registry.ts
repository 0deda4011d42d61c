import type { Pool } from 'pg';

/**
 * Each run's dataset (its statistics and validation report), and each pipeline's schema: what later
 * runs validate against and measure drift from, and what `pipewright report` reads.
 */
export interface DatasetRecord {
  runId: string;
  pipeline: string;
  source: string;
  rows: number;
  quarantinedRows: number;
  sha256: string;
  statisticsUri: string;
  validationUri: string;
  /** Whether validation found errors. */
  passed: boolean;
  createdAt: Date;
}

interface DatasetRow {
  run_id: string;
  pipeline: string;
  source: string;
  rows: string;
  quarantined_rows: string;
  sha256: string;
  statistics_uri: string;
  validation_uri: string;
  passed: boolean;
  created_at: Date;
}

const fromRow = (r: DatasetRow): DatasetRecord => ({
  runId: r.run_id,
  pipeline: r.pipeline,
  source: r.source,
  rows: Number(r.rows),
  quarantinedRows: Number(r.quarantined_rows),
  sha256: r.sha256,
  statisticsUri: r.statistics_uri,
  validationUri: r.validation_uri,
  passed: r.passed,
  createdAt: r.created_at,
});

/** Records (or, when an activity is retried, re-records) the run's dataset. */
export async function recordDataset(pool: Pool, d: Omit<DatasetRecord, 'createdAt'>): Promise<void> {
  await pool.query(
    `INSERT INTO pipewright_datasets (run_id, pipeline, source, rows, quarantined_rows, sha256, statistics_uri, validation_uri, passed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (run_id) DO UPDATE SET source = EXCLUDED.source, rows = EXCLUDED.rows, quarantined_rows = EXCLUDED.quarantined_rows,
       sha256 = EXCLUDED.sha256, statistics_uri = EXCLUDED.statistics_uri, validation_uri = EXCLUDED.validation_uri, passed = EXCLUDED.passed`,
    [d.runId, d.pipeline, d.source, d.rows, d.quarantinedRows, d.sha256, d.statisticsUri, d.validationUri, d.passed],
  );
}

export async function datasetOfRun(pool: Pool, runId: string): Promise<DatasetRecord | null> {
  const { rows } = await pool.query<DatasetRow>('SELECT * FROM pipewright_datasets WHERE run_id = $1', [runId]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/** The last dataset of the pipeline that passed validation, other than `runId`'s: the baseline for drift. */
export async function previousDataset(pool: Pool, pipeline: string, runId: string): Promise<DatasetRecord | null> {
  const { rows } = await pool.query<DatasetRow>(
    `SELECT * FROM pipewright_datasets WHERE pipeline = $1 AND run_id <> $2 AND passed AND created_at <= (
       SELECT coalesce(max(created_at), now()) FROM pipewright_datasets WHERE run_id = $2
     ) ORDER BY created_at DESC LIMIT 1`,
    [pipeline, runId],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

export interface SchemaRecord<S> {
  pipeline: string;
  schema: S;
  /** The run whose statistics it was inferred from. */
  runId: string;
  createdAt: Date;
}

/** The pipeline's schema, or null before its first run. */
export async function pipelineSchema<S>(pool: Pool, pipeline: string): Promise<SchemaRecord<S> | null> {
  const { rows } = await pool.query<{ pipeline: string; schema: S; run_id: string; created_at: Date }>('SELECT * FROM pipewright_schemas WHERE pipeline = $1', [
    pipeline,
  ]);
  const r = rows[0];
  return r ? { pipeline: r.pipeline, schema: r.schema, runId: r.run_id, createdAt: r.created_at } : null;
}

/**
 * Stores the schema inferred by a pipeline's first run and returns the one in force: when two
 * first runs race, or an activity is retried, the schema stored first wins.
 */
export async function ensurePipelineSchema<S>(pool: Pool, pipeline: string, schema: S, runId: string): Promise<SchemaRecord<S>> {
  await pool.query('INSERT INTO pipewright_schemas (pipeline, schema, run_id) VALUES ($1, $2, $3) ON CONFLICT (pipeline) DO NOTHING', [
    pipeline,
    JSON.stringify(schema),
    runId,
  ]);
  return (await pipelineSchema<S>(pool, pipeline))!;
}

/** Replaces the pipeline's schema (a user accepting a new shape of data): `pipewright schema <pipeline> --accept <run-id>`. */
export async function replacePipelineSchema<S>(pool: Pool, pipeline: string, schema: S, runId: string): Promise<void> {
  await pool.query(
    `INSERT INTO pipewright_schemas (pipeline, schema, run_id) VALUES ($1, $2, $3)
     ON CONFLICT (pipeline) DO UPDATE SET schema = EXCLUDED.schema, run_id = EXCLUDED.run_id, created_at = now()`,
    [pipeline, JSON.stringify(schema), runId],
  );
}
