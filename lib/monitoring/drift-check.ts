import { computeDrift, describeDrift } from '../validation/drift';
import { DEFAULT_VALIDATION_CHECKS, validationChecksSchema } from '../validation/checks';
import type { DatasetStatistics } from '../statistics/dataset-stats';
import type { DriftFinding } from './monitor-report';

/** Drift thresholds of serving against training: the validate stage's measures and defaults. */
export interface DriftThresholds {
  /** L-infinity distance between category frequencies above which a text column drifted. */
  categorical: number;
  /** Jensen–Shannon divergence (base 2) above which a numeric or timestamp column drifted. */
  numeric: number;
  /** Most bins of the numeric divergence (see drift.ts). */
  numericBins: number;
}

/** The same defaults as the validate stage's drift check (DEFAULT_VALIDATION_CHECKS.drift), so both say "drift" alike. */
export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = {
  categorical: DEFAULT_VALIDATION_CHECKS.drift.categorical,
  numeric: DEFAULT_VALIDATION_CHECKS.drift.numeric,
  numericBins: DEFAULT_VALIDATION_CHECKS.drift.numericBins,
};

export const DEFAULT_MIN_ROWS = 500;

export interface DriftCheckOptions {
  minRows?: number;
  thresholds?: Partial<DriftThresholds>;
}

/**
 * The serving window's drift from the training statistics, per column both have, with the validate
 * stage's measures (computeDrift). Fewer than minRows logged rows: not_enough_traffic, and nothing
 * is measured (a few rows' frequencies are noise).
 */
export function checkDrift(training: DatasetStatistics, window: DatasetStatistics, options: DriftCheckOptions = {}): DriftFinding {
  const minRows = options.minRows ?? DEFAULT_MIN_ROWS;
  const thresholds = { ...DEFAULT_DRIFT_THRESHOLDS, ...options.thresholds };
  if (window.rows < minRows) return { status: 'not_enough_traffic', rows: window.rows, minRows, columns: [] };
  const checks = validationChecksSchema.parse({ drift: { severity: 'warn', ...thresholds } });
  const { columns } = computeDrift(training, window, checks);
  const figures = columns.map((c) => ({
    column: c.column,
    kind: c.kind,
    measure: c.measure,
    value: c.distance,
    threshold: c.threshold,
    breached: c.drifted,
    detail: describeDrift(c),
  }));
  return { status: figures.some((c) => c.breached) ? 'drift' : 'ok', rows: window.rows, minRows, columns: figures };
}
