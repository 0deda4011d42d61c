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

/** One run as the run log holds it: how it ended, with its metrics (or where it failed). */
export interface RunRow {
  runId: string;
  pipeline: string;
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
  /** The evaluation metrics of a succeeded run (binary when they have no task); the error of a failed one; null while running. */
  metrics: RunFinished['metrics'] | null;
}

/** The latest runs, newest first, of one pipeline or of all. */
export async function listRuns(pool: Pool, pipeline?: string, limit = 20): Promise<RunRow[]> {
  const { rows } = await pool.query<{
    run_id: string;
    pipeline: string;
    status: string;
    started_at: Date;
    finished_at: Date | null;
    metrics: RunFinished['metrics'] | null;
  }>(
    `SELECT run_id, pipeline, status, started_at, finished_at, metrics FROM pipewright_runs
      WHERE $1::text IS NULL OR pipeline = $1 ORDER BY started_at DESC, run_id DESC LIMIT $2`,
    [pipeline ?? null, limit],
  );
  return rows.map((r) => ({
    runId: r.run_id,
    pipeline: r.pipeline,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    metrics: r.metrics,
  }));
}
