import * as tfl from '@tensorflow/tfjs-layers';
import { PipelineInputError } from '../errors';
import type { FittedTransform } from '../features/transform-format';
import type { Task } from '../features/label-task';
import { deriveSeed } from '../random';
import { hiddenLayersOf, type ModelSpec } from '../spec/model-spec';
import type { LayerActivation } from './activations';
import { FastDense } from './fast-dense';
import { deepInputLayout, encoderFor, SLOTS_INPUT, VALUES_INPUT } from './transform-input';
import { SeededDropout } from './seeded-dropout';
import { SparseDense } from './sparse-dense';
import { SparseEmbeddings } from './sparse-embeddings';
import { binaryCrossentropy } from './sparse-ops';

export type { Task } from '../features/label-task';
export { modelInputs } from './model-inputs';
export { setTrainingStep } from './seeded-dropout';
export { checkModelFitsTransform } from './model-check';
export { deepInputLayout, defaultEmbeddingDim } from './transform-input';

/** The model's output: the task decides its activation and loss; units is 1, or the class count for multiclass. */
export interface ModelHead {
  task: Task;
  units: number;
}

const OUTPUT_ACTIVATION: Record<Task, LayerActivation> = { binary: 'sigmoid', multiclass: 'softmax', regression: 'linear' };

/** The loss tfjs-layers trains a head with, by name (sparse categorical cross-entropy takes class indices as floats [rows, 1]). */
export function lossFor(task: Task): string {
  switch (task) {
    case 'binary':
      return 'binaryCrossentropy';
    case 'multiclass':
      return 'sparseCategoricalCrossentropy';
    case 'regression':
      return 'meanSquaredError';
  }
}

/** A loss as model.compile takes it. */
export type Loss =
  string | ((yTrue: import('@tensorflow/tfjs-core').Tensor, yPred: import('@tensorflow/tfjs-core').Tensor) => import('@tensorflow/tfjs-core').Tensor);

/**
 * lossFor, with binary cross-entropy as one kernel each way (sparse-ops.ts) where the backend has
 * it: the same values as 'binaryCrossentropy' (to float rounding), and about 60 fewer small ops per
 * step, a third of a logistic model's step on wasm. Multiclass and regression keep the named
 * losses (tfjs-layers checks a sparse categorical target's shape only for its own function).
 */
export function fastLossFor(task: Task): Loss {
  return task === 'binary' ? binaryCrossentropy : lossFor(task);
}

/**
 * The spec's network over a transform's sparse input, for a head:
 *   logistic / linear  act(SparseDense) straight to the output (the task picks act)
 *   mlp                SparseDense as the first hidden layer, then dense layers, dropout after each
 *   wideDeep           SparseDense over every slot to the output logits, plus embeddings of the
 *                      categorical-like features and the other values through the hidden layers
 *                      to logits; the two added, then the output activation
 * Inputs: slots (int32) and values, [rows, nnz] each (see modelInputs). Every initialiser is
 * seeded from spec.seed, so a spec builds the same initial weights every time; dropout masks are
 * seeded per training step (setTrainingStep). L2 (spec.l2) applies to every kernel.
 */
export function buildModel(spec: ModelSpec, transform: FittedTransform, head: ModelHead): tfl.LayersModel {
  const encoder = encoderFor(transform);
  const { inputDim } = encoder.transform;
  const nnz = encoder.nonZerosPerRow;
  if (nnz === 0) throw new PipelineInputError('the transform has no features: add at least one to transform.features');
  if (!(Number.isInteger(head.units) && head.units >= 1)) throw new Error(`a model head needs at least one unit, got ${head.units}`);
  if (head.task !== 'multiclass' && head.units !== 1) throw new Error(`a ${head.task} head has 1 unit, got ${head.units}`);
  const outputActivation = OUTPUT_ACTIVATION[head.task];
  const l2 = spec.l2 ?? 0;
  const seedOf = (...where: Array<string | number>): number => deriveSeed(spec.seed, 'init', ...where);

  const slots = tfl.input({ shape: [nnz], dtype: 'int32', name: SLOTS_INPUT });
  const values = tfl.input({ shape: [nnz], dtype: 'float32', name: VALUES_INPUT });
  const hidden = hiddenLayersOf(spec);
  let dropouts = 0;
  const withDropout = (x: tfl.SymbolicTensor, rate: number, name: string): tfl.SymbolicTensor =>
    rate > 0 ? (new SeededDropout({ name, rate, seed: spec.seed, index: dropouts++ }).apply(x) as tfl.SymbolicTensor) : x;
  const dense = (x: tfl.SymbolicTensor, units: number, activation: LayerActivation, name: string, seed: number): tfl.SymbolicTensor =>
    new FastDense({ name, units, activation, seed, l2 }).apply(x) as tfl.SymbolicTensor;
  const sparseDense = (name: string, units: number, activation: LayerActivation, seed: number): tfl.SymbolicTensor =>
    new SparseDense({ name, inputDim, units, activation, seed, l2 }).apply([slots, values]) as tfl.SymbolicTensor;

  let output: tfl.SymbolicTensor;
  switch (spec.type) {
    case 'logistic':
    case 'linear':
    case 'mlp': {
      if (hidden.length === 0) {
        output = sparseDense('output', head.units, outputActivation, seedOf(0));
        break;
      }
      let x = sparseDense('hidden_0', hidden[0]!.units, hidden[0]!.activation, seedOf(0));
      x = withDropout(x, hidden[0]!.dropout, 'dropout_0');
      hidden.slice(1).forEach((layer, i) => {
        x = dense(x, layer.units, layer.activation, `hidden_${i + 1}`, seedOf(i + 1));
        x = withDropout(x, layer.dropout, `dropout_${i + 1}`);
      });
      output = dense(x, head.units, outputActivation, 'output', seedOf(hidden.length));
      break;
    }
    case 'wideDeep': {
      const layout = deepInputLayout(transform, spec.embeddingDim);
      if (layout.tables.length === 0) {
        throw new PipelineInputError(
          'model.type "wideDeep" embeds categorical-like features (categorical, hashed, cross, quantileBuckets, hourOfDay, dayOfWeek, a non-cyclical timestamp), but this transform has none: use model.type "mlp"',
        );
      }
      const wide = sparseDense('wide', head.units, 'linear', seedOf('wide'));
      let x = new SparseEmbeddings({ name: 'deep_embeddings', positions: layout.positions, tables: layout.tables, seed: seedOf('embeddings') }).apply([
        slots,
        values,
      ]) as tfl.SymbolicTensor;
      hidden.forEach((layer, i) => {
        x = dense(x, layer.units, layer.activation, `deep_${i}`, seedOf('deep', i));
        x = withDropout(x, layer.dropout, `dropout_${i}`);
      });
      const deep = dense(x, head.units, 'linear', 'deep_logits', seedOf('deep', hidden.length));
      const logits = tfl.layers.add({ name: 'logits' }).apply([wide, deep]) as tfl.SymbolicTensor;
      output =
        outputActivation === 'linear' ? logits : (tfl.layers.activation({ name: 'output', activation: outputActivation }).apply(logits) as tfl.SymbolicTensor);
      break;
    }
  }
  return tfl.model({ inputs: [slots, values], outputs: output, name: `pipewright_${spec.type}` });
}

/**
 * The network of earlier pipewright versions, over the dense one-hot input [rows, inputDim]: ReLU
 * hidden layers and a sigmoid output. Kept for the backend benchmark (bench/train-backends.ts) and
 * as the baseline of bench/sparse-step.ts.
 */
export function buildDenseModel(spec: ModelSpec, inputDim: number): tfl.Sequential {
  const hidden = hiddenLayersOf(spec).map((l) => l.units);
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
