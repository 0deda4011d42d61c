import { PipelineInputError } from '../errors';
import type { FittedFeature, FittedTransformV2 } from '../features/transform-format';

/** The feature kinds whose code is a category, and so can be sliced by. */
export const SLICEABLE_KINDS = ['categorical', 'hashed', 'cross', 'quantileBuckets', 'hourOfDay', 'dayOfWeek'] as const;
export type SliceableFeature = Extract<FittedFeature, { kind: (typeof SLICEABLE_KINDS)[number] }>;

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/**
 * The feature to slice by and its column among the transform's features. A feature the transform
 * lacks, or whose code is a number rather than a category (numeric, timestamp), is the user's
 * mistake in evaluation.slices: a PipelineInputError that names it and what can be sliced.
 */
export function sliceFeature(transform: FittedTransformV2, name: string): { feature: SliceableFeature; index: number } {
  const index = transform.features.findIndex((f) => f.name === name);
  const kinds = SLICEABLE_KINDS.join(', ');
  if (index < 0) {
    const sliceable = transform.features.filter((f) => isSliceable(f)).map((f) => f.name);
    throw new PipelineInputError(
      `evaluation.slices: the transform has no feature "${name}"; slice by a feature of kind ${kinds}` +
        (sliceable.length > 0 ? ` (this transform's: ${sliceable.join(', ')})` : ' (this transform has none)'),
    );
  }
  const feature = transform.features[index]!;
  if (!isSliceable(feature)) {
    throw new PipelineInputError(
      `evaluation.slices: feature "${name}" is ${feature.kind}, whose values are not categories; slice by a feature of kind ${kinds} ` +
        '(for a number, add a quantileBuckets feature over its column and slice by that)',
    );
  }
  return { feature, index };
}

function isSliceable(f: FittedFeature): f is SliceableFeature {
  return (SLICEABLE_KINDS as readonly string[]).includes(f.kind);
}

/**
 * The readable name of a slice feature's code (see FeatureEncoder for the codes):
 *   categorical      its vocabulary value; the out-of-vocabulary slot (unseen values and NULL) "(other)"
 *   hashed, cross    "bucket N"; the NULL slot "(null)"
 *   quantileBuckets  the bucket's range: "≤ b0", "(b0, b1]", …, "> b_last"
 *   hourOfDay        "00:00" … "23:00" (UTC)
 *   dayOfWeek        "Sunday" … "Saturday" (UTC)
 * A code outside the feature's slots (which no encoded shard holds) is named "code N".
 */
export function sliceValueName(feature: SliceableFeature, code: number): string {
  const unknown = `code ${code}`;
  if (!Number.isInteger(code) || code < 0 || code >= feature.width) return unknown;
  switch (feature.kind) {
    case 'categorical':
      return code < feature.vocabulary.length ? feature.vocabulary[code]! : '(other)';
    case 'hashed':
    case 'cross':
      return code === feature.buckets ? '(null)' : `bucket ${code}`;
    case 'quantileBuckets': {
      const b = feature.boundaries;
      if (b.length === 0) return 'all';
      if (code === 0) return `≤ ${number(b[0]!)}`;
      if (code === b.length) return `> ${number(b[b.length - 1]!)}`;
      return `(${number(b[code - 1]!)}, ${number(b[code]!)}]`;
    }
    case 'hourOfDay':
      return `${String(code).padStart(2, '0')}:00`;
    case 'dayOfWeek':
      return DAYS[code] ?? unknown;
  }
}

/** A boundary with up to 6 significant digits, without trailing noise. */
function number(x: number): string {
  return String(Number(x.toPrecision(6)));
}
