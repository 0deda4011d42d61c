import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Activation } from '../spec/model-spec';

/** A hidden layer's activation (the spec's), or an output's. */
export type LayerActivation = Activation | 'softmax';

/** Applies an activation with tf ops (SparseDense fuses relu and linear into its kernel instead). */
export function applyActivation(x: tf.Tensor, activation: LayerActivation): tf.Tensor {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'elu':
      return tf.elu(x);
    case 'selu':
      return tf.selu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'softplus':
      return tf.softplus(x);
    case 'softmax':
      return tf.softmax(x);
  }
}

/** L2 on a kernel, or none when the penalty is 0 (a zero penalty still costs ops every step). */
export function kernelRegularizer(l2: number): ReturnType<typeof tfl.regularizers.l2> | undefined {
  return l2 > 0 ? tfl.regularizers.l2({ l2 }) : undefined;
}
