import type { ColumnKind } from '../data/source-schema';
import type { ColumnStatistics, DatasetStatistics, NumericColumnState, TextColumnState } from '../statistics/dataset-stats';
import {
  CHECK_SEVERITY_PATH,
  checkSeverity,
  columnOverrides,
  columnSeverityPath,
  DEFAULT_VALIDATION_CHECKS,
  type CheckId,
  type ValidationChecks,
} from './checks';
import { formatCategory, formatCount, formatPercent, formatValue } from './format-values';
import { atomError, atomInterval, numericAtoms } from './numeric-atoms';
import type { DataSchema, NumericColumnSchema, TextColumnSchema } from './schema';

/**
 * ExampleValidator over the statistics: each check compares one thing the schema promises with
 * what the new dataset's statistics hold. Pure and deterministic: the same schema, statistics and
 * checks give the same anomalies in the same order (dataset first, then columns in schema order,
 * then new columns in statistics order).
 */

export type AnomalySeverity = 'error' | 'warning';

export interface Anomaly {
  /** Stable id, one of CHECK_IDS. */
  check: CheckId;
  /** Absent for dataset-level anomalies. */
  column?: string;
  severity: AnomalySeverity;
  /** What was found, how much, against which threshold, and how to fix it or accept it. */
  message: string;
  /** The measured quantity (a fraction, a relative change, a distance), where there is one. */
  value?: number;
  threshold?: number;
}

export interface ValidateOptions {
  /**
   * Columns the model reads. NaN or ±Infinity in one of them is reported at the nonFinite
   * severity; in any other column at most as a warning, and only when new since the schema.
   * Without this list every column counts as a feature (the strict reading).
   */
  featureColumns?: readonly string[];
  /**
   * Rows of the previous dataset. The dataset-size check compares with it when given (the change
   * since the last run is what a partial load shows as), else with the schema's reference rows.
   */
  previousRows?: number;
}

/** The severity an anomaly is reported at, or null for 'off'. */
function reported(checks: ValidationChecks, check: CheckId, column?: string): AnomalySeverity | null {
  const s = checkSeverity(checks, check, column);
  return s === 'off' ? null : s === 'error' ? 'error' : 'warning';
}

/** The sentence that tells a user how to silence a check for one column. */
function offHint(check: CheckId, column: string): string {
  return `set ${columnSeverityPath(check, column)} to 'off'`;
}

function quote(column: string): string {
  return JSON.stringify(column);
}

/** Validates a dataset's statistics against the schema; an empty list is a clean dataset. */
export function validateAgainstSchema(
  schema: DataSchema,
  stats: DatasetStatistics,
  checks: ValidationChecks = DEFAULT_VALIDATION_CHECKS,
  options: ValidateOptions = {},
): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const size = datasetSizeAnomaly(schema, stats, checks, options);
  if (size !== null) anomalies.push(size);
  const features = options.featureColumns === undefined ? null : new Set(options.featureColumns);
  const known = new Set<string>();
  for (const column of schema.columns) {
    known.add(column.name);
    const state = Object.hasOwn(stats.columns, column.name) ? stats.columns[column.name] : undefined;
    if (state === undefined) {
      const severity = reported(checks, 'missing_column', column.name);
      if (severity !== null) {
        anomalies.push({
          check: 'missing_column',
          column: column.name,
          severity,
          message:
            `Column ${quote(column.name)} (${column.kind}) is in the schema but not in the data. Restore it in the source (or source.query), ` +
            `or accept its removal: delete it from the schema, or ${offHint('missing_column', column.name)}.`,
        });
      }
      continue;
    }
    anomalies.push(...columnAnomalies(column, state, checks, features === null || features.has(column.name)));
  }
  for (const [name, state] of Object.entries(stats.columns)) {
    if (known.has(name)) continue;
    const severity = reported(checks, 'new_column', name);
    if (severity === null) continue;
    anomalies.push({
      check: 'new_column',
      column: name,
      severity,
      message:
        `Column ${quote(name)} (${state.kind}) is in the data but not in the schema, so none of its values are checked. ` +
        `If it is meant to stay, add it to the schema (or infer a new schema); else drop it from the source, or ${offHint('new_column', name)}.`,
    });
  }
  return anomalies;
}

function datasetSizeAnomaly(schema: DataSchema, stats: DatasetStatistics, checks: ValidationChecks, options: ValidateOptions): Anomaly | null {
  const severity = reported(checks, 'dataset_size');
  const reference = options.previousRows ?? schema.rows;
  // No relative change exists from an empty reference; the row count itself is checkDataset's business.
  if (severity === null || reference === 0) return null;
  const change = (stats.rows - reference) / reference;
  const threshold = checks.datasetSize.maxRelativeChange;
  if (!(Math.abs(change) > threshold)) return null;
  const against = options.previousRows !== undefined ? 'the previous dataset' : "the schema's reference dataset";
  return {
    check: 'dataset_size',
    severity,
    value: change,
    threshold,
    message:
      `The dataset has ${formatCount(stats.rows)} rows, ${formatPercent(Math.abs(change))} ${change < 0 ? 'fewer' : 'more'} than the ` +
      `${formatCount(reference)} of ${against} (allowed change: ±${formatPercent(threshold)}). Check the source for a changed filter or a partial load; ` +
      `if the change is expected, raise ${CHECK_SEVERITY_PATH.dataset_size.replace(/severity$/, 'maxRelativeChange')} or set ${CHECK_SEVERITY_PATH.dataset_size} to 'off'.`,
  };
}

function columnAnomalies(column: DataSchema['columns'][number], state: ColumnStatistics, checks: ValidationChecks, isFeature: boolean): Anomaly[] {
  if (column.kind !== state.kind) {
    const severity = reported(checks, 'type_change', column.name);
    if (severity === null) return [];
    // The other checks compare like with like; across kinds they would only repeat this one.
    return [
      {
        check: 'type_change',
        column: column.name,
        severity,
        message:
          `Column ${quote(column.name)} is ${state.kind} in the data but ${column.kind} in the schema; its other checks are skipped. ` +
          `Cast it back to ${column.kind} in the source (e.g. in source.query), or accept the change by setting its kind in the schema (infer a new schema).`,
      },
    ];
  }
  const out: Anomaly[] = [];
  const presence = presenceAnomaly(column, state, checks);
  if (presence !== null) out.push(presence);
  if (column.kind === 'text' && state.kind === 'text') {
    const unseen = unseenCategoriesAnomaly(column, state, checks);
    if (unseen !== null) out.push(unseen);
  } else if (column.kind !== 'text' && state.kind !== 'text') {
    const nonFinite = nonFiniteAnomaly(column, state, checks, isFeature);
    if (nonFinite !== null) out.push(nonFinite);
    const domain = outOfDomainAnomaly(column, state, checks);
    if (domain !== null) out.push(domain);
  }
  return out;
}

function presenceAnomaly(column: DataSchema['columns'][number], state: ColumnStatistics, checks: ValidationChecks): Anomaly | null {
  const severity = reported(checks, 'low_presence', column.name);
  if (severity === null || state.count === 0) return null;
  const override = columnOverrides(checks, column.name).minPresence;
  const threshold = override ?? column.minPresence;
  const presence = (state.count - state.missing) / state.count;
  if (!(presence < threshold)) return null;
  const accept =
    override !== undefined
      ? `lower validation.columns[${quote(column.name)}].minPresence`
      : `lower the column's minPresence in the schema (or set validation.columns[${quote(column.name)}].minPresence)`;
  return {
    check: 'low_presence',
    column: column.name,
    severity,
    value: presence,
    threshold,
    message:
      `Column ${quote(column.name)} has a value in ${formatPercent(presence)} of rows (${formatCount(state.missing)} of ${formatCount(state.count)} are null), ` +
      `under the minimum presence of ${formatPercent(threshold)}. Fix the nulls at the source, or accept them: ${accept}, or ${offHint('low_presence', column.name)}.`,
  };
}

function nonFiniteAnomaly(column: NumericColumnSchema, state: NumericColumnState, checks: ValidationChecks, isFeature: boolean): Anomaly | null {
  const configured = reported(checks, 'non_finite', column.name);
  const bad = state.nan + state.infinite;
  if (configured === null || bad === 0) return null;
  // Outside the features such values reach no model: worth a word only when they are new.
  const isNew = (state.nan > 0 && !column.nanSeen) || (state.infinite > 0 && !column.infiniteSeen);
  if (!isFeature && !isNew) return null;
  const severity: AnomalySeverity = isFeature ? configured : 'warning';
  const present = state.count - state.missing;
  const fraction = bad / present;
  const parts = [state.nan > 0 ? `${formatCount(state.nan)} NaN` : '', state.infinite > 0 ? `${formatCount(state.infinite)} infinite` : ''].filter(
    (p) => p !== '',
  );
  const why = isFeature
    ? 'a feature column must be finite, or training produces NaN weights'
    : 'the schema had seen none (the column is not a feature, so this is a warning)';
  return {
    check: 'non_finite',
    column: column.name,
    severity,
    value: fraction,
    threshold: 0,
    message:
      `Column ${quote(column.name)} holds ${parts.join(' and ')} ${bad === 1 ? 'value' : 'values'} (${formatPercent(fraction)} of its ${formatCount(present)} non-null values); ${why}. ` +
      `Filter or impute them in the source (e.g. NULLIF in source.query), or accept them: ${offHint('non_finite', column.name)}.`,
  };
}

export interface OutOfDomainCount {
  /** Values known to lie below min / above max: exact when `exact`, else lower bounds. */
  below: number;
  above: number;
  /** Upper bounds of the same counts (equal to them when exact). */
  belowMax: number;
  aboveMax: number;
  exact: boolean;
}

/**
 * Finite values outside [min, max].
 *
 * Exact when the statistics kept a fixed histogram whose outer edges are the domain
 * (statisticsColumnsFor sets that up: its `below` and `above` count them), or when the exact min
 * and max show nothing outside. Otherwise bounded from the sketch buckets: a bucket whose whole
 * interval (see atomInterval) lies outside counts in full, one that straddles a bound counts
 * towards the upper bound only; and where the exact min or max lies outside, at least one value
 * does. The bounds are equal unless values sit within the sketch's error of a bound (1% of the
 * value for numbers at the default accuracy).
 */
export function countOutOfDomain(state: NumericColumnState, domain: { min: number; max: number }): OutOfDomainCount {
  const none: OutOfDomainCount = { below: 0, above: 0, belowMax: 0, aboveMax: 0, exact: true };
  if (state.finite === 0 || state.min === null || state.max === null) return none;
  const lowOut = state.min < domain.min;
  const highOut = state.max > domain.max;
  if (!lowOut && !highOut) return none;
  const fixed = state.fixed;
  if (fixed !== null && fixed.edges[0] === domain.min && fixed.edges[fixed.edges.length - 1] === domain.max) {
    return { below: fixed.below, above: fixed.above, belowMax: fixed.below, aboveMax: fixed.above, exact: true };
  }
  const interval = atomInterval(state);
  let below = 0;
  let belowUnsure = 0;
  let above = 0;
  let aboveUnsure = 0;
  for (const [value, n] of numericAtoms(state)) {
    const [lo, hi] = interval(value);
    if (lowOut && lo < domain.min) {
      if (hi < domain.min) below += n;
      else belowUnsure += n;
    }
    if (highOut && hi > domain.max) {
      if (lo > domain.max) above += n;
      else aboveUnsure += n;
    }
  }
  const result = {
    below: lowOut ? Math.max(below, 1) : 0,
    above: highOut ? Math.max(above, 1) : 0,
    belowMax: lowOut ? Math.max(below + belowUnsure, 1) : 0,
    aboveMax: highOut ? Math.max(above + aboveUnsure, 1) : 0,
  };
  return { ...result, exact: result.below === result.belowMax && result.above === result.aboveMax };
}

function outOfDomainAnomaly(column: NumericColumnSchema, state: NumericColumnState, checks: ValidationChecks): Anomaly | null {
  const severity = reported(checks, 'out_of_domain', column.name);
  if (severity === null || column.domain === null || state.finite === 0) return null;
  const count = countOutOfDomain(state, column.domain);
  const outside = count.below + count.above;
  const upTo = count.belowMax + count.aboveMax;
  // The lower bound decides: an anomaly is reported only when the data shows it for certain.
  const fraction = outside / state.finite;
  const override = columnOverrides(checks, column.name).maxOutOfDomainFraction;
  const threshold = override ?? checks.outOfDomain.maxFraction;
  if (outside === 0 || !(fraction > threshold)) return null;
  const kind: ColumnKind = column.kind;
  const range = (lo: number, hi: number): string => `[${formatValue(kind, lo)}, ${formatValue(kind, hi)}]`;
  const error = atomError(state);
  const howMany = count.exact ? formatCount(outside) : `${formatCount(outside)} to ${formatCount(upTo)}`;
  const estimate = count.exact
    ? ''
    : ` (a range: the statistics' quantile sketch cannot place values within ${error.kind === 'relative' ? formatPercent(error.bound) : `${formatValue('number', error.bound)} ms`} of a bound)`;
  const sides = [count.below > 0 ? `${formatCount(count.below)} below` : '', count.above > 0 ? `${formatCount(count.above)} above` : '']
    .filter((s) => s !== '')
    .join(', ');
  return {
    check: 'out_of_domain',
    column: column.name,
    severity,
    value: fraction,
    threshold,
    message:
      `Column ${quote(column.name)}: ${howMany} of ${formatCount(state.finite)} finite values (${formatPercent(fraction)}; ${sides}) ` +
      `lie outside the schema's domain ${range(column.domain.min, column.domain.max)}${estimate}; this data spans ${range(state.min!, state.max!)}, ` +
      `and ${formatPercent(threshold)} is allowed. Fix the source data, or accept the values by widening the column's domain in the schema ` +
      `or raising validation.columns[${quote(column.name)}].maxOutOfDomainFraction.`,
  };
}

function unseenCategoriesAnomaly(column: TextColumnSchema, state: TextColumnState, checks: ValidationChecks): Anomaly | null {
  const severity = reported(checks, 'unseen_categories', column.name);
  const present = state.count - state.missing;
  // A free-text column (no vocabulary) has no categories to be new.
  if (severity === null || column.vocabulary === null || present === 0) return null;
  const vocabulary = new Set(column.vocabulary.map((v) => v.value));
  const unseen = state.top.filter(([value]) => !vocabulary.has(value));
  const mass = unseen.reduce((sum, [, n]) => sum + n, 0) / present;
  const override = columnOverrides(checks, column.name).maxUnseenMass;
  const threshold = override ?? checks.unseenCategories.maxMass;
  if (unseen.length === 0 || !(mass > threshold)) return null;
  // state.top is ranked by count, so the examples are the heaviest new values.
  const examples = unseen
    .slice(0, 3)
    .map(([value, n]) => `${formatCategory(value)} (${formatCount(n)})`)
    .join(', ');
  const uncounted =
    state.capped && state.other > 0
      ? ` A further ${formatCount(state.other)} values fell past the statistics' top-K cap and were not compared; they may hold more new categories.`
      : '';
  return {
    check: 'unseen_categories',
    column: column.name,
    severity,
    value: mass,
    threshold,
    message:
      `Column ${quote(column.name)}: ${formatPercent(mass)} of its ${formatCount(present)} values are ${formatCount(unseen.length)} ` +
      `${unseen.length === 1 ? 'category' : 'categories'} the schema does not know, e.g. ${examples}; ${formatPercent(threshold)} is allowed.${uncounted} ` +
      `If they are valid, add them to the column's vocabulary in the schema (or raise validation.columns[${quote(column.name)}].maxUnseenMass); else fix the source.`,
  };
}

/** Counts by severity. */
export function countAnomalies(anomalies: readonly Anomaly[]): { errors: number; warnings: number } {
  let errors = 0;
  for (const a of anomalies) if (a.severity === 'error') errors++;
  return { errors, warnings: anomalies.length - errors };
}
