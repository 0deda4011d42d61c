import path from 'node:path';
import { z } from 'zod';
import { SQL_TYPES } from '../data/load/sql-types';
import { DEFAULT_VALIDATION_CHECKS, validationChecksSchema } from '../validation/checks';
import { evaluationProblems, evaluationSpecSchema } from './evaluation-spec';
import { modelSpecSchema } from './model-spec';
import { checkTuning, tuningSpecSchema } from './tuning-spec';

/**
 * The pipeline spec: what a user writes in examples/*.json. Every object is strict so that a
 * misspelt field is reported instead of silently ignored.
 */

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain SQL identifier (letters, digits, underscore)');

/** How a numeric feature fills NULLs: a statistic of the train split, or a constant. */
const imputeSpec = z.union([z.enum(['mean', 'median', 'mostFrequent']), z.object({ constant: z.number() }).strict()], {
  error: 'must be "mean", "median", "mostFrequent" or {"constant": <number>}',
});

/**
 * A number scaled for the model. Each step is optional and off by default, so `{kind, name, column}`
 * is standardised exactly as before. Order of the steps: impute (NULLs only), clip, log1p, scale.
 */
const numericFeature = z
  .object({
    kind: z.literal('numeric'),
    name: identifier,
    column: identifier,
    /** Fill NULLs (fitted on the train split) instead of quarantining their rows at ingest. */
    impute: imputeSpec.optional(),
    /** Bounds applied before log1p and scaling, in the column's own units. */
    clip: z
      .object({ min: z.number().optional(), max: z.number().optional() })
      .strict()
      .refine((c) => c.min !== undefined || c.max !== undefined, 'give clip.min, clip.max or both (or drop clip)')
      .refine((c) => c.min === undefined || c.max === undefined || c.min <= c.max, 'clip.min must not be greater than clip.max')
      .optional(),
    /** ln(1 + x) before scaling, for long-tailed counts and amounts; needs values greater than -1. */
    log1p: z.boolean().optional(),
    /** standard: (x - mean) / std (absent means standard); minMax: (x - min) / (max - min); none: x as is. */
    scale: z.enum(['standard', 'minMax', 'none']).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.log1p !== true) return;
    if (f.clip?.min !== undefined && f.clip.min <= -1) {
      ctx.addIssue({ code: 'custom', path: ['clip', 'min'], message: 'log1p needs values greater than -1: raise clip.min above -1 (e.g. 0) or drop log1p' });
    }
    if (typeof f.impute === 'object') {
      const filled = Math.min(Math.max(f.impute.constant, f.clip?.min ?? -Infinity), f.clip?.max ?? Infinity);
      if (filled <= -1) {
        ctx.addIssue({
          code: 'custom',
          path: ['impute', 'constant'],
          message: 'log1p needs values greater than -1: impute a constant above -1 (e.g. 0) or drop log1p',
        });
      }
    }
  });

const categoricalFeature = z
  .object({
    kind: z.literal('categorical'),
    name: identifier,
    column: identifier,
    /** Keep the topK most frequent values seen in the train split; everything else shares one out-of-vocabulary slot. */
    topK: z.number().int().min(1).max(100000).default(100),
    /** Values seen fewer times than this in the train split go to the out-of-vocabulary slot too (absent means 1). */
    minCount: z.number().int().min(1).optional(),
  })
  .strict();

const hourOfDayFeature = z.object({ kind: z.literal('hourOfDay'), name: identifier, column: identifier }).strict();
const dayOfWeekFeature = z.object({ kind: z.literal('dayOfWeek'), name: identifier, column: identifier }).strict();

/** A number one-hot over `buckets` ranges cut at the train split's quantiles. */
const quantileBucketsFeature = z
  .object({
    kind: z.literal('quantileBuckets'),
    name: identifier,
    column: identifier,
    buckets: z.number().int().min(2, 'buckets must be at least 2').max(1000, 'buckets must be at most 1000'),
  })
  .strict();

/** Text one-hot over a hash of its value: no vocabulary, for columns with too many values to list. */
const hashedFeature = z
  .object({
    kind: z.literal('hashed'),
    name: identifier,
    column: identifier,
    buckets: z.number().int().min(2, 'buckets must be at least 2').max(100000, 'buckets must be at most 100000'),
  })
  .strict();

/** The combination of two or more text columns' values, hashed into `buckets`. */
const crossFeature = z
  .object({
    kind: z.literal('cross'),
    name: identifier,
    columns: z.array(identifier).min(2, 'a cross needs at least 2 columns').max(8, 'a cross takes at most 8 columns'),
    buckets: z.number().int().min(2, 'buckets must be at least 2').max(100000, 'buckets must be at most 100000'),
  })
  .strict()
  .superRefine((f, ctx) => {
    const repeated = f.columns.find((c, i) => f.columns.indexOf(c) !== i);
    if (repeated !== undefined)
      ctx.addIssue({ code: 'custom', path: ['columns'], message: `column "${repeated}" is listed twice; a cross combines different columns` });
  });

/** Calendar parts of a timestamp (UTC), each one-hot, or as a sin/cos pair when cyclical. */
export const TIMESTAMP_PARTS = ['hour', 'weekday', 'month', 'dayOfMonth'] as const;
export type TimestampPart = (typeof TIMESTAMP_PARTS)[number];

const timestampFeature = z
  .object({
    kind: z.literal('timestamp'),
    name: identifier,
    column: identifier,
    parts: z.array(z.enum(TIMESTAMP_PARTS)).min(1, `name at least one part: ${TIMESTAMP_PARTS.join(', ')}`),
    /** sin and cos of the part's angle on its cycle (2 slots per part), so 23:00 sits next to 00:00. */
    cyclical: z.boolean().default(false),
  })
  .strict()
  .superRefine((f, ctx) => {
    const repeated = f.parts.find((p, i) => f.parts.indexOf(p) !== i);
    if (repeated !== undefined) ctx.addIssue({ code: 'custom', path: ['parts'], message: `part "${repeated}" is listed twice` });
  });

export const featureSpecSchema = z.discriminatedUnion('kind', [
  numericFeature,
  categoricalFeature,
  hourOfDayFeature,
  dayOfWeekFeature,
  quantileBucketsFeature,
  hashedFeature,
  crossFeature,
  timestampFeature,
]);

/**
 * A PostgreSQL source: a table, or a query whose result is read as if it were one. How it is split
 * for parallel ingest: `key` (an integer column) at quantiles of the key, so a skewed key makes no
 * straggler; without a key, a table is split by physical block ranges (ctid) and a query by a hash of
 * `hashColumn`.
 */
const postgresSource = z
  .object({
    kind: z.literal('postgres'),
    table: identifier.optional(),
    /** A single SELECT statement; it runs read-only, once per partition, as a subquery. */
    query: z
      .string()
      .trim()
      .min(1)
      .transform((q) => q.replace(/;\s*$/, ''))
      .refine((q) => !q.includes(';'), 'must be a single SELECT statement without ";" (remove the semicolons)')
      .optional(),
    /** Integer column split at its quantiles; also the row identity behind the train/test split. */
    key: identifier.optional(),
    /** Without a key: split by a hash of this column (every partition scans the whole source). */
    hashColumn: identifier.optional(),
    partitions: z.number().int().min(1).max(256).default(4),
    /** Optional cap on rows read (first N by key); useful for quick runs. */
    limit: z.number().int().positive().optional(),
  })
  .strict()
  .superRefine((source, ctx) => {
    const problem = (path: string, message: string): void => ctx.addIssue({ code: 'custom', path: [path], message });
    if ((source.table === undefined) === (source.query === undefined)) problem('table', 'give exactly one of source.table or source.query');
    if (source.key !== undefined && source.hashColumn !== undefined) problem('hashColumn', 'give source.key or source.hashColumn, not both');
    if (source.limit !== undefined && source.key === undefined) problem('limit', 'source.limit takes the first rows by source.key; name the key column');
    if (source.query !== undefined && source.key === undefined && source.hashColumn === undefined && source.partitions > 1) {
      problem('query', 'a query is split by source.key (an integer column of its result) or source.hashColumn; set one, or set partitions to 1');
    }
  });

/**
 * A CSV or Parquet file, or every file a glob matches (read in name order), read straight into
 * shards in parallel: Parquet by row groups (split within one where that evens the work), CSV by
 * byte ranges cut at record boundaries. Rows are identified by `key` (an integer column) or else by
 * their file and row number.
 */
const fileSourceFields = {
  /** A file, or a glob such as data/trips-*.csv; relative to the working directory of the cpu pool. */
  path: z.string().trim().min(1),
  key: identifier.optional(),
  partitions: z.number().int().min(1).max(256).default(4),
};

const csvSource = z
  .object({
    kind: z.literal('csv'),
    ...fileSourceFields,
    delimiter: z.string().length(1, 'must be one character, e.g. "," or ";" (a tab is "\\t")').default(','),
    /** Column types where inference from the first rows would guess wrong, e.g. {"zip": "text"}. */
    types: z.record(identifier, z.enum(SQL_TYPES)).optional(),
  })
  .strict();

const parquetSource = z
  .object({
    kind: z.literal('parquet'),
    ...fileSourceFields,
  })
  .strict();

/**
 * How rows are split: by a seeded hash of the row's identity (default), optionally stratified by the
 * label so that each class is split in the same proportions, or by time (the latest `testFraction` of
 * rows by `timeColumn` are test, the `validationFraction` before them validation), as a model that
 * predicts the future should be evaluated. A validation split is held out of training and test both.
 */
const splitSpec = z
  .object({
    testFraction: z.number().gt(0).lt(1).default(0.2),
    validationFraction: z.number().min(0).lt(1).optional(),
    seed: z.number().int().default(42),
    stratify: z.boolean().optional(),
    timeColumn: identifier.optional(),
  })
  .strict()
  .superRefine((split, ctx) => {
    // A testFraction of 1 or more is already reported on its own field.
    if (split.testFraction < 1 && split.testFraction + (split.validationFraction ?? 0) >= 1) {
      ctx.addIssue({ code: 'custom', path: ['validationFraction'], message: 'testFraction + validationFraction must leave rows to train on (sum below 1)' });
    }
    if (split.stratify === true && split.timeColumn !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['stratify'], message: 'a time split takes the latest rows whatever their label; drop stratify or timeColumn' });
    }
  })
  .default({ testFraction: 0.2, seed: 42 });

const labelValue = z.union([z.string(), z.number()]);

/** What the model predicts from the label column: a yes/no, one of several classes, or the number itself. */
export const LABEL_TASKS = ['binary', 'multiclass', 'regression'] as const;
export type LabelTask = (typeof LABEL_TASKS)[number];

/** Classes a multiclass label may have, listed or found ("auto"); the default cap of "auto". */
export const MAX_LABEL_CLASSES = 1000;
export const DEFAULT_MAX_CLASSES = 100;

/** The fields that decide the task, and the task each implies. */
const TASK_FIELDS = [
  ['greaterThan', 'binary'],
  ['oneOf', 'binary'],
  ['classes', 'multiclass'],
] as const;

/**
 * The label, one of three tasks (`task` may be given, and must then agree with the other fields):
 *   binary      positive (1) when `column > greaterThan`, or when the value is one of `oneOf`
 *               (strings for a text column, numbers for a numeric one);
 *   multiclass  `classes`: the class values (a row with any other value is quarantined at ingest),
 *               or "auto": the distinct values of the train split, sorted, at most `maxClasses`;
 *   regression  `"task": "regression"`: the numeric column itself, standardised on the train split.
 */
const labelSpec = z
  .object({
    column: identifier,
    task: z.enum(LABEL_TASKS, { error: 'must be "binary", "multiclass" or "regression"' }).optional(),
    greaterThan: z.number().optional(),
    oneOf: z.array(labelValue).min(1).optional(),
    classes: z
      .union([z.literal('auto'), z.array(labelValue)], { error: 'must be "auto" (the values found in the train split) or a list of the class values' })
      .optional(),
    maxClasses: z.number().int().min(2, 'maxClasses must be at least 2').max(MAX_LABEL_CLASSES, `maxClasses must be at most ${MAX_LABEL_CLASSES}`).optional(),
  })
  .strict()
  .superRefine((label, ctx) => {
    const problem = (path: string[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
    const given = TASK_FIELDS.filter(([field]) => label[field] !== undefined);
    const implied = new Set(given.map(([, task]) => task));
    if (label.greaterThan !== undefined && label.oneOf !== undefined) {
      problem([], 'give exactly one of label.greaterThan (a threshold) or label.oneOf (the positive values)');
    } else if (implied.size > 1) {
      problem([], 'give label.greaterThan or label.oneOf (a binary label) or label.classes (a multiclass label), not both');
    } else if (label.task === 'regression' && given.length > 0) {
      problem(['task'], `a regression label predicts the value of the column itself; drop label.${given[0]![0]} (or choose another task)`);
    } else if (label.task !== undefined && implied.size === 1 && !(implied as Set<string>).has(label.task)) {
      const [field, task] = given[0]!;
      const fix = label.task === 'binary' ? 'give label.greaterThan or label.oneOf instead' : 'give label.classes instead';
      problem(['task'], `label.${field} makes a ${task} label, but label.task says "${label.task}": ${fix}, or drop label.task`);
    } else if (given.length === 0) {
      if (label.task === 'multiclass') {
        problem(
          ['classes'],
          'a multiclass label takes label.classes: the class values (e.g. ["early", "on_time", "late"]) or "auto" (the values of the train split)',
        );
      } else if (label.task === 'binary') {
        problem([], 'a binary label takes label.greaterThan (a threshold) or label.oneOf (the positive values)');
      } else if (label.task === undefined) {
        problem(
          [],
          'give label.greaterThan (a threshold) or label.oneOf (the positive values) for a binary label, label.classes for a multiclass one, ' +
            'or "task": "regression" to predict the column\'s value',
        );
      }
    }
    const sameKind = (field: 'oneOf' | 'classes', values: ReadonlyArray<string | number>): void => {
      if (new Set(values.map((v) => typeof v)).size > 1) problem([field], 'all strings (a text column) or all numbers (a numeric column), not both');
    };
    sameKind('oneOf', label.oneOf ?? []);
    if (Array.isArray(label.classes)) {
      const classes = label.classes;
      sameKind('classes', classes);
      if (classes.length < 2) problem(['classes'], 'a multiclass label needs at least 2 classes (one class is no prediction; two can also be a binary label)');
      if (classes.length > MAX_LABEL_CLASSES) problem(['classes'], `at most ${MAX_LABEL_CLASSES} classes, got ${classes.length}`);
      const repeated = classes.find((c, i) => classes.indexOf(c) !== i);
      if (repeated !== undefined) problem(['classes'], `class ${JSON.stringify(repeated)} is listed twice`);
    }
    if (label.maxClasses !== undefined && label.classes !== 'auto') {
      problem(['maxClasses'], 'label.maxClasses caps the classes that "classes": "auto" finds; set classes to "auto" or drop maxClasses');
    }
  })
  .transform((label): LabelRule => {
    const { column } = label;
    // A binary label is stored as it always was (no `task`), so its step keys and artifacts do not change.
    if (label.oneOf !== undefined) return { column, oneOf: label.oneOf };
    if (label.greaterThan !== undefined) return { column, greaterThan: label.greaterThan };
    if (label.classes === 'auto') return { column, task: 'multiclass', classes: 'auto', maxClasses: label.maxClasses ?? DEFAULT_MAX_CLASSES };
    if (label.classes !== undefined) return { column, task: 'multiclass', classes: label.classes };
    return { column, task: 'regression' };
  });

/** A binary label: 1 when `column > greaterThan`, or when the value is one of `oneOf`. Stored without a `task`. */
export type BinaryLabelRule = { column: string; greaterThan: number } | { column: string; oneOf: Array<string | number> };

/** A multiclass label as the spec gives it: the classes, or "auto" (found in the train split when the transform is fitted). */
export type MulticlassLabelRule =
  { column: string; task: 'multiclass'; classes: Array<string | number> } | { column: string; task: 'multiclass'; classes: 'auto'; maxClasses: number };

export interface RegressionLabelRule {
  column: string;
  task: 'regression';
}

/** How the label is derived from its column; fitted (classes found, scale learnt) and stored with the transform for serving. */
export type LabelRule = BinaryLabelRule | MulticlassLabelRule | RegressionLabelRule;

export const pipelineSpecSchema = z
  .object({
    name: identifier.describe('pipeline name; also the model name unless model.name is set'),
    source: z.discriminatedUnion('kind', [postgresSource, csvSource, parquetSource]),
    label: labelSpec,
    features: z.array(featureSpecSchema).min(1),
    split: splitSpec,
    model: modelSpecSchema,
    /** Slices, importance, cross-validation and blessing thresholds (lib/spec/evaluation-spec.ts). */
    evaluation: evaluationSpecSchema.optional(),
    /** Hyperparameter search: trials of the model section trained as child workflows (lib/spec/tuning-spec.ts). */
    tuning: tuningSpecSchema.optional(),
    /** Schema and drift checks on every run's dataset: severities and thresholds (lib/validation/checks.ts). */
    validation: validationChecksSchema.default(DEFAULT_VALIDATION_CHECKS),
    quarantine: z
      .object({
        /** Fail the run when more than this fraction of rows is malformed. */
        maxBadRowFraction: z.number().min(0).max(1).default(0.01),
      })
      .strict()
      .default({ maxBadRowFraction: 0.01 }),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.features.forEach((feature, i) => {
      if (seen.has(feature.name)) {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `duplicate feature name "${feature.name}"` });
      }
      seen.add(feature.name);
      featureColumnsOf(feature).forEach((column, j) => {
        // A cross names its columns in a list; the others in `column`.
        const path = feature.kind === 'cross' ? ['features', i, 'columns', j] : ['features', i, 'column'];
        if (column === ROW_HASH_COLUMN || column === ROW_NUMBER_COLUMN) {
          ctx.addIssue({ code: 'custom', path, message: `"${column}" is the name pipewright gives a row's identity; rename the column in the source` });
        }
        if (column === spec.label.column) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `feature "${feature.name}" reads the label column "${column}" (label leakage); drop it or pick another column`,
          });
        }
      });
    });
    for (const problem of columnUseProblems(spec.features)) ctx.addIssue({ code: 'custom', ...problem });
    if (spec.split.stratify === true && 'task' in spec.label && spec.label.task === 'regression') {
      ctx.addIssue({
        code: 'custom',
        path: ['split', 'stratify'],
        message: 'a stratified split keeps each label class in the same proportions, and a regression label has no classes; drop split.stratify',
      });
    }
    if (spec.tuning)
      for (const p of checkTuning(spec.tuning, { split: spec.split, model: spec.model, label: spec.label })) ctx.addIssue({ code: 'custom', ...p });
    if (spec.evaluation) {
      const task = 'task' in spec.label ? spec.label.task : 'binary';
      for (const problem of evaluationProblems(spec.evaluation, task, spec.features, spec.split)) ctx.addIssue({ code: 'custom', ...problem });
    }
  });

/** How a feature reads each of its columns; a shard holds a column one way only. */
type ColumnUse = 'number' | 'timestamp' | 'text';

function columnUse(feature: z.infer<typeof featureSpecSchema>): ColumnUse {
  switch (feature.kind) {
    case 'numeric':
    case 'quantileBuckets':
      return 'number';
    case 'hourOfDay':
    case 'dayOfWeek':
    case 'timestamp':
      return 'timestamp';
    case 'categorical':
    case 'hashed':
    case 'cross':
      return 'text';
  }
}

const USE_WORDS: Readonly<Record<ColumnUse, string>> = { number: 'a number', timestamp: 'a timestamp', text: 'text' };

/**
 * Features that share a column must agree on how it is read: one shard column, one type. And when
 * a numeric feature imputes a column, its NULLs reach the shard, so every other feature of that
 * column must be ready for them.
 */
function columnUseProblems(features: ReadonlyArray<z.infer<typeof featureSpecSchema>>): Array<{ path: PropertyKey[]; message: string }> {
  const problems: Array<{ path: PropertyKey[]; message: string }> = [];
  const firstUse = new Map<string, { use: ColumnUse; index: number }>();
  const imputedBy = new Map<string, number>();
  features.forEach((f, i) => {
    if (f.kind === 'numeric' && f.impute !== undefined && !imputedBy.has(f.column)) imputedBy.set(f.column, i);
  });
  features.forEach((feature, i) => {
    const use = columnUse(feature);
    featureColumnsOf(feature).forEach((column, j) => {
      const path = feature.kind === 'cross' ? ['features', i, 'columns', j] : ['features', i, 'column'];
      const first = firstUse.get(column);
      if (first === undefined) firstUse.set(column, { use, index: i });
      else if (first.use !== use) {
        problems.push({
          path,
          message:
            `column "${column}" is read as ${USE_WORDS[use]} here (${feature.kind}) but as ${USE_WORDS[first.use]} by features[${first.index}] (${features[first.index]!.kind}); ` +
            'a column is read one way: read a copy of it under another name (e.g. aliased in a source.query)',
        });
      }
      const imputer = imputedBy.get(column);
      if (imputer === undefined || imputer === i || use !== 'number') return;
      if (feature.kind === 'numeric' && feature.impute === undefined) {
        problems.push({
          path: ['features', i, 'impute'],
          message: `column "${column}" keeps its NULLs because features[${imputer}] imputes them, so this feature must impute too: add "impute" (e.g. "median")`,
        });
      } else if (feature.kind === 'quantileBuckets') {
        problems.push({
          path,
          message: `column "${column}" keeps its NULLs because features[${imputer}] imputes them, and quantileBuckets has no place for a NULL; bucket a copy without NULLs (e.g. COALESCE in a source.query)`,
        });
      }
    });
  });
  return problems;
}
export type PipelineSpec = z.infer<typeof pipelineSpecSchema>;
export type SourceSpec = PipelineSpec['source'];

/** Shard column holding the row identity of a source without a key: a hash of the row's selected values. */
export const ROW_HASH_COLUMN = '__row_hash';

/** Shard column holding the row identity of a file source without a key: its file and row number. */
export const ROW_NUMBER_COLUMN = '__row_number';

export type PostgresSourceSpec = Extract<SourceSpec, { kind: 'postgres' }>;
export type FileSourceSpec = Extract<SourceSpec, { kind: 'csv' | 'parquet' }>;

/**
 * The spec with a relative file-source path made absolute against `dir` (the spec file's folder),
 * as paths in a config file are read: the cpu pools that open the files run in a folder of their own.
 */
export function resolveSourcePath(spec: PipelineSpec, dir: string): PipelineSpec {
  if (spec.source.kind === 'postgres' || path.isAbsolute(spec.source.path)) return spec;
  return { ...spec, source: { ...spec.source, path: path.resolve(dir, spec.source.path) } };
}

/** The spec's source when it must be a PostgreSQL one (the demo and the benchmarks set its table). */
export function postgresSourceOf(spec: PipelineSpec): PostgresSourceSpec {
  if (spec.source.kind !== 'postgres') throw new Error(`spec "${spec.name}" reads a ${spec.source.kind} file, not a PostgreSQL table`);
  return spec.source;
}

/** The shard column that identifies a row (and decides its split): the key, or the row hash or number. */
export function rowIdColumn(source: SourceSpec): string {
  return source.key ?? (source.kind === 'postgres' ? ROW_HASH_COLUMN : ROW_NUMBER_COLUMN);
}

/** How a source reads in messages and summaries: the table, the path, or "query <first words>". */
export function describeSource(source: SourceSpec): string {
  if (source.kind !== 'postgres') return source.path;
  if (source.table !== undefined) return source.table;
  const q = source.query!.replace(/\s+/g, ' ');
  return `query "${q.length > 60 ? `${q.slice(0, 57)}...` : q}"`;
}

/** The values a label rule names (binary oneOf, multiclass classes); empty for a threshold, "auto" and regression. */
function labelValues(label: LabelRule): ReadonlyArray<string | number> {
  if ('oneOf' in label) return label.oneOf;
  if ('classes' in label && Array.isArray(label.classes)) return label.classes;
  return [];
}

/** Whether the label reads a text column (oneOf or classes with strings). */
export function labelIsText(label: LabelRule): boolean {
  return typeof labelValues(label)[0] === 'string';
}

/**
 * How ingest reads the label column: as a number (a threshold, numeric values, regression), as text
 * (text values), or as the column is ("classes": "auto": a numeric column's numbers, anything else's text).
 */
export function labelColumnUse(label: LabelRule): 'number' | 'text' | 'asStored' {
  if ('classes' in label && label.classes === 'auto') return 'asStored';
  return labelIsText(label) ? 'text' : 'number';
}
export type FeatureSpec = z.infer<typeof featureSpecSchema>;

/** The source columns a feature reads: its column, or a cross's columns. */
export function featureColumnsOf(feature: FeatureSpec): string[] {
  return feature.kind === 'cross' ? feature.columns : [feature.column];
}

/** A spec that failed validation; `problems` name each field by its path, e.g. `features[2].kind`. */
export class SpecError extends Error {
  constructor(
    readonly problems: string[],
    readonly origin: string,
  ) {
    super(`Invalid pipeline spec ${origin}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SpecError';
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return `${where}: unknown field ${keys}; remove it or check its spelling`;
  }
  return `${where}: ${issue.message}`;
}

/** Validates an already-parsed JSON value. Throws SpecError listing every problem. */
export function parsePipelineSpec(value: unknown, origin = '(inline)'): PipelineSpec {
  const result = pipelineSpecSchema.safeParse(value);
  if (!result.success) throw new SpecError(result.error.issues.map(describeIssue), origin);
  return result.data;
}

/** Parses JSON text and validates it; JSON syntax errors are reported as spec errors too. */
export function parsePipelineSpecText(text: string, origin = '(inline)'): PipelineSpec {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SpecError([`not valid JSON: ${(err as Error).message}`], origin);
  }
  return parsePipelineSpec(value, origin);
}

export function modelNameOf(spec: PipelineSpec): string {
  return spec.model.name ?? spec.name;
}
