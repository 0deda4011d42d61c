import type { SavedModel } from '../models/model-io';

/**
 * A SavedModel's weights as one flat float32 vector, the form federated aggregation works on
 * (deltas, means, clipping, masking). Only weights: optimizer state stays local to each site.
 */

export interface WeightLayoutEntry {
  name: string;
  shape: number[];
}

function elements(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function checkFloat32(saved: SavedModel): void {
  for (const spec of saved.weightSpecs) {
    if (spec.dtype !== 'float32') throw new Error(`weight tensor ${spec.name} has dtype ${spec.dtype}; federated training handles float32 weights only`);
    if (spec.quantization) throw new Error(`weight tensor ${spec.name} is quantized; federated training handles plain float32 weights only`);
  }
}

/** The float32 weight tensors concatenated in weightSpecs order. */
export function weightVector(saved: SavedModel): Float32Array {
  checkFloat32(saved);
  const length = saved.weightSpecs.reduce((n, s) => n + elements(s.shape), 0);
  const bytes = Buffer.from(saved.weightData, 'base64');
  if (bytes.byteLength !== length * 4)
    throw new Error(`the weight data has ${bytes.byteLength} bytes but the weight specs describe ${length} float32 values (${length * 4} bytes)`);
  // Copy into a fresh (aligned) buffer: a Buffer's byteOffset need not be a multiple of 4.
  const out = new Float32Array(length);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** The same model with these weights and no optimizer state (a site's moments do not carry over to the global model). */
export function withWeightVector(saved: SavedModel, values: Float32Array): SavedModel {
  checkFloat32(saved);
  const length = saved.weightSpecs.reduce((n, s) => n + elements(s.shape), 0);
  if (values.length !== length) throw new Error(`the weight vector has ${values.length} values but the model has ${length} weights`);
  return {
    format: saved.format,
    modelTopology: saved.modelTopology,
    weightSpecs: saved.weightSpecs,
    weightData: Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64'),
  };
}

/** Names and shapes of the weight tensors, in order. */
export function weightLayout(saved: SavedModel): WeightLayoutEntry[] {
  return saved.weightSpecs.map((s) => ({ name: s.name, shape: [...s.shape] }));
}

/** Whether two models' weight vectors line up value for value (same tensors, shapes and dtypes, in the same order). */
export function sameLayout(a: SavedModel, b: SavedModel): boolean {
  if (a.weightSpecs.length !== b.weightSpecs.length) return false;
  return a.weightSpecs.every((s, i) => {
    const t = b.weightSpecs[i]!;
    return s.name === t.name && s.dtype === t.dtype && s.shape.length === t.shape.length && s.shape.every((d, j) => d === t.shape[j]);
  });
}
