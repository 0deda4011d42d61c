import type { Pool } from 'pg';
import type { RunFinished, RunStarted } from '../../contracts/stages';

/** Records that a run started. Idempotent per run id. */
export async function recordRunStarted(pool: Pool, run: RunStarted): Promise<void> {
  await pool.query(
    `INSERT INTO pipewright_runs (run_id, temporal_run_id, pipeline, spec, status) VALUES ($1, $2, $3, $4, 'running')
     ON CONFLICT (run_id) DO NOTHING`,
    [run.runId, run.temporalRunId, run.pipeline, JSON.stringify(run.spec)],
  );
}

/** Records how a run ended, with its metrics (or error) and the seconds each stage took. Idempotent. */
export async function recordRunFinished(pool: Pool, run: RunFinished): Promise<void> {
  await pool.query(`UPDATE pipewright_runs SET status = $2, finished_at = COALESCE(finished_at, now()), metrics = $3, stage_seconds = $4 WHERE run_id = $1`, [
    run.runId,
    run.status,
    JSON.stringify(run.metrics ?? null),
    JSON.stringify(run.stageSeconds),
  ]);
}
