import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainSiteRoundInput, TrainSiteRoundResult } from '../../contracts/federated';
import type { CheckpointRef } from '../../contracts/refs';
import { openArtifactStore, readArtifactJson, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { PipelineInputError } from '../errors';
import { countBatches } from '../features/encoded-batches';
import type { FittedTransform } from '../features/transform';
import type { SavedModel } from '../models/model-io';
import { verifiedArtifactBytes } from '../training/checkpoints';
import { trainShards } from '../training/train-shards';
import { clipToNorm } from './differential-privacy';
import { checkUpdate, fedProxStep, FederatedUpdateError } from './fed-avg';
import { weightVector } from './model-vector';
import { encodeFixedPoint, maskVector, siteKeyPair } from './secure-aggregation';
import { selfMaskSeed } from './site-secret';

export type TrainSiteRoundTask = TrainSiteRoundInput & {
  /** The site's own store: its local checkpoints stay there. */
  artifactStore: ArtifactStoreSettings;
  /** The coordinator's store: only the update goes there. */
  exchangeStore: ArtifactStoreSettings;
  /** Seed of the site's key pair for this run (secure aggregation), hex. */
  keySeed?: string;
};

/**
 * One site's part of a round: `localEpochs` epochs over its own train rows from the global
 * weights, with a fresh optimizer (its state never leaves the site), then the update, local minus
 * global weights, checked, clipped (differential privacy) and, with secure aggregation, weighted,
 * fixed-point encoded and masked. Only the update is written where the coordinator reads; the
 * local checkpoints stay in the site's store. Deterministic: the row order and dropout masks are
 * drawn from (model seed, epoch), so a retried round writes the same update.
 */
export async function trainSiteRound(input: TrainSiteRoundTask, progress: (samples: number) => void): Promise<TrainSiteRoundResult> {
  const transform = await readArtifactJson<FittedTransform>(input.transform);
  const shards = [...input.shards].sort((a, b) => a.partition - b.partition);
  const batches = await countBatches(transform, shards, { split: 'train', batchSize: input.model.batchSize });
  if (batches === 0) throw new PipelineInputError(`site "${input.site}" has no train rows after the split: check its source and split.testFraction`);
  const globalSaved = JSON.parse((await verifiedArtifactBytes(input.global)).toString('utf8')) as SavedModel;
  const global = weightVector(globalSaved);
  const afterBatch = input.proximalMu ? proximalStep(globalSaved, input.proximalMu) : undefined;

  let from: CheckpointRef = input.global;
  let samples = 0;
  let lossSum = 0;
  let seconds = 0;
  let backend = 'unknown';
  for (let e = 0; e < input.localEpochs; e++) {
    const done = samples;
    const epoch = input.round * input.localEpochs + e;
    const trained = await trainShards(
      {
        model: input.model,
        transform: input.transform,
        shards,
        epoch,
        round: 0,
        worker: 0,
        fromBatch: 0,
        toBatch: batches,
        batchesPerEpoch: batches,
        from,
        artifactStore: input.artifactStore,
      },
      (n) => progress(done + n),
      afterBatch,
    );
    from = trained.checkpoint;
    samples += trained.samples;
    lossSum += trained.lossSum;
    seconds += trained.seconds;
    backend = trained.backend;
  }

  const localSaved = JSON.parse((await verifiedArtifactBytes(from)).toString('utf8')) as SavedModel;
  const local = weightVector(localSaved);
  // In float64, where the difference of two float32 weights is exact: global + delta gives the local weight back bit for bit.
  const delta = new Float64Array(global.length);
  for (let i = 0; i < delta.length; i++) delta[i] = local[i]! - global[i]!;
  try {
    checkUpdate(input.site, delta, global.length, input.round + 1);
  } catch (err) {
    // A NaN update is this site's data or settings: retrying the same round cannot fix it.
    if (err instanceof FederatedUpdateError) throw new PipelineInputError(err.message);
    throw err;
  }
  const norm = l2(delta);
  const clipped = input.clipNorm !== undefined ? clipToNorm(delta, input.clipNorm).clipped : delta;
  const exchange = openArtifactStore(input.exchangeStore);
  const base = { site: input.site, round: input.round, length: global.length, examples: samples, lossSum, seconds, backend };
  if (!input.secure) {
    const update = await exchange.putBytes('federated-updates', '.f64', new Uint8Array(clipped.buffer, clipped.byteOffset, clipped.byteLength));
    return { ...base, update, norm, clipped: input.clipNorm !== undefined && norm > input.clipNorm };
  }
  if (!input.keySeed) throw new Error(`site "${input.site}": secure aggregation needs the site's key seed`);
  const weighted = new Float64Array(clipped.length);
  for (let i = 0; i < clipped.length; i++) weighted[i] = clipped[i]! * input.secure.weight;
  const masked = maskVector({
    encoded: encodeFixedPoint(weighted, input.site),
    me: input.site,
    participants: input.secure.participants,
    privateKey: siteKeyPair(Buffer.from(input.keySeed, 'hex')).privateKey,
    round: input.round,
    attempt: input.secure.attempt,
    runId: input.runId,
    selfMaskSeed: Buffer.from(selfMaskSeed(input.keySeed, input.round, input.secure.attempt), 'hex'),
  });
  const update = await exchange.putBytes('federated-updates', '.u32', new Uint8Array(masked.buffer, masked.byteOffset, masked.byteLength));
  return { ...base, update };
}

function l2(values: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!;
  return Math.sqrt(sum);
}

/**
 * FedProx's proximal term, applied as its exact proximal step after each optimizer step (the loss
 * itself is a fused kernel): every trainable weight moves toward the global model's by
 * (w + η·μ·w_global) / (1 + η·μ). The model's weights are matched to the saved global weights by
 * position, which is how they were saved.
 */
function proximalStep(global: SavedModel, mu: number): (model: tfl.LayersModel, learningRate: number) => void {
  const anchors = new Map<number, Float32Array>();
  let offset = 0;
  const flat = weightVector(global);
  global.weightSpecs.forEach((spec, i) => {
    const size = spec.shape.reduce((n, d) => n * d, 1);
    if (spec.dtype === 'float32') {
      anchors.set(i, flat.subarray(offset, offset + size));
      offset += size;
    }
  });
  return (model, learningRate) => {
    model.weights.forEach((variable, i) => {
      const anchor = anchors.get(i);
      if (!variable.trainable || anchor === undefined) return;
      const current = variable.read();
      const values = current.dataSync() as Float32Array;
      const next = new Float32Array(values);
      fedProxStep(next, anchor, learningRate, mu);
      const moved = tf.tensor(next, current.shape, 'float32');
      variable.write(moved);
      moved.dispose();
    });
  };
}
