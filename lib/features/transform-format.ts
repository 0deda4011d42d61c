import type { SplitRule } from './split';
import type { ArtifactRef } from '../../contracts/refs';
import { readArtifactJson } from '../artifacts/artifact-store';
import type { BinaryLabelRule, TimestampPart } from '../spec/pipeline-spec';

/**
 * The fitted transform: everything learned from the train split that turns raw column values into
 * the model's input vector. It is a JSON artifact that the model server loads with the model, so
 * training and serving apply exactly the same function.
 *
 * Layout of the input vector: each feature owns `width` consecutive slots starting at `offset`, and
 * an encoded shard holds one Float32 code per feature (see FeatureEncoder):
 *
 *   numeric          1 slot: impute (NULL only), clip, log1p, then scale; the code is the value
 *   categorical      one-hot over the vocabulary + 1 out-of-vocabulary slot (unknown values, NULL)
 *   hourOfDay        one-hot over 24 (UTC)
 *   dayOfWeek        one-hot over 7 (0 = Sunday, UTC)
 *   quantileBuckets  one-hot over boundaries.length + 1 buckets; bucket i holds (b[i-1], b[i]]
 *   hashed           one-hot over `buckets` hash buckets + 1 slot for NULL (see feature-hash.ts)
 *   cross            the same over the chained hash of its columns' values; NULL in any column: the last slot
 *   timestamp        per part in order: one-hot over the part's slots (24, 7, 12, 31), or sin and cos
 *                    of its angle when cyclical (2 slots); the code packs the parts (mixed radix)
 */

/** How NULLs of a numeric feature are filled: the strategy asked for and its value, in raw units. */
export interface FittedImpute {
  strategy: 'mean' | 'median' | 'mostFrequent' | 'constant';
  value: number;
}

/** The last step of a numeric feature: standard (x - mean) / std, minMax (x - min) / (max - min), or none. */
export type FittedScale = { kind: 'standard'; mean: number; std: number } | { kind: 'minMax'; min: number; max: number } | { kind: 'none' };

export interface FittedNumeric {
  kind: 'numeric';
  name: string;
  column: string;
  offset: number;
  width: 1;
  /** Absent: the column has no NULLs (ingest quarantines them). */
  impute?: FittedImpute;
  clip?: { min?: number; max?: number };
  log1p?: true;
  /** Statistics of the column after impute, clip and log1p, over the train split. */
  scale: FittedScale;
}

export interface FittedCategorical {
  kind: 'categorical';
  name: string;
  column: string;
  offset: number;
  width: number;
  vocabulary: string[];
}

export interface FittedHourOfDay {
  kind: 'hourOfDay';
  name: string;
  column: string;
  offset: number;
  width: 24;
}

export interface FittedDayOfWeek {
  kind: 'dayOfWeek';
  name: string;
  column: string;
  offset: number;
  width: 7;
}

export interface FittedQuantileBuckets {
  kind: 'quantileBuckets';
  name: string;
  column: string;
  offset: number;
  width: number;
  /** Ascending and distinct (tied quantiles merge, so there may be fewer buckets than asked for). */
  boundaries: number[];
}

export interface FittedHashed {
  kind: 'hashed';
  name: string;
  column: string;
  offset: number;
  /** buckets + 1: the last slot is NULL's. */
  width: number;
  buckets: number;
}

export interface FittedCross {
  kind: 'cross';
  name: string;
  columns: string[];
  offset: number;
  /** buckets + 1: the last slot is for a NULL in any column. */
  width: number;
  buckets: number;
}

export interface FittedTimestamp {
  kind: 'timestamp';
  name: string;
  column: string;
  offset: number;
  width: number;
  parts: TimestampPart[];
  cyclical: boolean;
}

export type FittedFeature =
  FittedNumeric | FittedCategorical | FittedHourOfDay | FittedDayOfWeek | FittedQuantileBuckets | FittedHashed | FittedCross | FittedTimestamp;

/**
 * The label as a fitted transform stores it: the spec's rule with what the fit learnt. A label
 * without `task` is binary (every transform written before multiclass and regression labels):
 *   binary      the rule as the spec gives it; the encoded label is 0/1
 *   multiclass  `classes`: the spec's list in its order, or (for "auto") the distinct values of the
 *               train split, sorted; the encoded label is the class index
 *   regression  `mean` and `std` of the label over the train split (std 0 stored as 1); the
 *               encoded label is (y - mean) / std, and predictions are de-standardised with them
 */
export type FittedLabel = BinaryLabelRule | FittedMulticlassLabel | FittedRegressionLabel;

export interface FittedMulticlassLabel {
  column: string;
  task: 'multiclass';
  /** Class index -> value (strings of a text column, numbers of a numeric one). */
  classes: Array<string | number>;
}

export interface FittedRegressionLabel {
  column: string;
  task: 'regression';
  mean: number;
  std: number;
}

interface TransformHeader {
  /** The shard column that identifies a row and decides its split. */
  key: string;
  label: FittedLabel;
  split: SplitRule;
  inputDim: number;
  trainRows: number;
}

export const TRANSFORM_V1 = 'pipewright.transform/v1';
export const TRANSFORM_V2 = 'pipewright.transform/v2';

/** What fitTransform writes today. */
export interface FittedTransformV2 extends TransformHeader {
  format: typeof TRANSFORM_V2;
  features: FittedFeature[];
}

/** v1 numeric features held mean and std inline: standard scaling, nothing else. */
export type FittedFeatureV1 =
  | { kind: 'numeric'; name: string; column: string; offset: number; width: 1; mean: number; std: number }
  | FittedCategorical
  | FittedHourOfDay
  | FittedDayOfWeek;

/** The artifacts of models registered before v2 (binary labels only); the model server must still serve them. */
export interface FittedTransformV1 extends TransformHeader {
  format: typeof TRANSFORM_V1;
  features: FittedFeatureV1[];
}

/** Any fitted transform artifact a reader may meet. Readers work on its v2 form (upgradeTransform). */
export type FittedTransform = FittedTransformV1 | FittedTransformV2;

/**
 * The v2 form of a transform artifact: v2 as it is; v1 with each numeric feature's mean and std
 * moved into `scale`, everything else (layout, vocabularies, codes) unchanged, so a v1 model gets
 * exactly the input it was trained on. Anything else is refused with the format it has.
 */
export function upgradeTransform(transform: FittedTransform): FittedTransformV2 {
  const format: unknown = (transform as { format?: unknown }).format;
  if (format === TRANSFORM_V2) {
    const task: unknown = (transform.label as { task?: unknown }).task;
    if (task !== undefined && task !== 'multiclass' && task !== 'regression') {
      throw new Error(
        `the fitted transform's label has task ${JSON.stringify(task)}; this pipewright reads binary, multiclass and regression labels: upgrade pipewright`,
      );
    }
    return transform as FittedTransformV2;
  }
  if (format !== TRANSFORM_V1) {
    throw new Error(`the fitted transform has format ${JSON.stringify(format)}; this pipewright reads ${TRANSFORM_V1} and ${TRANSFORM_V2}: upgrade pipewright`);
  }
  const v1 = transform as FittedTransformV1;
  return {
    format: TRANSFORM_V2,
    key: v1.key,
    label: v1.label,
    split: v1.split,
    features: v1.features.map((f): FittedFeature => {
      if (f.kind !== 'numeric') return f;
      const { mean, std, ...rest } = f;
      return { ...rest, scale: { kind: 'standard', mean, std } };
    }),
    inputDim: v1.inputDim,
    trainRows: v1.trainRows,
  };
}

/** Reads a transform artifact of any known format, in its v2 form. */
export async function readTransform(ref: Pick<ArtifactRef, 'uri'>): Promise<FittedTransformV2> {
  return upgradeTransform(await readArtifactJson<FittedTransform>(ref));
}

/** The source columns a fitted feature reads. */
export function fittedColumns(feature: FittedFeature): string[] {
  return feature.kind === 'cross' ? feature.columns : [feature.column];
}
