import { z } from 'zod';
import { PipelineInputError } from '../errors';
import type { DatasetStatistics, NumericColumnState, StatisticsColumn, TextColumnState } from '../statistics/dataset-stats';

/**
 * The data schema, in the manner of TFX SchemaGen: what the first run's data looked like, written
 * once, reviewed (and edited) by a person, and every later dataset validated against it. It is
 * plain JSON with a format tag, so a stored schema is parsed back through parseDataSchema, which
 * rejects a hand edit that broke it instead of validating against garbage.
 */

export const SCHEMA_FORMAT = 'pipewright.schema/v1';

const fraction = z.number().min(0).max(1);
const count = z.number().int().min(0);

// zod 4's z.number() rejects ±Infinity and NaN, which JSON cannot carry anyway.
const domainSchema = z.strictObject({ min: z.number(), max: z.number() }).refine((d) => d.min <= d.max, { message: 'domain.min must not exceed domain.max' });

const numericColumnSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(['number', 'timestamp']),
  /** Smallest fraction of rows that must hold a value (not null). */
  minPresence: fraction,
  /**
   * Finite values outside [min, max] are anomalies. The observed range, widened by the inference
   * margin; null when the reference had no finite value, which leaves nothing to check against.
   */
  domain: domainSchema.nullable(),
  /** Whether the reference data held NaN / ±Infinity (then, outside features, they are not news). */
  nanSeen: z.boolean(),
  infiniteSeen: z.boolean(),
  /** What the reference data held, for people reading the schema. */
  observed: z.strictObject({ presence: fraction, min: z.number().nullable(), max: z.number().nullable() }),
});

const vocabularyEntrySchema = z.strictObject({ value: z.string(), count, fraction });

const textColumnSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.literal('text'),
  minPresence: fraction,
  /**
   * The values the column may take, with their share of the present values in the reference
   * data, most frequent first. null where the column is free text: more distinct values than the
   * inference allows, or more than the statistics counted exactly (a capped top-K cannot list them).
   */
  vocabulary: z.array(vocabularyEntrySchema).nullable(),
  observed: z.strictObject({ presence: fraction, distinct: count }),
});

const columnSchema = z.discriminatedUnion('kind', [numericColumnSchema, textColumnSchema]);

export const dataSchemaSchema = z
  .strictObject({
    format: z.literal(SCHEMA_FORMAT),
    /** Rows of the reference dataset: the baseline of the dataset-size check. */
    rows: count,
    columns: z.array(columnSchema),
  })
  .superRefine((schema, ctx) => {
    const seen = new Set<string>();
    schema.columns.forEach((column, i) => {
      if (seen.has(column.name)) ctx.addIssue({ code: 'custom', path: ['columns', i, 'name'], message: `column "${column.name}" is listed twice` });
      seen.add(column.name);
      if (column.kind === 'text' && column.vocabulary !== null) {
        const values = new Set(column.vocabulary.map((v) => v.value));
        if (values.size !== column.vocabulary.length) {
          ctx.addIssue({ code: 'custom', path: ['columns', i, 'vocabulary'], message: `column "${column.name}" lists a vocabulary value twice` });
        }
      }
    });
  });

export type DataSchema = z.infer<typeof dataSchemaSchema>;
export type ColumnSchema = DataSchema['columns'][number];
export type NumericColumnSchema = Extract<ColumnSchema, { kind: 'number' | 'timestamp' }>;
export type TextColumnSchema = Extract<ColumnSchema, { kind: 'text' }>;
export type VocabularyEntry = z.infer<typeof vocabularyEntrySchema>;

export interface InferSchemaOptions {
  /**
   * Widen each numeric domain by this fraction of its observed range on both sides (0: exactly the
   * observed [min, max], TFDV's choice; a later run's new extreme is then reported once, and
   * accepted by editing the schema).
   */
  domainMargin?: number;
  /**
   * A column that was always present must stay so (minPresence 1, as TFDV infers); one that had
   * nulls may lose this much presence (an absolute fraction) before the check fires.
   */
  presenceSlack?: number;
  /** Text columns with more distinct values than this are free text: no vocabulary is kept. */
  maxVocabulary?: number;
}

export const DEFAULT_INFER_SCHEMA_OPTIONS: Required<InferSchemaOptions> = { domainMargin: 0, presenceSlack: 0.05, maxVocabulary: 1000 };

function presenceOf(state: { count: number; missing: number }): number {
  return state.count === 0 ? 0 : (state.count - state.missing) / state.count;
}

function minPresenceFor(presence: number, slack: number): number {
  return presence === 1 ? 1 : Math.max(0, presence - slack);
}

/** Clamped, because a margin on a range near the largest double would overflow to ±Infinity, which JSON cannot hold. */
function finiteOr(v: number, fallback: number): number {
  return Number.isFinite(v) ? v : fallback;
}

function inferNumeric(name: string, state: NumericColumnState, options: Required<InferSchemaOptions>): NumericColumnSchema {
  const presence = presenceOf(state);
  let domain: NumericColumnSchema['domain'] = null;
  if (state.min !== null && state.max !== null) {
    const { min, max } = state;
    if (options.domainMargin === 0) domain = { min, max };
    else {
      // Halves first so the range of values near ±MAX_VALUE stays finite; a constant column widens by its magnitude.
      const range = 2 * (max / 2 - min / 2) || Math.abs(max) || 1;
      const pad = options.domainMargin * range;
      domain = { min: finiteOr(min - pad, -Number.MAX_VALUE), max: finiteOr(max + pad, Number.MAX_VALUE) };
    }
  }
  return {
    name,
    kind: state.kind,
    minPresence: minPresenceFor(presence, options.presenceSlack),
    domain,
    nanSeen: state.nan > 0,
    infiniteSeen: state.infinite > 0,
    observed: { presence, min: state.min, max: state.max },
  };
}

function inferText(name: string, state: TextColumnState, options: Required<InferSchemaOptions>): TextColumnSchema {
  const presence = presenceOf(state);
  const present = state.count - state.missing;
  const vocabulary =
    state.capped || state.top.length > options.maxVocabulary
      ? null
      : state.top.map(([value, n]) => ({ value, count: n, fraction: present === 0 ? 0 : n / present }));
  return {
    name,
    kind: 'text',
    minPresence: minPresenceFor(presence, options.presenceSlack),
    vocabulary,
    // Exact when not capped; when capped, the values still known exactly is a lower bound (the
    // HyperLogLog estimate lives in the summary, not needed here).
    observed: { presence, distinct: state.top.length },
  };
}

/** The schema of a reference dataset (a first run's statistics). */
export function inferSchema(stats: DatasetStatistics, options: InferSchemaOptions = {}): DataSchema {
  const o: Required<InferSchemaOptions> = { ...DEFAULT_INFER_SCHEMA_OPTIONS, ...stripUndefined(options) };
  if (!(o.domainMargin >= 0 && Number.isFinite(o.domainMargin))) throw new RangeError(`domainMargin must be a finite number ≥ 0, got ${o.domainMargin}`);
  if (!(o.presenceSlack >= 0 && o.presenceSlack <= 1)) throw new RangeError(`presenceSlack must be in [0, 1], got ${o.presenceSlack}`);
  if (!(Number.isInteger(o.maxVocabulary) && o.maxVocabulary >= 0)) throw new RangeError(`maxVocabulary must be an integer ≥ 0, got ${o.maxVocabulary}`);
  return {
    format: SCHEMA_FORMAT,
    rows: stats.rows,
    columns: Object.entries(stats.columns).map(([name, state]): ColumnSchema =>
      state.kind === 'text' ? inferText(name, state, o) : inferNumeric(name, state, o),
    ),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The column of that name, or undefined. */
export function schemaColumn(schema: DataSchema, name: string): ColumnSchema | undefined {
  return schema.columns.find((c) => c.name === name);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where =
    issue.path.length === 0 ? '(top level)' : issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove it or check its spelling`;
  return `${where}: ${issue.message}`;
}

/**
 * A stored schema read back (JSON.parse'd). Throws PipelineInputError naming every problem, since
 * a schema is a file people edit to accept anomalies, and a broken edit is theirs to fix.
 */
export function parseDataSchema(value: unknown, origin = '(inline)'): DataSchema {
  const result = dataSchemaSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map(describeIssue);
    throw new PipelineInputError(
      `Invalid data schema ${origin}:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix the schema file, or delete it to infer a new one.`,
    );
  }
  return result.data;
}

/**
 * Columns for the next run's statistics whose fixed histogram has the schema's domain as its outer
 * edges: its `below` and `above` then count the out-of-domain values exactly, and the out_of_domain
 * check uses them instead of the sketch's estimate. A constant domain (min = max) cannot be edges
 * and keeps the estimate; so does a column without a domain.
 */
export function statisticsColumnsFor(schema: DataSchema): StatisticsColumn[] {
  return schema.columns.map((c): StatisticsColumn => {
    if (c.kind === 'text' || c.domain === null || !(c.domain.min < c.domain.max)) return { name: c.name, kind: c.kind };
    return { name: c.name, kind: c.kind, histogramEdges: [c.domain.min, c.domain.max] };
  });
}
