import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ModelBatch } from '../features/encoded-batches';
import type { FittedTransform } from '../features/transform-format';
import { checkModelFitsTransform, inputBaseName, inputKindOf } from './model-check';
import { encoderFor, SLOTS_INPUT } from './transform-input';

/**
 * The tensors for model.predict / trainOnBatch, in model.inputs order: slots (int32) and values
 * (float32), [rows, nnz] each; for a dense model of an earlier version, the one-hot matrix
 * [rows, inputDim] the pairs describe. Checks first that the model fits the transform
 * (checkModelFitsTransform). The caller disposes the tensors.
 */
export function modelInputs(model: tfl.LayersModel, transform: FittedTransform, batch: Pick<ModelBatch, 'rows' | 'slots' | 'values' | 'codes'>): tf.Tensor[] {
  checkModelFitsTransform(model, transform);
  const encoder = encoderFor(transform);
  const nnz = encoder.nonZerosPerRow;
  const { rows } = batch;
  if (batch.slots.length < rows * nnz || batch.values.length < rows * nnz) {
    throw new Error(`a batch of ${rows} rows needs ${rows * nnz} (slot, value) pairs for this transform (${nnz} per row), got ${batch.slots.length}`);
  }
  const slots = batch.slots.subarray(0, rows * nnz);
  const values = batch.values.subarray(0, rows * nnz);
  if (inputKindOf(model) === 'dense') {
    const dim = encoder.transform.inputDim;
    const x = new Float32Array(rows * dim);
    for (let r = 0; r < rows; r++) for (let k = r * nnz; k < (r + 1) * nnz; k++) x[r * dim + slots[k]!]! += values[k]!;
    return [tf.tensor2d(x, [rows, dim])];
  }
  return model.inputs.map((input) =>
    inputBaseName(input.name) === SLOTS_INPUT ? tf.tensor2d(slots, [rows, nnz], 'int32') : tf.tensor2d(values, [rows, nnz], 'float32'),
  );
}
