import type * as tf from '@tensorflow/tfjs-core';
import type { SavedModel } from '../models/model-io';

/** One worker's checkpoint after a round, weighted by the examples it trained on. */
export interface WeightedCheckpoint {
  saved: SavedModel;
  examples: number;
}

/**
 * Federated-averaging style aggregation of data-parallel workers: every float tensor (weights and
 * Adam's first and second moments) becomes the example-weighted mean of the workers' tensors,
 * summed in float64 in worker order so the result is deterministic; integer tensors (Adam's step
 * count) take the maximum, so bias correction continues from the furthest worker. Averaging the
 * moments keeps the optimizer's per-weight scale instead of restarting it each round.
 *
 * One checkpoint is returned as it is (the same object), so one worker trains exactly as a single
 * process would.
 */
export function averageCheckpoints(parts: readonly WeightedCheckpoint[]): SavedModel {
  if (parts.length === 0) throw new Error('averageCheckpoints needs at least one checkpoint');
  if (parts.length === 1) return parts[0]!.saved;
  const total = parts.reduce((n, p) => n + p.examples, 0);
  if (!(total > 0)) throw new Error('averageCheckpoints: the workers trained on no examples');
  const first = parts[0]!.saved;
  const topology = JSON.stringify(first.modelTopology);
  for (const [i, p] of parts.entries()) {
    if (JSON.stringify(p.saved.modelTopology) !== topology)
      throw new Error(`checkpoint ${i} has another model topology than checkpoint 0; they cannot be averaged`);
  }
  const weights = averageBlock(
    parts.map((p) => ({ specs: p.saved.weightSpecs, data: p.saved.weightData, share: p.examples / total })),
    'weights',
  );
  const averaged: SavedModel = { ...first, weightSpecs: weights.specs, weightData: weights.data };
  if (first.optimizer) {
    const optimizer = averageBlock(
      parts.map((p, i) => {
        if (!p.saved.optimizer) throw new Error(`checkpoint ${i} has no optimizer state but checkpoint 0 has`);
        return { specs: p.saved.optimizer.specs, data: p.saved.optimizer.data, share: p.examples / total };
      }),
      'optimizer state',
    );
    averaged.optimizer = optimizer;
  }
  return averaged;
}

interface Block {
  specs: tf.io.WeightsManifestEntry[];
  data: string; // base64
  share: number;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

function averageBlock(blocks: Block[], what: string): { specs: tf.io.WeightsManifestEntry[]; data: string } {
  const specs = blocks[0]!.specs;
  const buffers = blocks.map((b, i) => {
    if (JSON.stringify(b.specs) !== JSON.stringify(specs)) throw new Error(`checkpoint ${i}'s ${what} has other tensors than checkpoint 0's`);
    // A copy into a fresh ArrayBuffer, so typed-array views of it are aligned.
    return new Uint8Array(Buffer.from(b.data, 'base64'));
  });
  const out = new Uint8Array(buffers[0]!.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((n, d) => n * d, 1);
    const width = BYTES[spec.dtype];
    if (width === undefined) throw new Error(`${what} tensor ${spec.name} has dtype ${spec.dtype}, which cannot be averaged`);
    if (spec.dtype === 'float32') {
      const views = buffers.map((b) => new Float32Array(b.buffer, offset, size));
      const target = new Float32Array(out.buffer, offset, size);
      for (let j = 0; j < size; j++) {
        let sum = 0;
        for (let i = 0; i < views.length; i++) sum += blocks[i]!.share * views[i]![j]!;
        target[j] = sum;
      }
    } else if (spec.dtype === 'int32') {
      const views = buffers.map((b) => new Int32Array(b.buffer, offset, size));
      const target = new Int32Array(out.buffer, offset, size);
      for (let j = 0; j < size; j++) target[j] = Math.max(...views.map((v) => v[j]!));
    } else {
      out.set(buffers[0]!.subarray(offset, offset + size * width), offset);
    }
    offset += size * width;
  }
  return { specs, data: Buffer.from(out.buffer).toString('base64') };
}
