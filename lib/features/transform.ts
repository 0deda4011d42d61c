import type { LabelRule } from '../spec/pipeline-spec';
import type { FittedLabel } from './transform-format';

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
  type FittedLabel,
  type FittedMulticlassLabel,
  type FittedRegressionLabel,
  type FittedNumeric,
  type FittedScale,
  type FittedTransform,
  type FittedTransformV1,
  type FittedTransformV2,
} from './transform-format';
export { TransformStatistics } from './transform-statistics';
export { FeatureEncoder } from './feature-encoder';

/**
 * The encoded label of a raw label value: 0/1 under a binary rule; the class index under a
 * multiclass one (-1: not one of its classes, which callers report); (y - mean) / std under a
 * regression one (NaN for a value that is not a number).
 */
export function labelOf(label: FittedLabel, value: number | string): number {
  if ('greaterThan' in label) return typeof value === 'number' && value > label.greaterThan ? 1 : 0;
  if ('oneOf' in label) return label.oneOf.includes(value) ? 1 : 0;
  if (label.task === 'multiclass') return label.classes.indexOf(value);
  return typeof value === 'number' ? (value - label.mean) / label.std : Number.NaN;
}

/** At most this many class values are spelt out in a description; the rest are counted. */
const DESCRIBED_CLASSES = 10;

/**
 * What the label is, in words: what a binary model's output is the probability of, what a
 * multiclass model chooses between, what a regression model predicts.
 */
export function describeLabel(label: LabelRule | FittedLabel): string {
  if ('greaterThan' in label) return `${label.column} > ${label.greaterThan}`;
  if ('oneOf' in label) return `${label.column} in ${JSON.stringify(label.oneOf)}`;
  if (label.task === 'regression') return `${label.column} (a number)`;
  if (label.classes === 'auto') return `${label.column}: one of the classes found in the train split`;
  const shown = label.classes.slice(0, DESCRIBED_CLASSES).map((c) => JSON.stringify(c));
  const more = label.classes.length - shown.length;
  return `${label.column}: one of ${shown.join(', ')}${more > 0 ? ` and ${more} more (${label.classes.length} classes)` : ''}`;
}
