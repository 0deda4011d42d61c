import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { TrainEpochInput, TrainEpochResult } from '../../contracts/stages';
import { ArtifactStore, readArtifactJson } from '../artifacts/artifact-store';
import { denseBatches } from '../features/encoded-batches';
import type { FittedTransform } from '../features/transform';
import { initBackend } from '../models/backend';
import { buildModel } from '../models/build-model';
import { loadSavedModel, restoreOptimizer, saveModel } from '../models/model-io';
import { deriveSeed, mulberry32, shuffleInPlace } from '../random';

/** A training epoch as the thread runs it: the stage's input plus where the artifact store is. */
export type TrainEpochTask = TrainEpochInput & { artifactRoot: string };

/**
 * Runs one epoch of mini-batch training over the train rows of every encoded shard, starting from
 * the previous epoch's checkpoint (weights and optimizer state), and writes the next checkpoint.
 * Shard order and row order are shuffled with seeds derived from (model seed, epoch), so an epoch
 * re-run after a crash repeats exactly.
 */
export async function trainEpoch(input: TrainEpochTask, progress: (samples: number) => void): Promise<TrainEpochResult> {
  const backend = await initBackend(undefined, { batchSize: input.model.batchSize });
  const transform = await readArtifactJson<FittedTransform>(input.transform);
  const started = Date.now();
  const optimizer = tf.train.adam(input.model.learningRate);
  let model: tfl.LayersModel;
  if (input.from) {
    const loaded = await loadSavedModel(input.from);
    model = loaded.model;
    model.compile({ optimizer, loss: 'binaryCrossentropy' });
    await restoreOptimizer(optimizer, loaded.saved);
  } else {
    model = buildModel(input.model, transform.inputDim);
    model.compile({ optimizer, loss: 'binaryCrossentropy' });
  }

  const order = [...input.shards].sort((a, b) => a.partition - b.partition);
  shuffleInPlace(order, mulberry32(deriveSeed(input.model.seed, 'shard-order', input.epoch)));
  let samples = 0;
  let lossSum = 0;
  const batches = denseBatches(transform, order, {
    split: 'train',
    batchSize: input.model.batchSize,
    shuffleSeed: deriveSeed(input.model.seed, 'rows', input.epoch),
  });
  for await (const batch of batches) {
    const xs = tf.tensor2d(batch.x, [batch.rows, transform.inputDim]);
    const ys = tf.tensor2d(batch.y, [batch.rows, 1]);
    const loss = (await model.trainOnBatch(xs, ys)) as number;
    xs.dispose();
    ys.dispose();
    lossSum += loss * batch.rows;
    samples += batch.rows;
    progress(samples);
  }
  if (samples === 0) throw new Error('no train rows in the encoded shards');
  const saved = await saveModel(new ArtifactStore(input.artifactRoot), 'checkpoints', model, optimizer);
  model.dispose();
  optimizer.dispose();
  return {
    checkpoint: { ...saved, epoch: input.epoch },
    backend,
    loss: lossSum / samples,
    samples,
    seconds: (Date.now() - started) / 1000,
  };
}
