import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { applyActivation, kernelRegularizer, type LayerActivation } from './activations';
import { denseMatMul } from './sparse-ops';

export interface FastDenseArgs {
  name?: string;
  units: number;
  activation?: LayerActivation;
  /** Seed of the kernel's Glorot-uniform initialiser. */
  seed: number;
  /** L2 penalty on the kernel (0: none). */
  l2?: number;
}

/**
 * tfl.layers.dense (kernel, bias, activation; the same initial weights for the same seed) with a
 * backward pass that is one kernel on wasm instead of ~12 ops, two of them transposed products
 * that leave XNNPACK's fast path (see sparse-kernels.ts, DENSE_GRAD). Input [rows, inputWidth].
 */
export class FastDense extends tfl.layers.Layer {
  static readonly className = 'FastDense';
  readonly units: number;
  readonly activation: LayerActivation;
  readonly seed: number;
  readonly l2: number;
  private kernel: tfl.LayerVariable | null = null;
  private bias: tfl.LayerVariable | null = null;

  constructor(args: FastDenseArgs) {
    super(args.name === undefined ? {} : { name: args.name });
    this.units = args.units;
    this.activation = args.activation ?? 'linear';
    this.seed = args.seed;
    this.l2 = args.l2 ?? 0;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const inputWidth = shape[shape.length - 1];
    if (typeof inputWidth !== 'number') throw new Error(`layer "${this.name}" needs a known input width`);
    this.kernel = this.addWeight(
      'kernel',
      [inputWidth, this.units],
      'float32',
      tfl.initializers.glorotUniform({ seed: this.seed }),
      kernelRegularizer(this.l2),
      true,
    );
    this.bias = this.addWeight('bias', [this.units], 'float32', tfl.initializers.zeros(), undefined, true);
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [shape[0] ?? null, this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const relu = this.activation === 'relu';
      const z = denseMatMul(x, this.kernel!.read(), this.bias!.read(), relu);
      return relu ? z : applyActivation(z, this.activation);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units, activation: this.activation, seed: this.seed, l2: this.l2 };
  }
}

tf.serialization.registerClass(FastDense);
