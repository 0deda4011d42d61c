import { createHash } from 'node:crypto';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ArtifactRef } from '../../contracts/refs';
import { readArtifactBytes } from '../artifacts/artifact-store';
import { PipelineInputError } from '../errors';
import type { FittedTransform } from '../features/transform';
import type { Loss } from '../models/build-model';
import { loadSavedModel, restoreOptimizer } from '../models/model-io';

/** Reads an artifact and checks it against the sha256 its ref carries: a checkpoint changed on disk must not be trained on. */
export async function verifiedArtifactBytes(ref: Pick<ArtifactRef, 'uri' | 'sha256'>): Promise<Buffer> {
  const bytes = await readArtifactBytes(ref);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== ref.sha256) {
    throw new PipelineInputError(
      `checkpoint ${ref.uri} has sha256 ${actual}, but the run recorded ${ref.sha256}: the file was changed or corrupted after it was written. Start the run again with --no-cache (training restarts from scratch).`,
    );
  }
  return bytes;
}

/** Loads a verified checkpoint, compiles it with `optimizer` and `loss`, and restores the optimizer's state. */
export async function loadCheckpoint(ref: ArtifactRef, transform: FittedTransform, optimizer: tf.Optimizer, loss: Loss): Promise<tfl.LayersModel> {
  await verifiedArtifactBytes(ref);
  const { model, saved } = await loadSavedModel(ref, transform);
  model.compile({ optimizer, loss });
  await restoreOptimizer(optimizer, saved);
  return model;
}
