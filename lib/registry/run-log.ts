import type { Pool } from 'pg';
import { inStageOrder } from '../../contracts/stage-names';
import type { RunFinished, RunStarted } from '../../contracts/stages';
import type { PipelineSpec } from '../spec/pipeline-spec';
import { PipelineInputError } from '../errors';
import { datasetOfRun, type DatasetRecord } from './dataset-registry';
import { versionOfRun } from './model-lookup';
import type { ModelVersionRow } from './model-rows';
import { nameList } from './registry-messages';

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

/** One run in full, for `runs show` and `runs compare`. */
export interface RunDetail extends RunRow {
  temporalRunId: string;
  /** The spec as the run started with it. */
  spec: PipelineSpec;
  /** Seconds per stage, in the order the stages ran; null while running. */
  stageSeconds: Record<string, number> | null;
  /** The dataset it ingested and validated, once validation recorded it. */
  dataset: DatasetRecord | null;
  /** The model version it registered (with its blessing and lineage), if it got that far. */
  model: ModelVersionRow | null;
}

/** The run with its spec, stage times, dataset and registered version; an unknown id is an error listing the latest runs. */
export async function getRun(pool: Pool, runId: string): Promise<RunDetail> {
  const { rows } = await pool.query<{
    run_id: string;
    temporal_run_id: string;
    pipeline: string;
    spec: PipelineSpec;
    status: string;
    started_at: Date;
    finished_at: Date | null;
    metrics: RunFinished['metrics'] | null;
    stage_seconds: Record<string, number> | null;
  }>('SELECT * FROM pipewright_runs WHERE run_id = $1', [runId]);
  const r = rows[0];
  if (!r) {
    const latest = await listRuns(pool, undefined, 5);
    throw new PipelineInputError(`no run "${runId}" (${latest.length ? `latest: ${nameList(latest.map((l) => l.runId))}` : 'no runs yet'})`);
  }
  const [dataset, model] = await Promise.all([datasetOfRun(pool, runId), versionOfRun(pool, runId)]);
  return {
    runId: r.run_id,
    temporalRunId: r.temporal_run_id,
    pipeline: r.pipeline,
    spec: r.spec,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    metrics: r.metrics,
    stageSeconds: r.stage_seconds && inStageOrder(r.stage_seconds),
    dataset,
    model: model ?? null,
  };
}
