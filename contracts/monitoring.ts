import type { MonitorSettings } from '../lib/monitoring/monitor-spec';
import type { MonitorReport } from '../lib/monitoring/monitor-report';
import type { TrainingPipelineInput } from './stages';

export type { MonitorSettings } from '../lib/monitoring/monitor-spec';
export type { ColumnDriftFigure, DriftFinding, LiveMetricFinding, MonitorReport, MonitorVerdict } from '../lib/monitoring/monitor-report';

/** What a `monitorModel` run (a Schedule's action, or `pipewright monitor run`) takes. */
export interface MonitorModelInput {
  monitor: MonitorSettings;
  /** The retraining pipeline's input (spec and queues), as `pipewright run` would start it; its queues route the monitor's activities too. */
  retrain: TrainingPipelineInput;
  /** End of the window (ISO); default: when the monitor run started. */
  until?: string;
}

export interface CheckServingDriftInput {
  monitor: MonitorSettings;
  /** ISO instant: the window ends here. */
  until: string;
}

export interface RecordAlertInput {
  model: string;
  version: number;
  kind: 'drift' | 'performance';
  reason: string;
  details: MonitorReport;
  monitorWorkflowId: string;
  retrainWorkflowId: string | null;
}

/** What the monitor did about a breach: started the retraining, or found it already running. */
export type RetrainAction =
  { status: 'started'; workflowId: string; runId: string } | { status: 'already_running'; workflowId: string } | { status: 'not_needed' };

export interface MonitorModelResult {
  report: MonitorReport;
  /** The alert recorded for a breach. */
  alert?: { id: number; kind: 'drift' | 'performance'; reason: string };
  retrain: RetrainAction;
  /** One line: what it found and did. */
  summary: string;
}

/** The fixed workflow id of a model's retraining run: one at a time, whoever starts it. */
export const retrainWorkflowId = (model: string): string => `${model}-retrain`;
