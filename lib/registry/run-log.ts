import type { Pool } from 'pg';

export interface RunRecord {
  /** The workflow id, which names the run in the CLI, the registry and the Web UI. */
  runId: string;
  temporalRunId: string;
  pipeline: string;
  spec: unknown;
}

/** Records that a run started. Idempotent per run id. */
export async function recordRunStarted(pool: Pool, run: RunRecord): Promise<void> {
  await pool.query(
    `INSERT INTO pipewright_runs (run_id, temporal_run_id, pipeline, spec, status) VALUES ($1, $2, $3, $4, 'running')
     ON CONFLICT (run_id) DO NOTHING`,
    [run.runId, run.temporalRunId, run.pipeline, JSON.stringify(run.spec)],
  );
}

export async function recordRunFinished(
  pool: Pool,
  runId: string,
  status: 'succeeded' | 'failed',
  metrics: unknown,
  stageSeconds: Record<string, number>,
): Promise<void> {
  await pool.query(
    `UPDATE pipewright_runs SET status = $2, finished_at = COALESCE(finished_at, now()), metrics = $3, stage_seconds = $4 WHERE run_id = $1`,
    [runId, status, JSON.stringify(metrics ?? null), JSON.stringify(stageSeconds)],
  );
}
