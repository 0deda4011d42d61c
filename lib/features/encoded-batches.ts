import { artifactPath } from '../artifacts/artifact-store';
import { readShardBatches } from '../data/arrow-shards';
import { ENCODED_LABEL, ENCODED_SPLIT, encodedFeatureColumn } from './apply-transform';
import { FeatureEncoder } from './feature-encoder';
import type { FittedTransform } from './transform-format';
import { mulberry32, shuffleInPlace } from '../random';
import { SPLIT_CODE, type SplitName } from './split';
import type { EncodedShardRef } from '../../contracts/refs';

export interface DenseBatch {
  /** rows × inputDim, row-major. */
  x: Float32Array;
  y: Float32Array;
  rows: number;
}

export interface BatchOptions {
  split: SplitName;
  batchSize: number;
  /** When set, rows within each Arrow batch are shuffled with this seed (plus the batch's position). */
  shuffleSeed?: number;
}

/**
 * Streams dense model-input batches from encoded shards, expanding one-hot codes per batch so no
 * full dense matrix is ever held: memory is one Arrow batch plus one dense batch. A yielded batch
 * is only valid until the next is requested (its arrays are reused).
 */
export async function* denseBatches(fitted: FittedTransform, shards: EncodedShardRef[], options: BatchOptions): AsyncGenerator<DenseBatch> {
  // Any transform format: a run fitted before an upgrade trains and evaluates on in its v2 form.
  const encoder = new FeatureEncoder(fitted);
  const transform = encoder.transform;
  const dim = transform.inputDim;
  const wantTest = SPLIT_CODE[options.split];
  const featureCount = transform.features.length;
  const codes = new Float32Array(featureCount);
  // One buffer for every batch: a fresh 4096 x 234 array per step cost more in allocation and GC
  // than the expansion itself. Consumers copy a batch (into a tensor) before asking for the next.
  const xBuffer = new Float32Array(options.batchSize * dim);
  const yBuffer = new Float32Array(options.batchSize);
  for (const [s, shard] of shards.entries()) {
    let arrowBatchIndex = 0;
    for await (const batch of readShardBatches(artifactPath(shard.uri))) {
      const isTest = batch.getChild(ENCODED_SPLIT)!.toArray() as Float32Array;
      const labels = batch.getChild(ENCODED_LABEL)!.toArray() as Float32Array;
      const columns = transform.features.map((f) => batch.getChild(encodedFeatureColumn(f.name))!.toArray() as Float32Array);
      const picked: number[] = [];
      for (let r = 0; r < batch.numRows; r++) if (isTest[r] === wantTest) picked.push(r);
      if (options.shuffleSeed !== undefined) shuffleInPlace(picked, mulberry32(options.shuffleSeed ^ Math.imul(s + 1, 0x9e3779b1) ^ arrowBatchIndex));
      arrowBatchIndex++;
      for (let start = 0; start < picked.length; start += options.batchSize) {
        const rows = Math.min(options.batchSize, picked.length - start);
        const x = xBuffer.subarray(0, rows * dim);
        x.fill(0);
        const y = yBuffer.subarray(0, rows);
        for (let i = 0; i < rows; i++) {
          const r = picked[start + i]!;
          for (let f = 0; f < featureCount; f++) codes[f] = columns[f]![r]!;
          encoder.denseInto(codes, x, i * dim);
          y[i] = labels[r]!;
        }
        yield { x, y, rows };
      }
    }
  }
}
