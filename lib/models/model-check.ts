import type * as tfl from '@tensorflow/tfjs-layers';
import { PipelineInputError } from '../errors';
import type { FittedTransform } from '../features/transform-format';
import { SparseDense } from './sparse-dense';
import { SparseEmbeddings } from './sparse-embeddings';
import { deepInputLayout, encoderFor, SLOTS_INPUT, VALUES_INPUT } from './transform-input';

/** How a model takes its input: (slot, value) pairs (every model built by buildModel), or the dense one-hot vector (models of earlier versions). */
export type InputKind = 'sparse' | 'dense';

/** The base name of a model input ('slots', 'values'), without the suffix tfjs adds to a repeated name. */
export function inputBaseName(name: string): string {
  return name.replace(/_\d+$/, '');
}

export function inputKindOf(model: tfl.LayersModel): InputKind {
  const names = model.inputs.map((i) => inputBaseName(i.name));
  return names.includes(SLOTS_INPUT) && names.includes(VALUES_INPUT) ? 'sparse' : 'dense';
}

const checked = new WeakMap<tfl.LayersModel, WeakSet<FittedTransform>>();

/**
 * Checks that a model (a loaded one) reads the input this transform produces: its sparse layers'
 * input width against the transform's inputDim, its pairs per row, its embedding tables against
 * the transform's features (a dense model: its input width). Throws a PipelineInputError naming
 * the layer and the fix. Remembers a (model, transform) pair that passed.
 */
export function checkModelFitsTransform(model: tfl.LayersModel, transform: FittedTransform): void {
  if (checked.get(model)?.has(transform)) return;
  const encoder = encoderFor(transform);
  const { inputDim } = encoder.transform;
  const nnz = encoder.nonZerosPerRow;
  const fix = 'Use the transform the model was trained with, or retrain the model on this transform.';
  const kind = inputKindOf(model);
  if (kind === 'dense' && model.inputs.length !== 1) {
    throw new PipelineInputError(
      `the model has inputs ${model.inputs.map((i) => `"${i.name}"`).join(', ')}; pipewright feeds "slots" and "values" (or one dense input): it was not built by pipewright`,
    );
  }
  for (const input of model.inputs) {
    const width = input.shape[input.shape.length - 1];
    const expected = kind === 'sparse' ? nnz : inputDim;
    if (width !== expected) {
      throw new PipelineInputError(
        kind === 'sparse'
          ? `the model's input "${input.name}" takes ${width} (slot, value) pairs per row, but the transform writes ${nnz}: a feature width that does not match the transform. ${fix}`
          : `the model's input "${input.name}" is ${width} wide, but the transform's inputDim is ${inputDim}: a feature width that does not match the transform. ${fix}`,
      );
    }
  }
  for (const layer of model.layers) {
    if (layer instanceof SparseDense && layer.inputDim !== inputDim) {
      throw new PipelineInputError(
        `the model's layer "${layer.name}" takes ${layer.inputDim} input slots, but the transform's inputDim is ${inputDim}: a feature width that does not match the transform. ${fix}`,
      );
    }
    if (layer instanceof SparseEmbeddings) {
      const expected = deepInputLayout(transform);
      const same =
        expected.positions.length === layer.positions.length &&
        expected.positions.every((t, i) => t === layer.positions[i]) &&
        expected.tables.length === layer.tableSpecs.length &&
        expected.tables.every((t, i) => t.first === layer.tableSpecs[i]!.first && t.width === layer.tableSpecs[i]!.width);
      if (!same) {
        throw new PipelineInputError(
          `the model's layer "${layer.name}" embeds ${layer.tableSpecs.map((t) => `${t.name} (${t.width} slots)`).join(', ')}, but the transform has ${expected.tables.map((t) => `${t.name} (${t.width} slots)`).join(', ')}: a feature width that does not match the transform. ${fix}`,
        );
      }
    }
  }
  const ok = checked.get(model) ?? new WeakSet<FittedTransform>();
  ok.add(transform);
  checked.set(model, ok);
}
