import type { Pool } from 'pg';
import { inStageOrder } from '../../../contracts/stage-names';
import type { Blessing, ImportanceResult } from '../../../contracts/evaluation';
import type { EvaluationMetrics } from '../../../contracts/refs';
import type { CrossValidationResult } from '../../../contracts/cross-validation';
import type { ModelLineage, TrainingCurves } from '../../../contracts/stages';
import type { SearchSummary } from '../../../contracts/tuning';
import { readArtifactJson } from '../../artifacts/artifact-store';
import type { EvaluationReport } from '../../evaluation/evaluation-report';
import type { DatasetStatisticsArtifact } from '../../validation/dataset-statistics';
import type { ValidationReport } from '../../validation/validation-report';
import type { DatasetReportSummary, ReportModel, RunReportData, TrialResult } from './run-report-data';
import { summarizeSpec } from './spec-summary';

/** The run id is not in the run log. */
export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`no run "${runId}" in the run log: check the id with \`pipewright runs\` (a run is recorded when it starts)`);
    this.name = 'RunNotFoundError';
  }
}

/** Anomalies the page lists at most; the text report (`pipewright report` before the HTML) has them all. */
const MAX_ANOMALIES = 12;

interface RunRow {
  run_id: string;
  pipeline: string;
  spec: unknown;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  metrics: EvaluationMetrics | { error: string; stage: string } | null;
  stage_seconds: Record<string, number> | null;
}

interface VersionRow {
  name: string;
  version: number;
  backend: string;
  metrics: EvaluationMetrics;
  created_at: Date;
  lineage: ModelLineage | null;
  blessing: Blessing | null;
  evaluation_uri: string | null;
  importance: ImportanceResult | null;
  training: TrainingCurves | null;
  cross_validation: CrossValidationResult | null;
  search: SearchSummary | null;
}

interface DatasetRow {
  source: string;
  rows: string;
  quarantined_rows: string;
  sha256: string;
  statistics_uri: string;
  validation_uri: string;
}

/**
 * What the run report draws, from the run log, the model version the run registered and its
 * dataset, plus the artifacts they point at. Read-only. A missing artifact does not fail the
 * report: its part is left out and listed in `problems`.
 */
export async function loadRunReportData(pool: Pool, runId: string): Promise<RunReportData> {
  const { rows: runs } = await pool.query<RunRow>(
    `SELECT run_id, pipeline, spec, status, started_at, finished_at, metrics, stage_seconds FROM pipewright_runs WHERE run_id = $1`,
    [runId],
  );
  const run = runs[0];
  if (!run) throw new RunNotFoundError(runId);
  const problems: string[] = [];
  const data: RunReportData = {
    runId: run.run_id,
    pipeline: run.pipeline,
    status: run.status,
    startedAt: run.started_at.toISOString(),
    finishedAt: run.finished_at?.toISOString() ?? null,
    stageSeconds: inStageOrder(run.stage_seconds ?? {}),
    spec: summarizeSpec(run.spec),
    metrics: run.metrics && !('error' in run.metrics) ? run.metrics : null,
    problems,
  };
  if (run.metrics && 'error' in run.metrics) data.failure = { stage: run.metrics.stage, error: run.metrics.error };

  // A run registers at most one version per model name (UNIQUE (name, run_id)); its pipeline's model.
  const { rows: versions } = await pool.query<VersionRow>(
    `SELECT name, version, backend, metrics, created_at, lineage, blessing, evaluation_uri, importance, training, cross_validation, search
       FROM pipewright_model_versions WHERE run_id = $1 ORDER BY created_at DESC LIMIT 1`,
    [runId],
  );
  const version = versions[0];
  if (version) {
    const { rows: aliases } = await pool.query<{ alias: string }>(
      `SELECT alias FROM pipewright_model_aliases WHERE name = $1 AND version = $2 ORDER BY alias`,
      [version.name, version.version],
    );
    const model: ReportModel = {
      name: version.name,
      version: version.version,
      aliases: aliases.map((a) => a.alias),
      backend: version.backend,
      createdAt: version.created_at.toISOString(),
    };
    data.model = model;
    data.metrics ??= version.metrics;
    if (version.lineage) data.lineage = version.lineage;
    if (version.blessing) data.blessing = version.blessing;
    if (version.importance) data.importance = version.importance;
    if (version.training) data.training = version.training;
    if (version.cross_validation) data.crossValidation = version.cross_validation;
    if (version.search) {
      data.trials = trialResults(version.search);
      data.trialMetric = version.search.metric;
    }
    if (version.evaluation_uri) {
      try {
        data.evaluation = await readArtifactJson<EvaluationReport>({ uri: version.evaluation_uri });
        data.metrics = data.evaluation.metrics;
      } catch (err) {
        problems.push(`the evaluation report ${version.evaluation_uri}: ${(err as Error).message}`);
      }
    }
  }

  const { rows: datasets } = await pool.query<DatasetRow>(
    `SELECT source, rows, quarantined_rows, sha256, statistics_uri, validation_uri FROM pipewright_datasets WHERE run_id = $1`,
    [runId],
  );
  if (datasets[0]) {
    const summary = await datasetSummary(datasets[0], problems);
    if (summary) data.dataset = summary;
  }
  return data;
}

async function datasetSummary(row: DatasetRow, problems: string[]): Promise<DatasetReportSummary | null> {
  let statistics: DatasetStatisticsArtifact;
  let validation: ValidationReport;
  try {
    [statistics, validation] = await Promise.all([
      readArtifactJson<DatasetStatisticsArtifact>({ uri: row.statistics_uri }),
      readArtifactJson<ValidationReport>({ uri: row.validation_uri }),
    ]);
  } catch (err) {
    problems.push(`the dataset's statistics or validation report: ${(err as Error).message}`);
    return null;
  }
  const rank = (severity: string): number => (severity === 'error' ? 0 : 1);
  const anomalies = [...validation.anomalies]
    .sort((a, b) => rank(a.severity) - rank(b.severity))
    .slice(0, MAX_ANOMALIES)
    .map((a) => ({ severity: a.severity, ...(a.column !== undefined ? { column: a.column } : {}), check: a.check, message: a.message }));
  return {
    source: row.source,
    rows: Number(row.rows),
    quarantinedRows: Number(row.quarantined_rows),
    sha256: row.sha256,
    columns: Object.keys(statistics.summary.columns).length,
    validation: {
      passed: validation.passed,
      errors: validation.errors,
      warnings: validation.warnings,
      anomalies,
      driftColumns: validation.drift.length,
    },
  };
}

/** A search's trials as the report draws them: the epochs each trained are its resource. */
function trialResults(search: SearchSummary): TrialResult[] {
  return search.trials.map((t) => ({ trial: t.trial, params: t.params, metric: t.metric, resource: t.epochs, status: t.status }));
}
