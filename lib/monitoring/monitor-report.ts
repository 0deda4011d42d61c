/**
 * What one monitoring check found: per column the drift measure, its value and threshold; the live
 * metric on the labelled rows; and the verdict with a one-line reason. Plain JSON and small (figures
 * per column, never rows), so it travels as an activity result and a workflow's result.
 */

export type DriftMeasureName = 'l_infinity' | 'jensen_shannon';

export interface ColumnDriftFigure {
  column: string;
  kind: 'number' | 'timestamp' | 'text';
  measure: DriftMeasureName;
  /** null when a side has no value to compare (every logged value missing, say). */
  value: number | null;
  threshold: number;
  breached: boolean;
  /** What moved, in the column's own terms (describeDrift). */
  detail: string;
}

export interface DriftFinding {
  /** not_enough_traffic: fewer logged rows than minRows; nothing is measured then. */
  status: 'ok' | 'drift' | 'not_enough_traffic';
  rows: number;
  minRows: number;
  columns: ColumnDriftFigure[];
}

export interface LiveMetricFinding {
  /** not_enough_labels: fewer labelled rows than minLabels; not_measurable: the metric is undefined on them (one class only) or nothing is registered to compare with. */
  status: 'ok' | 'degraded' | 'not_enough_labels' | 'not_measurable';
  metric: string;
  higherIsBetter: boolean;
  /** Labelled rows whose label and prediction could be scored. */
  labels: number;
  minLabels: number;
  maxDrop: number;
  value?: number;
  /** The version's registered value of the metric (on its test split). */
  registered?: number;
  /** How much worse than registered, in the metric's units (positive: worse). */
  drop?: number;
  /** Why it could not be measured, when it could not. */
  note?: string;
}

export type MonitorVerdict = 'ok' | 'drift' | 'performance' | 'not_enough_traffic';

export interface MonitorReport {
  model: string;
  version: number;
  /** The training run whose dataset statistics are the reference. */
  trainingRunId: string;
  window: { since: string; until: string; minutes: number };
  drift: DriftFinding;
  live: LiveMetricFinding;
  verdict: MonitorVerdict;
  /** One line: e.g. "drift: distance JS 0.31 > 0.1". */
  reason: string;
}

/** Whether the verdict calls for an alert (and retraining). */
export const isBreach = (verdict: MonitorVerdict): verdict is 'drift' | 'performance' => verdict === 'drift' || verdict === 'performance';

const MEASURE_SHORT: Record<DriftMeasureName, string> = { l_infinity: 'L-inf', jensen_shannon: 'JS' };

/** A figure with at most 3 significant digits, as the reason shows it. */
export function formatFigure(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(3))) : String(x);
}

/** "distance JS 0.31 > 0.1" */
export function describeColumnBreach(c: ColumnDriftFigure): string {
  return `${c.column} ${MEASURE_SHORT[c.measure]} ${formatFigure(c.value ?? Number.NaN)} > ${formatFigure(c.threshold)}`;
}

/** "auc 0.68, 0.08 below the registered 0.76 (allowed 0.05)" */
export function describeLiveDrop(live: LiveMetricFinding): string {
  return `${live.metric} ${formatFigure(live.value!)} on ${live.labels} labelled rows, ${formatFigure(live.drop!)} ${live.higherIsBetter ? 'below' : 'above'} the registered ${formatFigure(live.registered!)} (allowed ${formatFigure(live.maxDrop)})`;
}

/** The verdict and its reason from the two findings: drift first (it names the columns), then the live metric. */
export function verdictOf(drift: DriftFinding, live: LiveMetricFinding, windowMinutes: number): { verdict: MonitorVerdict; reason: string } {
  const breached = drift.columns.filter((c) => c.breached).sort((a, b) => (b.value ?? 0) / b.threshold - (a.value ?? 0) / a.threshold);
  const degraded = live.status === 'degraded';
  if (drift.status === 'drift') {
    const also = degraded ? `; performance: ${describeLiveDrop(live)}` : '';
    return { verdict: 'drift', reason: `drift: ${breached.map(describeColumnBreach).join(', ')}${also}` };
  }
  if (degraded) return { verdict: 'performance', reason: `performance: ${describeLiveDrop(live)}` };
  if (drift.status === 'not_enough_traffic') {
    return {
      verdict: 'not_enough_traffic',
      reason: `not enough traffic: ${drift.rows} logged rows in the last ${windowMinutes} min, at least ${drift.minRows} needed to measure drift`,
    };
  }
  const liveNote =
    live.status === 'ok'
      ? `; ${live.metric} ${formatFigure(live.value!)} vs registered ${formatFigure(live.registered!)}`
      : live.status === 'not_enough_labels'
        ? `; ${live.labels} labelled rows (${live.minLabels} needed for the live metric)`
        : '';
  return { verdict: 'ok', reason: `no drift in ${drift.columns.length} columns over ${drift.rows} rows${liveNote}` };
}
