import type { Blessing, ImportanceResult } from '../../../contracts/evaluation';
import type { EvaluationMetrics } from '../../../contracts/refs';
import type { CrossValidationResult } from '../../../contracts/cross-validation';
import type { ModelLineage, TrainingCurves } from '../../../contracts/stages';
import type { EvaluationReport } from '../../evaluation/evaluation-report';

/**
 * Everything `pipewright report` draws for one run, as plain JSON (times as ISO strings) so that a
 * report can be rendered from a fixture as well as from the database. Every part after the run's
 * own columns is optional: runs that failed early, or ran before a piece was kept, lack it, and the
 * page says so instead of drawing an empty chart.
 */
export interface RunReportData {
  runId: string;
  pipeline: string;
  /** running, succeeded, failed or cancelled. */
  status: string;
  startedAt: string;
  finishedAt: string | null;
  /** Seconds per stage, in the order the stages ran. */
  stageSeconds: Record<string, number>;
  /** The spec in a few readable lines: source, label, features, split, model. */
  spec: SpecLine[];
  /** The headline metrics of the model (a succeeded run), else null. */
  metrics: EvaluationMetrics | null;
  /** Where a failed run stopped. */
  failure?: { stage: string; error: string };
  model?: ReportModel;
  blessing?: Blessing;
  lineage?: ModelLineage;
  training?: TrainingCurves;
  evaluation?: EvaluationReport;
  importance?: ImportanceResult;
  /** k-fold cross-validation of the train split: each metric's mean, spread and per-fold values. */
  crossValidation?: CrossValidationResult;
  trials?: TrialResult[];
  /** The metric the trials were ranked by; "metric", higher is better, when not known. */
  trialMetric?: { name: string; higherIsBetter: boolean };
  dataset?: DatasetReportSummary;
  /** What could not be loaded (an artifact that is gone), shown at the top of the page. */
  problems?: string[];
}

export interface SpecLine {
  name: string;
  value: string;
}

export interface ReportModel {
  name: string;
  version: number;
  /** Aliases pointing at this version now (production, candidate, ...). */
  aliases: string[];
  backend: string;
  createdAt: string;
}

/**
 * One hyperparameter trial: its parameters, its validation metric (null when it failed) and the
 * resource (epochs) it used. Parameters take contracts/tuning's values (hidden widths are a list).
 */
export interface TrialResult {
  trial: string;
  params: Record<string, number | string | number[]>;
  metric: number | null;
  resource: number;
  status: string;
}

/** The run's dataset as the validate stage recorded it. */
export interface DatasetReportSummary {
  source: string;
  rows: number;
  quarantinedRows: number;
  sha256: string;
  columns: number;
  validation: {
    passed: boolean;
    errors: number;
    warnings: number;
    /** The first anomalies, errors first. */
    anomalies: Array<{ severity: string; column?: string; check: string; message: string }>;
    /** Columns compared with the previous dataset for drift. */
    driftColumns: number;
  };
}
