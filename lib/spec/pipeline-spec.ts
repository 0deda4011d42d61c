import { z } from 'zod';

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

export const pipelineSpecSchema = z
  .object({
    name: identifier.describe('pipeline name; also the model name unless model.name is set'),
    source: z
      .object({
        kind: z.literal('postgres'),
        table: identifier,
        /** Integer column used to split the table into key ranges for parallel ingest. */
        key: identifier,
        partitions: z.number().int().min(1).max(256).default(4),
        /** Optional cap on rows read (first N by key); useful for quick runs. */
        limit: z.number().int().positive().optional(),
      })
      .strict(),
    label: z
      .object({
        column: identifier,
        /** The positive class is `column > greaterThan`. */
        greaterThan: z.number(),
      })
      .strict(),
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
