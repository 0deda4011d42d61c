import { z } from 'zod';
import { DEFAULT_VALIDATION_CHECKS, validationChecksSchema } from '../validation/checks';

/**
 * The pipeline spec: what a user writes in examples/*.json. Every object is strict so that a
 * misspelt field is reported instead of silently ignored.
 */

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain SQL identifier (letters, digits, underscore)');

const numericFeature = z
  .object({
    kind: z.literal('numeric'),
    name: identifier,
    column: identifier,
  })
  .strict();

const categoricalFeature = z
  .object({
    kind: z.literal('categorical'),
    name: identifier,
    column: identifier,
    /** Keep the topK most frequent values seen in the train split; everything else shares one out-of-vocabulary slot. */
    topK: z.number().int().min(1).max(100000).default(100),
  })
  .strict();

const hourOfDayFeature = z.object({ kind: z.literal('hourOfDay'), name: identifier, column: identifier }).strict();
const dayOfWeekFeature = z.object({ kind: z.literal('dayOfWeek'), name: identifier, column: identifier }).strict();

export const featureSpecSchema = z.discriminatedUnion('kind', [numericFeature, categoricalFeature, hourOfDayFeature, dayOfWeekFeature]);

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

const labelValue = z.union([z.string(), z.number()]);

/**
 * The label: positive (1) when `column > greaterThan`, or when the column's value is one of
 * `oneOf` (strings for a text column, numbers for a numeric one).
 */
const labelSpec = z
  .object({
    column: identifier,
    greaterThan: z.number().optional(),
    oneOf: z.array(labelValue).min(1).optional(),
  })
  .strict()
  .superRefine((label, ctx) => {
    if ((label.greaterThan === undefined) === (label.oneOf === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of label.greaterThan (a threshold) or label.oneOf (the positive values)' });
    }
    const kinds = new Set((label.oneOf ?? []).map((v) => typeof v));
    if (kinds.size > 1) ctx.addIssue({ code: 'custom', path: ['oneOf'], message: 'all strings (a text column) or all numbers (a numeric column), not both' });
  })
  .transform((label): LabelRule =>
    label.oneOf !== undefined ? { column: label.column, oneOf: label.oneOf } : { column: label.column, greaterThan: label.greaterThan! },
  );

/** How the label is derived from its column; stored with the fitted transform for serving. */
export type LabelRule = { column: string; greaterThan: number } | { column: string; oneOf: Array<string | number> };

export const pipelineSpecSchema = z
  .object({
    name: identifier.describe('pipeline name; also the model name unless model.name is set'),
    source: postgresSource,
    label: labelSpec,
    features: z.array(featureSpecSchema).min(1),
    split: z
      .object({
        testFraction: z.number().gt(0).lt(1).default(0.2),
        seed: z.number().int().default(42),
      })
      .strict()
      .default({ testFraction: 0.2, seed: 42 }),
    model: z
      .object({
        name: identifier.optional(),
        type: z.enum(['logistic', 'mlp']).default('mlp'),
        hidden: z.array(z.number().int().min(1).max(4096)).default([32]),
        epochs: z.number().int().min(1).max(1000).default(2),
        batchSize: z
          .number()
          .int()
          .min(1)
          .max(1 << 20)
          .default(4096),
        learningRate: z.number().positive().default(0.01),
        seed: z.number().int().default(7),
      })
      .strict(),
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
      if (feature.column === ROW_HASH_COLUMN) {
        ctx.addIssue({
          code: 'custom',
          path: ['features', i, 'column'],
          message: `"${ROW_HASH_COLUMN}" is the name pipewright gives the row hash; alias the column in a source.query`,
        });
      }
      if (feature.column === spec.label.column) {
        ctx.addIssue({
          code: 'custom',
          path: ['features', i, 'column'],
          message: `feature "${feature.name}" reads the label column "${feature.column}" (label leakage); drop it or pick another column`,
        });
      }
    });
  });

export type PipelineSpec = z.infer<typeof pipelineSpecSchema>;
export type SourceSpec = PipelineSpec['source'];

/** Shard column holding the row identity of a source without a key: a hash of the row's selected values. */
export const ROW_HASH_COLUMN = '__row_hash';

/** The shard column that identifies a row (and decides its split): the key, or the row hash. */
export function rowIdColumn(source: SourceSpec): string {
  return source.key ?? ROW_HASH_COLUMN;
}

/** How a source reads in messages and summaries: the table, or "query <first words>". */
export function describeSource(source: SourceSpec): string {
  if (source.table !== undefined) return source.table;
  const q = source.query!.replace(/\s+/g, ' ');
  return `query "${q.length > 60 ? `${q.slice(0, 57)}...` : q}"`;
}

/** Whether the label reads a text column (oneOf with strings). */
export function labelIsText(label: LabelRule): boolean {
  return 'oneOf' in label && typeof label.oneOf[0] === 'string';
}
export type FeatureSpec = z.infer<typeof featureSpecSchema>;

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
