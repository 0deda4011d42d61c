import { upgradeTransform, type FittedTransform } from '../features/transform';

/**
 * A typical raw instance for a fitted transform, built from what it learned: a numeric field's
 * training mean (or the middle of its range), a categorical field's most frequent value, a fixed
 * date-time. A release sends it to a candidate version to check that it loads and answers before
 * any live request reaches it.
 */
export function sampleInstance(transform: FittedTransform): Record<string, unknown> {
  const instance: Record<string, unknown> = {};
  for (const f of upgradeTransform(transform).features) {
    switch (f.kind) {
      case 'numeric': {
        // The scale's statistics are of the value after log1p: back to the raw units.
        const scale = f.scale;
        const typical = scale.kind === 'standard' ? scale.mean : scale.kind === 'minMax' ? (scale.min + scale.max) / 2 : (f.impute?.value ?? 0);
        instance[f.column] ??= f.log1p && scale.kind !== 'none' ? Math.expm1(typical) : typical;
        break;
      }
      case 'quantileBuckets':
        instance[f.column] ??= f.boundaries[Math.floor(f.boundaries.length / 2)] ?? 0;
        break;
      case 'categorical':
        instance[f.column] ??= f.vocabulary[0] ?? 'sample';
        break;
      case 'hashed':
        instance[f.column] ??= 'sample';
        break;
      case 'cross':
        for (const column of f.columns) instance[column] ??= 'sample';
        break;
      case 'hourOfDay':
      case 'dayOfWeek':
      case 'timestamp':
        instance[f.column] ??= '2001-01-01T12:00:00';
        break;
    }
  }
  return instance;
}
