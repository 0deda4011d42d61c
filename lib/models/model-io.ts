import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ArtifactStore, readArtifactJson } from '../artifacts/artifact-store';
import type { ArtifactRef } from '../../contracts/refs';
import type { FittedTransform } from '../features/transform-format';
// Registers the custom layers (SparseDense, FastDense, SparseEmbeddings, SeededDropout) so models deserialise.
import './custom-layers';
import { checkModelFitsTransform } from './model-check';

/** A model (and optionally its optimizer state) as one self-contained JSON artifact. */
export interface SavedModel {
  format: 'pipewright.tfjs-layers/v1';
  modelTopology: unknown;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: string; // base64
  optimizer?: { specs: tf.io.WeightsManifestEntry[]; data: string };
}

function toBase64(data: tf.io.WeightData): string {
  const buffers = Array.isArray(data) ? data : [data];
  return Buffer.concat(buffers.map((b) => Buffer.from(b))).toString('base64');
}

function toArrayBuffer(base64: string): ArrayBuffer {
  const buf = Buffer.from(base64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

export async function saveModel(store: ArtifactStore, kind: string, model: tfl.LayersModel, optimizer?: tf.Optimizer): Promise<ArtifactRef> {
  let saved: SavedModel | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = {
        format: 'pipewright.tfjs-layers/v1',
        modelTopology: artifacts.modelTopology,
        weightSpecs: artifacts.weightSpecs ?? [],
        weightData: toBase64(artifacts.weightData ?? new ArrayBuffer(0)),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved) throw new Error('model.save produced no artifacts');
  if (optimizer) {
    const encoded = await tf.io.encodeWeights(await optimizer.getWeights());
    // Optimizer slots are named after the process's variable names, which carry a per-process
    // uniqueness suffix (dense_1/kernel_3/m): name them by position instead (restoring is
    // positional), so a checkpoint's bytes depend only on the training, not on what else the
    // process built before.
    const specs = encoded.specs.map((s, i) => ({ ...s, name: s.name === 'iter' ? 'iter' : `slot_${i}` }));
    saved.optimizer = { specs, data: toBase64(encoded.data) };
  }
  return store.putJson(kind, saved);
}

/**
 * Loads a saved model. With `transform`, also checks that the model reads the input that transform
 * produces (a PipelineInputError naming the mismatch otherwise).
 */
export async function loadSavedModel(ref: Pick<ArtifactRef, 'uri'>, transform?: FittedTransform): Promise<{ model: tfl.LayersModel; saved: SavedModel }> {
  const saved = await readArtifactJson<SavedModel>(ref);
  if (saved.format !== 'pipewright.tfjs-layers/v1') throw new Error(`${ref.uri} is not a pipewright model (format ${String(saved.format)})`);
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: saved.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightSpecs: saved.weightSpecs,
      weightData: toArrayBuffer(saved.weightData),
    }),
  );
  if (transform) {
    try {
      checkModelFitsTransform(model, transform);
    } catch (err) {
      model.dispose();
      throw err;
    }
  }
  return { model, saved };
}

/** Restores Adam's moments and step count so a resumed epoch continues exactly where it stopped. */
export async function restoreOptimizer(optimizer: tf.Optimizer, saved: SavedModel): Promise<void> {
  if (!saved.optimizer) return;
  const map = tf.io.decodeWeights(toArrayBuffer(saved.optimizer.data), saved.optimizer.specs);
  await optimizer.setWeights(saved.optimizer.specs.map((s) => ({ name: s.name, tensor: map[s.name]! })));
}
