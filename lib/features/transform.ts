import type { LabelRule } from '../spec/pipeline-spec';

/**
 * The fitted transform and what works with it, in one import: its format (transform-format.ts),
 * fitting it on the train split (transform-statistics.ts) and encoding with it (feature-encoder.ts).
 */
export {
  TRANSFORM_V1,
  TRANSFORM_V2,
  fittedColumns,
  readTransform,
  upgradeTransform,
  type FittedFeature,
  type FittedFeatureV1,
  type FittedImpute,
  type FittedNumeric,
  type FittedScale,
  type FittedTransform,
  type FittedTransformV1,
  type FittedTransformV2,
} from './transform-format';
export { TransformStatistics } from './transform-statistics';
export { FeatureEncoder } from './feature-encoder';

/** The 0/1 label of a raw label value under the transform's label rule. */
export function labelOf(label: LabelRule, value: number | string): number {
  if ('greaterThan' in label) return typeof value === 'number' && value > label.greaterThan ? 1 : 0;
  return label.oneOf.includes(value) ? 1 : 0;
}

/** What the model's output is the probability of, in words. */
export function describeLabel(label: LabelRule): string {
  if ('greaterThan' in label) return `${label.column} > ${label.greaterThan}`;
  return `${label.column} in ${JSON.stringify(label.oneOf)}`;
}
