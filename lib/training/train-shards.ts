import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainShardsHeartbeat, TrainShardsInput, TrainShardsResult } from '../../contracts/stages';
import type { CheckpointRef } from '../../contracts/refs';
import { openArtifactStore, readArtifactJson, type ArtifactStore, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { PipelineInputError } from '../errors';
import { modelBatches, type ModelBatch } from '../features/encoded-batches';
import { labelHead } from '../features/label-task';
import type { FittedTransform } from '../features/transform';
import { initBackend } from '../models/backend';
import { createAdam } from '../models/adam';
import { buildModel, fastLossFor, modelInputs, setTrainingStep } from '../models/build-model';
import { saveModel } from '../models/model-io';
import { deriveSeed } from '../random';
import { loadCheckpoint } from './checkpoints';
import { learningRateAt } from './learning-rate';

/** A round of one data-parallel worker as its thread runs it; `resume` comes from the last attempt's heartbeat. */
export type TrainShardsTask = TrainShardsInput & { artifactStore: ArtifactStoreSettings; resume?: TrainShardsHeartbeat['resume'] };

/** What the task reports as it goes: examples so far, and each mid-epoch checkpoint to heartbeat. */
export type TrainProgress = (samples: number, details?: TrainShardsHeartbeat) => void;

/** Called after each optimizer step with the step's learning rate (federated training's proximal step). */
export type AfterBatch = (model: tfl.LayersModel, learningRate: number) => void;

/**
 * Trains one worker's share of a round: batches [fromBatch, toBatch) of its shard group's epoch,
 * starting from the round's checkpoint (weights and optimizer state). Every
 * `checkpointEveryBatches` batches it writes a checkpoint and reports it with the next batch, so
 * a retried attempt (`resume`) continues from there and ends with the same bytes as an attempt
 * that never stopped: the block and row order (shuffled-batches.ts) and the dropout masks are
 * drawn from seeds of (model seed, epoch, worker, step), and the learning rate is a function of
 * the step.
 */
export async function trainShards(input: TrainShardsTask, progress: TrainProgress, afterBatch?: AfterBatch): Promise<TrainShardsResult> {
  const spec = input.model;
  const backend = await initBackend(undefined, { batchSize: spec.batchSize });
  const transform = await readArtifactJson<FittedTransform>(input.transform);
  const head = labelHead(transform);
  const store = openArtifactStore(input.artifactStore);
  const startedAt = Date.now();
  const resume = input.resume;
  const start = resume?.checkpoint ?? input.from;
  // One fused kernel per variable update and for the loss: a step runs a fraction of the kernels.
  const optimizer = createAdam(spec.learningRate);
  const loss = fastLossFor(head.task);
  let model: tfl.LayersModel;
  if (start) {
    model = await loadCheckpoint(start, transform, optimizer, loss);
  } else {
    model = buildModel(spec, transform, head);
    model.compile({ optimizer, loss });
  }

  const firstBatch = resume?.nextBatch ?? input.fromBatch;
  let samples = resume?.samples ?? 0;
  let lossSum = resume?.lossSum ?? 0;
  const secondsBefore = resume?.seconds ?? 0;
  let batchIndex = firstBatch;
  const batches = modelBatches(transform, input.shards, {
    split: 'train',
    batchSize: spec.batchSize,
    shuffleSeed: deriveSeed(spec.seed, 'rows', input.epoch, input.worker),
    fromBatch: firstBatch,
    toBatch: input.toBatch,
    ...(input.share ? { share: input.share } : {}),
  });
  const setLearningRate = (rate: number): void => {
    // Adam keeps its rate in a field the typings mark protected; the schedule sets it per step.
    (optimizer as unknown as { learningRate: number }).learningRate = rate;
  };
  for await (const batch of batches) {
    const where = `epoch ${input.epoch + 1}, batch ${batchIndex + 1} of worker ${input.worker}`;
    assertFinite(batch, where);
    setTrainingStep(input.epoch * input.batchesPerEpoch + batchIndex);
    const rate = learningRateAt(spec.learningRate, spec.learningRateSchedule, {
      epoch: input.epoch,
      batch: batchIndex,
      batchesPerEpoch: input.batchesPerEpoch,
      epochs: spec.epochs,
    });
    setLearningRate(rate);
    const xs = modelInputs(model, transform, batch);
    const ys = tf.tensor2d(batch.y, [batch.rows, 1]);
    const batchLoss = (await model.trainOnBatch(xs, ys)) as number;
    tf.dispose(xs);
    ys.dispose();
    afterBatch?.(model, rate);
    if (!Number.isFinite(batchLoss)) {
      throw new PipelineInputError(
        `training diverged: the loss is ${batchLoss} at ${where}; the weights of this step are discarded. Lower model.learningRate, add a learningRateSchedule, or scale the numeric features (clip, log1p).`,
      );
    }
    lossSum += batchLoss * batch.rows;
    samples += batch.rows;
    batchIndex++;
    if (batchIndex < input.toBatch && (batchIndex - input.fromBatch) % spec.checkpointEveryBatches === 0) {
      const checkpoint = await checkpointHere(store, model, optimizer, input.epoch);
      const seconds = secondsBefore + (Date.now() - startedAt) / 1000;
      progress(samples, { progress: samples, resume: { checkpoint, nextBatch: batchIndex, samples, lossSum, seconds } });
    } else {
      progress(samples);
    }
  }
  if (batchIndex !== input.toBatch) {
    throw new Error(
      `shard group of worker ${input.worker} ended at batch ${batchIndex}, expected ${input.toBatch}: the encoded shards changed since the training plan`,
    );
  }
  const checkpoint = await checkpointHere(store, model, optimizer, input.epoch);
  model.dispose();
  optimizer.dispose();
  return {
    checkpoint,
    backend,
    samples,
    lossSum,
    batches: input.toBatch - input.fromBatch,
    seconds: secondsBefore + (Date.now() - startedAt) / 1000,
    ...(resume ? { resumedAtBatch: resume.nextBatch } : {}),
  };
}

/**
 * Writes the model and optimizer state, then reloads the optimizer's state from what was written:
 * Adam's bias-correction terms are recomputed from the step count on load, which differs in the
 * last bits from the running product an unbroken run keeps. Reloading here puts an unbroken run
 * and a resumed one on the same numbers.
 */
async function checkpointHere(store: ArtifactStore, model: tfl.LayersModel, optimizer: tf.Optimizer, epoch: number): Promise<CheckpointRef> {
  const saved = await saveModel(store, 'checkpoints', model, optimizer);
  await optimizer.setWeights(await optimizer.getWeights());
  return { ...saved, epoch };
}

/** A non-finite input would make every weight NaN: refuse the batch, naming it. */
function assertFinite(batch: ModelBatch, where: string): void {
  const check = (values: Float32Array, what: string): void => {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        throw new PipelineInputError(
          `${what} ${values[i]} in ${where} (row ${Math.floor(i / Math.max(1, values.length / batch.rows)) + 1} of the batch): the transform let a non-finite value through; impute or clip the feature, or check the label column.`,
        );
      }
    }
  };
  check(batch.values, 'feature value');
  check(batch.y, 'label');
}
