import { PipelineInputError } from '../errors';
import type { DatasetStatistics } from '../statistics/dataset-stats';
import { countAnomalies, validateAgainstSchema, type Anomaly } from './anomalies';
import { DEFAULT_VALIDATION_CHECKS, type ValidationChecks } from './checks';
import { computeDrift, describeDrift, type ColumnDrift } from './drift';
import { formatCount, formatDistance } from './format-values';
import type { DataSchema } from './schema';

/**
 * The validation stage's artifact: every anomaly of the new dataset against the schema and, when
 * there is a previous dataset, the drift since it. Plain JSON, small (one entry per column and per
 * anomaly), so its ref and counts can travel in a workflow while the report itself is stored.
 */

export const VALIDATION_REPORT_FORMAT = 'pipewright.validation/v1';

export interface ValidationReport {
  format: typeof VALIDATION_REPORT_FORMAT;
  /** Rows of the validated dataset, of the schema's reference dataset, and of the previous one (null when none). */
  rows: number;
  schemaRows: number;
  previousRows: number | null;
  /** No anomaly of severity error. */
  passed: boolean;
  errors: number;
  warnings: number;
  /** Schema anomalies first (dataset, then columns in schema order, then new columns), then drift. */
  anomalies: Anomaly[];
  /** Per column shared with the previous dataset; empty without one. */
  drift: ColumnDrift[];
}

export interface ValidationInput {
  schema: DataSchema;
  stats: DatasetStatistics;
  /** The previous dataset's statistics: the baseline of drift and of the dataset-size check. */
  previous?: DatasetStatistics;
  checks?: ValidationChecks;
  /** Columns the model reads (see ValidateOptions.featureColumns). */
  featureColumns?: readonly string[];
}

export function buildValidationReport({ schema, stats, previous, checks = DEFAULT_VALIDATION_CHECKS, featureColumns }: ValidationInput): ValidationReport {
  const anomalies = validateAgainstSchema(schema, stats, checks, { featureColumns, previousRows: previous?.rows });
  const drift = previous === undefined ? { columns: [], anomalies: [] } : computeDrift(previous, stats, checks);
  const all = [...anomalies, ...drift.anomalies];
  const { errors, warnings } = countAnomalies(all);
  return {
    format: VALIDATION_REPORT_FORMAT,
    rows: stats.rows,
    schemaRows: schema.rows,
    previousRows: previous?.rows ?? null,
    passed: errors === 0,
    errors,
    warnings,
    anomalies: all,
    drift: drift.columns,
  };
}

function plural(n: number, word: string): string {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
function table(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

const MEASURE_NAMES = { l_infinity: 'L-infinity', jensen_shannon: 'Jensen-Shannon' } as const;

/**
 * The report as the CLI prints it: a summary line, one line per anomaly (errors first, each with
 * its column and check), then the drift table.
 */
export function formatValidationReport(report: ValidationReport): string {
  const verdict = report.passed ? (report.warnings === 0 ? 'PASSED' : 'PASSED with warnings') : 'FAILED';
  const baselines = [`schema: ${formatCount(report.schemaRows)}`, ...(report.previousRows === null ? [] : [`previous: ${formatCount(report.previousRows)}`])];
  const lines = [
    `Data validation ${verdict}: ${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')} over ${plural(report.rows, 'row')} (${baselines.join(', ')})`,
  ];
  if (report.anomalies.length > 0) {
    lines.push('');
    // Errors first, keeping the report's own order within a severity (sort is stable).
    const ordered = [...report.anomalies].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
    lines.push(...table(ordered.map((a) => [a.severity === 'error' ? 'ERROR' : 'WARNING', a.column ?? '(dataset)', a.check, a.message])));
  }
  if (report.drift.length > 0) {
    lines.push('', 'Drift since the previous dataset:');
    const rows = [['column', 'measure', 'distance', 'threshold', 'status', 'detail']];
    for (const d of report.drift) {
      const status = d.distance === null ? 'n/a' : d.drifted ? 'DRIFTED' : 'ok';
      rows.push([
        d.column,
        MEASURE_NAMES[d.measure],
        d.distance === null ? '-' : formatDistance(d.distance),
        formatDistance(d.threshold),
        status,
        describeDrift(d),
      ]);
    }
    lines.push(...table(rows));
  } else if (report.previousRows === null) {
    lines.push('', 'Drift: no previous dataset to compare with.');
  }
  return lines.join('\n');
}

/**
 * Throws when the report has errors: a PipelineInputError (non-retryable: the data, not the
 * worker, is at fault) naming each error and how to fix or accept it.
 */
export function assertValidationPassed(report: ValidationReport): void {
  if (report.passed) return;
  const errors = report.anomalies.filter((a) => a.severity === 'error');
  throw new PipelineInputError(
    `Data validation failed with ${plural(errors.length, 'error')}:\n${errors.map((a) => `  - [${a.check}${a.column === undefined ? '' : ` ${a.column}`}] ${a.message}`).join('\n')}`,
  );
}
