import { z } from 'zod';
import { higherIsBetter, metricNames, type MetricTask } from '../../contracts/metric-names';

/**
 * The spec's `evaluation` section: slices, permutation importance, cross-validation and the
 * blessing thresholds a model must pass before it is deployed. Every part is optional; a spec
 * without the section is evaluated on its test split and always deployed, as before.
 */

/** Features whose encoded code is a category, so each code is a slice. */
export const SLICEABLE_KINDS = ['categorical', 'hashed', 'cross', 'quantileBuckets', 'hourOfDay', 'dayOfWeek'] as const;

const sliceSpec = z
  .object({
    /** A feature of the spec (by name) whose values are categories. */
    feature: z.string().min(1),
    /** The values with the most test rows; the rest are counted together. */
    top: z.number().int().min(1).max(1000).default(10),
  })
  .strict();

/**
 * A threshold on one metric. `min`/`max` bound the value itself; `vsProduction` bounds the change
 * against the production model measured on the same test rows: the candidate may trail production
 * by at most `tolerance` (in the metric's units, or as a fraction of production's value when
 * `relative`); a negative tolerance demands an improvement. Which way is worse comes from the
 * metric (contracts/metric-names.ts). The first model of a name has no production to compare with,
 * so its change thresholds pass.
 */
export const thresholdSpec = z
  .object({
    metric: z.string().min(1),
    min: z.number().optional(),
    max: z.number().optional(),
    vsProduction: z
      .object({
        tolerance: z.number(),
        relative: z.boolean().default(false),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((t) => t.min !== undefined || t.max !== undefined || t.vsProduction !== undefined, {
    message: 'a threshold needs min, max or vsProduction (e.g. {"metric": "auc", "min": 0.6})',
  })
  .refine((t) => t.min === undefined || t.max === undefined || t.min <= t.max, { message: 'min must not be greater than max', path: ['min'] });
export type ThresholdSpec = z.infer<typeof thresholdSpec>;

export const evaluationSpecSchema = z
  .object({
    slices: z.array(sliceSpec).max(20).default([]),
    /** Permutation feature importance on (a sample of) the test split. */
    importance: z
      .object({
        repeats: z.number().int().min(1).max(50).default(3),
        maxRows: z.number().int().min(100).max(10_000_000).default(100_000),
        seed: z.number().int().default(1),
      })
      .strict()
      .optional(),
    /** k-fold cross-validation of the train split, folds in parallel; the test split stays held out. */
    crossValidation: z
      .object({
        folds: z.number().int().min(2, 'crossValidation.folds must be at least 2').max(20, 'crossValidation.folds must be at most 20'),
        /** Each fold holds each class in the same proportion (classification only; default on for it). */
        stratify: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** A model is deployed only when every threshold passes; otherwise it is registered, not deployed. */
    blessing: z
      .object({ thresholds: z.array(thresholdSpec).min(1) })
      .strict()
      .optional(),
  })
  .strict();
export type EvaluationSpec = z.infer<typeof evaluationSpecSchema>;

/**
 * What the evaluation section asks that the rest of the spec cannot give: a slice over a feature
 * that does not exist or is not a category, a threshold on a metric the label's task does not
 * compute, cross-validation of a time split or stratified folds of a regression label.
 */
export function evaluationProblems(
  evaluation: EvaluationSpec,
  task: MetricTask,
  features: ReadonlyArray<{ name: string; kind: string }>,
  split: { timeColumn?: string | undefined },
): Array<{ path: PropertyKey[]; message: string }> {
  const problems: Array<{ path: PropertyKey[]; message: string }> = [];
  evaluation.slices.forEach((slice, i) => {
    const feature = features.find((f) => f.name === slice.feature);
    const path = ['evaluation', 'slices', i, 'feature'];
    if (!feature) problems.push({ path, message: `no feature named "${slice.feature}" to slice by (features: ${features.map((f) => f.name).join(', ')})` });
    else if (!(SLICEABLE_KINDS as readonly string[]).includes(feature.kind)) {
      problems.push({
        path,
        message: `feature "${slice.feature}" is ${feature.kind}, whose values are not categories; slice by a ${SLICEABLE_KINDS.join(', ')} feature (a quantileBuckets feature of the same column slices a number)`,
      });
    }
  });
  evaluation.blessing?.thresholds.forEach((threshold, i) => {
    if (higherIsBetter(task, threshold.metric) === undefined) {
      problems.push({
        path: ['evaluation', 'blessing', 'thresholds', i, 'metric'],
        message: `a ${task} model has no metric "${threshold.metric}"; its metrics are ${metricNames(task).join(', ')}`,
      });
    }
  });
  if (evaluation.crossValidation && split.timeColumn !== undefined) {
    problems.push({
      path: ['evaluation', 'crossValidation'],
      message:
        'cross-validation folds rows by hash, and a time split holds out the latest rows; folds of a time series need forward-chaining validation, which pipewright does not do yet: drop evaluation.crossValidation or split.timeColumn',
    });
  }
  if (evaluation.crossValidation?.stratify === true && task === 'regression') {
    problems.push({
      path: ['evaluation', 'crossValidation', 'stratify'],
      message: 'a regression label has no classes to stratify folds by; drop crossValidation.stratify',
    });
  }
  return problems;
}
