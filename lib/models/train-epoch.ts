import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ArtifactStore, readArtifactJson } from '../artifacts/artifact-store';
import type { FittedTransform } from '../features/transform';
import { deriveSeed, mulberry32, shuffleInPlace } from '../random';
import type { CheckpointRef, EncodedShardRef, TransformRef } from '../refs';
import type { PipelineSpec } from '../spec/pipeline-spec';
import { initBackend } from './backend';
import { denseBatches } from './encoded-batches';
import { loadSavedModel, restoreOptimizer, saveModel } from './model-io';

export interface TrainEpochInput {
  artifactRoot: string;
  model: PipelineSpec['model'];
  transform: TransformRef;
  shards: EncodedShardRef[];
  /** 0-based epoch to run. */
  epoch: number;
  /** Checkpoint after the previous epoch; absent for epoch 0. */
  from?: CheckpointRef;
}

export interface TrainEpochResult {
  checkpoint: CheckpointRef;
  backend: string;
  loss: number;
  samples: number;
  seconds: number;
}

export function buildModel(spec: PipelineSpec['model'], inputDim: number): tfl.Sequential {
  const hidden = spec.type === 'mlp' ? spec.hidden : [];
  const model = tfl.sequential();
  hidden.forEach((units, i) => {
    model.add(
      tfl.layers.dense({
        ...(i === 0 ? { inputShape: [inputDim] } : {}),
        units,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: deriveSeed(spec.seed, 'init', i) }),
      }),
    );
  });
  model.add(
    tfl.layers.dense({
      ...(hidden.length === 0 ? { inputShape: [inputDim] } : {}),
      units: 1,
      activation: 'sigmoid',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: deriveSeed(spec.seed, 'init', hidden.length) }),
    }),
  );
  return model;
}

/**
 * Runs one epoch of mini-batch training over the train rows of every encoded shard, starting from
 * the previous epoch's checkpoint (weights and optimizer state), and writes the next checkpoint.
 * Shard order and row order are shuffled with seeds derived from (model seed, epoch), so an epoch
 * re-run after a crash repeats exactly.
 */
export async function trainEpoch(input: TrainEpochInput, progress: (samples: number) => void): Promise<TrainEpochResult> {
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
