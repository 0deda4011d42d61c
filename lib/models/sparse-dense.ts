import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { applyActivation, kernelRegularizer, type LayerActivation } from './activations';
import { sparseMatMul } from './sparse-ops';

export interface SparseDenseArgs {
  name?: string;
  /** Width of the dense input vector the (slot, value) pairs index into: the transform's inputDim. */
  inputDim: number;
  units: number;
  activation?: LayerActivation;
  /** Seed of the kernel's Glorot-uniform initialiser. */
  seed: number;
  /** L2 penalty on the kernel (0: none). */
  l2?: number;
}

/**
 * A dense layer whose input is given as (slot, value) pairs: inputs [slots int32 [rows, nnz],
 * values [rows, nnz]], output act(Σ_k values[:, k] · kernel[slots[:, k], :] + bias), which is the
 * dense layer on the one-hot matrix those pairs describe, at nnz/inputDim of its cost.
 */
export class SparseDense extends tfl.layers.Layer {
  static readonly className = 'SparseDense';
  readonly inputDim: number;
  readonly units: number;
  readonly activation: LayerActivation;
  readonly seed: number;
  readonly l2: number;
  private kernel: tfl.LayerVariable | null = null;
  private bias: tfl.LayerVariable | null = null;

  constructor(args: SparseDenseArgs) {
    super(args.name === undefined ? {} : { name: args.name });
    this.inputDim = args.inputDim;
    this.units = args.units;
    this.activation = args.activation ?? 'linear';
    this.seed = args.seed;
    this.l2 = args.l2 ?? 0;
  }

  override build(): void {
    this.kernel = this.addWeight(
      'kernel',
      [this.inputDim, this.units],
      'float32',
      tfl.initializers.glorotUniform({ seed: this.seed }),
      kernelRegularizer(this.l2),
      true,
    );
    this.bias = this.addWeight('bias', [this.units], 'float32', tfl.initializers.zeros(), undefined, true);
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const first = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [first[0] ?? null, this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [slots, values] = sparseInputs(inputs, this.name);
      const relu = this.activation === 'relu';
      const z = sparseMatMul(slots, values, this.kernel!.read(), this.bias!.read(), relu);
      return relu ? z : applyActivation(z, this.activation);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), inputDim: this.inputDim, units: this.units, activation: this.activation, seed: this.seed, l2: this.l2 };
  }
}

/** The [slots, values] pair a sparse layer takes, as int32 and float32. */
export function sparseInputs(inputs: tf.Tensor | tf.Tensor[], layer: string): [tf.Tensor, tf.Tensor] {
  if (!Array.isArray(inputs) || inputs.length !== 2) throw new Error(`layer "${layer}" takes two inputs: slots and values`);
  const [slots, values] = inputs as [tf.Tensor, tf.Tensor];
  return [slots.dtype === 'int32' ? slots : tf.cast(slots, 'int32'), values.dtype === 'float32' ? values : tf.cast(values, 'float32')];
}

tf.serialization.registerClass(SparseDense);
