import { z } from 'zod';

/**
 * The `validation` section of the pipeline spec: which data checks run, how loud each one is, and
 * their thresholds. Every object is strict so that a misspelt check or threshold is reported rather
 * than silently ignored (a check that never fires looks exactly like clean data).
 *
 * A check set to 'error' fails the run, 'warn' reports and continues, 'off' does not report at all.
 * Defaults follow TFDV's ExampleValidator where it has one, and are written out in
 * DEFAULT_VALIDATION_CHECKS below.
 */

export const checkSeveritySchema = z.enum(['error', 'warn', 'off']);
export type CheckSeverity = z.infer<typeof checkSeveritySchema>;

/** The stable id of each check, as anomalies carry it (snake_case, like TFDV's anomaly types). */
export const CHECK_IDS = [
  'missing_column',
  'new_column',
  'type_change',
  'non_finite',
  'out_of_domain',
  'unseen_categories',
  'low_presence',
  'dataset_size',
  'drift',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/**
 * Where each check's severity lives in the spec; messages quote this path so that a user reads
 * exactly which field to change to accept an anomaly.
 */
export const CHECK_SEVERITY_PATH: Readonly<Record<CheckId, string>> = {
  missing_column: 'validation.missingColumn',
  new_column: 'validation.newColumn',
  type_change: 'validation.typeChange',
  non_finite: 'validation.nonFinite',
  out_of_domain: 'validation.outOfDomain.severity',
  unseen_categories: 'validation.unseenCategories.severity',
  low_presence: 'validation.lowPresence',
  dataset_size: 'validation.datasetSize.severity',
  drift: 'validation.drift.severity',
};

const fraction = z.number().min(0).max(1);

/**
 * Per-column overrides. A severity here replaces the check's own for this column only; a threshold
 * replaces the dataset-wide one (or, for minPresence, the schema's).
 */
const columnOverridesSchema = z.strictObject({
  missingColumn: checkSeveritySchema.optional(),
  newColumn: checkSeveritySchema.optional(),
  typeChange: checkSeveritySchema.optional(),
  nonFinite: checkSeveritySchema.optional(),
  outOfDomain: checkSeveritySchema.optional(),
  /** Largest fraction of finite values allowed outside the schema's domain. */
  maxOutOfDomainFraction: fraction.optional(),
  unseenCategories: checkSeveritySchema.optional(),
  /** Largest fraction of present values allowed to be categories the schema does not know. */
  maxUnseenMass: fraction.optional(),
  lowPresence: checkSeveritySchema.optional(),
  /** Smallest fraction of rows with a value (not null); replaces the schema's. */
  minPresence: fraction.optional(),
  drift: checkSeveritySchema.optional(),
  /** L-infinity (text) or Jensen–Shannon divergence (numeric) above which the column has drifted. */
  driftThreshold: fraction.optional(),
});
export type ColumnCheckOverrides = z.infer<typeof columnOverridesSchema>;

// prefault({}) rather than default(...): zod 4's default() returns its value unparsed, so the inner
// defaults would not fill in; prefault runs {} through the schema and they do.
export const validationChecksSchema = z.strictObject({
  /** A column of the schema is absent from the data: downstream transforms cannot run. */
  missingColumn: checkSeveritySchema.default('error'),
  /** The data has a column the schema does not know: harmless to the model, worth knowing. */
  newColumn: checkSeveritySchema.default('warn'),
  /** A column changed kind (number, timestamp, text): every transform of it is wrong. */
  typeChange: checkSeveritySchema.default('error'),
  /**
   * NaN or ±Infinity in a numeric column. This severity applies to feature columns, where such a
   * value poisons training; other columns are reported as warnings, and only when the schema had
   * not seen such values.
   */
  nonFinite: checkSeveritySchema.default('error'),
  outOfDomain: z
    .strictObject({
      severity: checkSeveritySchema.default('warn'),
      /** Largest fraction of finite values allowed outside the schema's [min, max]; 0 reports any. */
      maxFraction: fraction.default(0),
    })
    .prefault({}),
  unseenCategories: z
    .strictObject({
      severity: checkSeveritySchema.default('warn'),
      /** Largest fraction of present values allowed to be categories not in the schema's vocabulary. */
      maxMass: fraction.default(0.01),
    })
    .prefault({}),
  /** Fewer rows with a value than the schema's minimum presence. */
  lowPresence: checkSeveritySchema.default('warn'),
  datasetSize: z
    .strictObject({
      severity: checkSeveritySchema.default('warn'),
      /** Largest |rows − reference rows| / reference rows; 0.5 is ±50%. */
      maxRelativeChange: z.number().min(0).default(0.5),
    })
    .prefault({}),
  drift: z
    .strictObject({
      severity: checkSeveritySchema.default('warn'),
      /** L-infinity distance between category frequencies (TFDV's categorical drift). */
      categorical: fraction.default(0.1),
      /** Jensen–Shannon divergence, base 2, between numeric distributions (TFDV's numeric drift). */
      numeric: fraction.default(0.1),
      /** Most bins of the common binning the numeric divergence is computed on (see drift.ts). */
      numericBins: z.number().int().min(2).max(1000).default(20),
    })
    .prefault({}),
  /** Overrides by column name. */
  columns: z.record(z.string(), columnOverridesSchema).default({}),
});

export type ValidationChecks = z.infer<typeof validationChecksSchema>;
/** What a user may write: every field optional. */
export type ValidationChecksInput = z.input<typeof validationChecksSchema>;

/** Every check at its default. */
export const DEFAULT_VALIDATION_CHECKS: ValidationChecks = validationChecksSchema.parse({});

/** The overrides given for a column, or none (an own-property lookup, so "__proto__" is just a name). */
export function columnOverrides(checks: ValidationChecks, column: string): ColumnCheckOverrides {
  return Object.hasOwn(checks.columns, column) ? checks.columns[column]! : {};
}

/** The severity a check has for a column: the column's override, else the check's own. */
export function checkSeverity(checks: ValidationChecks, check: CheckId, column?: string): CheckSeverity {
  const overrides = column === undefined ? {} : columnOverrides(checks, column);
  switch (check) {
    case 'missing_column':
      return overrides.missingColumn ?? checks.missingColumn;
    case 'new_column':
      return overrides.newColumn ?? checks.newColumn;
    case 'type_change':
      return overrides.typeChange ?? checks.typeChange;
    case 'non_finite':
      return overrides.nonFinite ?? checks.nonFinite;
    case 'out_of_domain':
      return overrides.outOfDomain ?? checks.outOfDomain.severity;
    case 'unseen_categories':
      return overrides.unseenCategories ?? checks.unseenCategories.severity;
    case 'low_presence':
      return overrides.lowPresence ?? checks.lowPresence;
    case 'dataset_size':
      return checks.datasetSize.severity;
    case 'drift':
      return overrides.drift ?? checks.drift.severity;
  }
}

/** Where a user sets a check's severity for one column, for messages. */
export function columnSeverityPath(check: CheckId, column: string): string {
  const key = CHECK_SEVERITY_PATH[check].replace(/^validation\./, '').replace(/\.severity$/, '');
  return `validation.columns[${JSON.stringify(column)}].${key}`;
}
