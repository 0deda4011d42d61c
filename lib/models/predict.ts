import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { EncodedShardRef } from '../../contracts/refs';
import { modelBatches, type SplitSource } from '../features/encoded-batches';
import type { SplitName } from '../features/split';
import type { FittedTransform } from '../features/transform-format';
import { modelInputs } from './model-inputs';
import { encoderFor } from './transform-input';

const DEFAULT_BATCH = 8192;

function outputUnits(model: tfl.LayersModel): number {
  const shape = model.outputs[0]!.shape;
  return shape[shape.length - 1] ?? 1;
}

/** One forward pass over `rows` rows as a single batch (model.predict's default batch of 32 is far slower). */
function runModel(model: tfl.LayersModel, inputs: tf.Tensor[], rows: number): tf.Tensor {
  const out = model.predict(inputs.length === 1 ? inputs[0]! : inputs, { batchSize: Math.max(1, rows) });
  return Array.isArray(out) ? out[0]! : out;
}

/**
 * Runs the model over every row of `split` in the shards (partition order, no shuffle), batch by batch. outputs: rows×units.
 * `codes`: the rows' feature codes (rows × featureCount), for callers that group rows by a feature.
 * `outputs`, `labels` and `codes` are valid during the call only (their buffers are reused; copy what you keep).
 * With `splitFrom` (one per shard, same order), each shard's rows are split by that other encoding of it (see SplitSource).
 */
export async function predictSplit(
  model: tfl.LayersModel,
  transform: FittedTransform,
  shards: EncodedShardRef[],
  split: SplitName,
  onBatch: (outputs: Float32Array, labels: Float32Array, rows: number, units: number, codes: Float32Array) => void,
  batchSize: number = DEFAULT_BATCH,
  options: SplitSource = {},
): Promise<void> {
  const order = shards.map((_, i) => i).sort((a, b) => shards[a]!.partition - shards[b]!.partition);
  const ordered = order.map((i) => shards[i]!);
  if (options.splitFrom && options.splitFrom.length !== shards.length) {
    throw new Error(`splitFrom gives ${options.splitFrom.length} shards for ${shards.length}: one per shard, in the same order`);
  }
  const splitFrom = options.splitFrom ? order.map((i) => options.splitFrom![i]!) : undefined;
  const units = outputUnits(model);
  for await (const batch of modelBatches(transform, ordered, { split, batchSize, ...(splitFrom ? { splitFrom } : {}) })) {
    const inputs = modelInputs(model, transform, batch);
    const out = runModel(model, inputs, batch.rows);
    const outputs = (await out.data()) as Float32Array;
    tf.dispose([...inputs, out]);
    onBatch(outputs, batch.y, batch.rows, units, batch.codes);
  }
}

/** Model outputs for rows given as feature codes (rows×featureCount, as FeatureEncoder produces them for the model server). */
export function predictCodes(model: tfl.LayersModel, transform: FittedTransform, codes: Float32Array, rows: number): Promise<Float32Array> {
  const encoder = encoderFor(transform);
  const featureCount = encoder.transform.features.length;
  if (codes.length < rows * featureCount) {
    return Promise.reject(new Error(`predictCodes: ${rows} rows need ${rows * featureCount} codes (${featureCount} features per row), got ${codes.length}`));
  }
  if (rows === 0) return Promise.resolve(new Float32Array(0));
  const nnz = encoder.nonZerosPerRow;
  const slots = new Int32Array(rows * nnz);
  const values = new Float32Array(rows * nnz);
  for (let r = 0; r < rows; r++) encoder.sparseInto(codes.subarray(r * featureCount, (r + 1) * featureCount), slots, values, r * nnz);
  // apply() in a tidy, not predict(): a server's batches are small, and predict's batching loop
  // (slicing its inputs into batches of one) costs more than the forward pass itself.
  const out = tf.tidy(() => {
    const inputs = modelInputs(model, transform, { rows, slots, values, codes });
    const result = model.apply(inputs.length === 1 ? inputs[0]! : inputs, { training: false });
    return Array.isArray(result) ? (result[0] as tf.Tensor) : (result as tf.Tensor);
  });
  return out.data().then((data) => {
    out.dispose();
    return data as Float32Array;
  });
}
