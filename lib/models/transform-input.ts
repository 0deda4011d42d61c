import { FeatureEncoder } from '../features/feature-encoder';
import type { FittedTransform } from '../features/transform-format';
import type { EmbeddingTable } from './sparse-embeddings';

/** Names of the model's inputs: every model built here reads the batch's (slot, value) pairs. */
export const SLOTS_INPUT = 'slots';
export const VALUES_INPUT = 'values';

const encoders = new WeakMap<FittedTransform, FeatureEncoder>();

/** One FeatureEncoder per transform object (building one resolves every feature's layout). */
export function encoderFor(transform: FittedTransform): FeatureEncoder {
  let encoder = encoders.get(transform);
  if (!encoder) {
    encoder = new FeatureEncoder(transform);
    encoders.set(transform, encoder);
  }
  return encoder;
}

/** Dimension of a categorical-like feature's embedding when the spec gives none: min(16, ⌈1.6 · width^0.56⌉). */
export function defaultEmbeddingDim(width: number): number {
  return Math.min(16, Math.ceil(1.6 * Math.pow(width, 0.56)));
}

/**
 * The deep input of a wide & deep model for a transform: one embedding table per one-hot pair
 * position (categorical, hashed, cross, quantileBuckets, hourOfDay, dayOfWeek, and each part of a
 * non-cyclical timestamp), values passed through for the others (numeric, cyclical parts).
 * positions: per pair position, its table, or -1 for a passed value.
 */
export function deepInputLayout(transform: FittedTransform, embeddingDim?: number): { positions: number[]; tables: EmbeddingTable[] } {
  const encoder = encoderFor(transform);
  const features = encoder.transform.features;
  const tables: EmbeddingTable[] = [];
  const positions = encoder.sparsePositions().map((p) => {
    if (!p.oneHot) return -1;
    const name = features[p.feature]!.name + (p.part === undefined ? '' : `_${p.part}`);
    tables.push({ name, first: p.first, width: p.width, dim: embeddingDim ?? defaultEmbeddingDim(p.width) });
    return tables.length - 1;
  });
  return { positions, tables };
}
