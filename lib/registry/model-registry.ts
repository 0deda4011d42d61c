import type { Pool } from 'pg';
import type { EvaluationMetrics } from '../../contracts/refs';
import type { RegisterInput } from '../../contracts/stages';

export interface ModelVersionRow {
  name: string;
  version: number;
  runId: string;
  stage: 'registered' | 'production' | 'archived';
  backend: string;
  metrics: EvaluationMetrics;
  modelUri: string;
  modelSha256: string;
  transformUri: string;
  transformSha256: string;
  datasetSha256: string;
  createdAt: Date;
  deployedAt: Date | null;
}

interface DbRow {
  name: string;
  version: number;
  run_id: string;
  stage: ModelVersionRow['stage'];
  backend: string;
  metrics: EvaluationMetrics;
  model_uri: string;
  model_sha256: string;
  transform_uri: string;
  transform_sha256: string;
  dataset_sha256: string;
  created_at: Date;
  deployed_at: Date | null;
}

const fromDb = (r: DbRow): ModelVersionRow => ({
  name: r.name,
  version: r.version,
  runId: r.run_id,
  stage: r.stage,
  backend: r.backend,
  metrics: r.metrics,
  modelUri: r.model_uri,
  modelSha256: r.model_sha256,
  transformUri: r.transform_uri,
  transformSha256: r.transform_sha256,
  datasetSha256: r.dataset_sha256,
  createdAt: r.created_at,
  deployedAt: r.deployed_at,
});

/**
 * Registers the model a run produced as the next version of its name. Idempotent: registering the
 * same run again returns the version it already has.
 */
export async function registerModelVersion(pool: Pool, input: RegisterInput): Promise<ModelVersionRow> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Serialise version numbering per model name.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pipewright.model.${input.name}`]);
    const existing = await client.query<DbRow>('SELECT * FROM pipewright_model_versions WHERE name = $1 AND run_id = $2', [input.name, input.runId]);
    if (existing.rowCount) {
      await client.query('COMMIT');
      return fromDb(existing.rows[0]!);
    }
    const inserted = await client.query<DbRow>(
      `INSERT INTO pipewright_model_versions
         (name, version, run_id, backend, metrics, model_uri, model_sha256, transform_uri, transform_sha256, dataset_sha256, spec)
       SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10
         FROM pipewright_model_versions WHERE name = $1
       RETURNING *`,
      [
        input.name,
        input.runId,
        input.model.backend,
        JSON.stringify(input.metrics),
        input.model.uri,
        input.model.sha256,
        input.transform.uri,
        input.transform.sha256,
        input.datasetSha256,
        JSON.stringify(input.spec),
      ],
    );
    await client.query('COMMIT');
    return fromDb(inserted.rows[0]!);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Makes `version` the production version of `name` and archives the previous one. Idempotent. */
export async function promoteToProduction(pool: Pool, name: string, version: number): Promise<ModelVersionRow> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pipewright.model.${name}`]);
    await client.query(`UPDATE pipewright_model_versions SET stage = 'archived' WHERE name = $1 AND stage = 'production' AND version <> $2`, [name, version]);
    const updated = await client.query<DbRow>(
      `UPDATE pipewright_model_versions SET stage = 'production', deployed_at = COALESCE(deployed_at, now())
        WHERE name = $1 AND version = $2 RETURNING *`,
      [name, version],
    );
    if (!updated.rowCount) throw new Error(`model ${name} has no version ${version}`);
    await client.query('COMMIT');
    return fromDb(updated.rows[0]!);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export async function productionVersion(pool: Pool, name: string): Promise<ModelVersionRow | undefined> {
  const { rows } = await pool.query<DbRow>(`SELECT * FROM pipewright_model_versions WHERE name = $1 AND stage = 'production'`, [name]);
  return rows[0] ? fromDb(rows[0]) : undefined;
}

export async function productionModels(pool: Pool): Promise<ModelVersionRow[]> {
  const { rows } = await pool.query<DbRow>(`SELECT * FROM pipewright_model_versions WHERE stage = 'production' ORDER BY name`);
  return rows.map(fromDb);
}

export async function listModelVersions(pool: Pool, name?: string): Promise<ModelVersionRow[]> {
  const { rows } = name
    ? await pool.query<DbRow>('SELECT * FROM pipewright_model_versions WHERE name = $1 ORDER BY version', [name])
    : await pool.query<DbRow>('SELECT * FROM pipewright_model_versions ORDER BY name, version');
  return rows.map(fromDb);
}
