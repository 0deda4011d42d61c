import * as tf from '@tensorflow/tfjs-core';
import {
  BINARY_CROSSENTROPY,
  BINARY_CROSSENTROPY_GRAD,
  DENSE_FORWARD,
  DENSE_GRAD,
  hasDenseForwardKernel,
  hasDenseGradKernel,
  EMBED,
  EMBED_CONCAT,
  EMBED_CONCAT_GRAD,
  LAYOUT_STRIDE,
  PASS_VALUE,
  SPARSE_MATMUL,
  SPARSE_MATMUL_GRAD,
  hasSparseKernels,
  type EmbedLayout,
} from './sparse-kernels';

/**
 * Differentiable ops over sparse rows, on the kernels of sparse-kernels.ts where the backend has
 * them (wasm, cpu) and on stock ops elsewhere. Gradients flow to the weights only: slots and
 * values are model inputs.
 */

const run = (kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap): tf.Tensor | tf.Tensor[] =>
  tf.engine().runKernel(kernelName, inputs, attrs) as tf.Tensor | tf.Tensor[];

/**
 * act(bias + Σ_k values[:, k] · weights[slots[:, k], :]): the dense layer on the one-hot matrix
 * the pairs describe. slots int32 [rows, nnz], values [rows, nnz], weights [inputDim, units],
 * bias [units]; relu or linear.
 */
export function sparseMatMul(slots: tf.Tensor, values: tf.Tensor, weights: tf.Tensor, bias: tf.Tensor, relu: boolean): tf.Tensor2D {
  const inputDim = weights.shape[0]!;
  if (!hasSparseKernels()) {
    return tf.tidy(() => {
      const [rows, nnz] = slots.shape as [number, number];
      const units = weights.shape[1]!;
      const gathered = tf.reshape(tf.gather(weights, tf.reshape(slots, [rows * nnz])), [rows, nnz, units]);
      const summed = tf.add(tf.sum(tf.mul(gathered, tf.expandDims(values, 2)), 1), bias);
      return (relu ? tf.relu(summed) : summed) as tf.Tensor2D;
    });
  }
  // Tensors the gradient needs go through save(): a closure's tensors may be disposed by the
  // tidy scopes of the layer and of the loss before the backward pass runs.
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [w, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const y = run(SPARSE_MATMUL, { slots, values, weights: w, bias: b }, { relu }) as tf.Tensor;
    save([slots, values, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [s, v, out] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        return run(SPARSE_MATMUL_GRAD, { slots: s, values: v, dy: dy as tf.Tensor, y: out }, { relu, inputDim }) as tf.Tensor[];
      },
    };
  });
  return op(weights, bias) as tf.Tensor2D;
}

/**
 * Per pair position, the embedding of the row's slot (EMBED) or its value (PASS_VALUE), concatenated
 * in layout order: [rows, layout.outWidth].
 */
export function embedConcat(slots: tf.Tensor, values: tf.Tensor, tables: tf.Tensor[], layout: EmbedLayout): tf.Tensor2D {
  if (!hasSparseKernels()) {
    return tf.tidy(() => {
      const parts: tf.Tensor[] = [];
      const nnz = slots.shape[1]!;
      for (let k = 0; k < nnz; k++) {
        const p = k * LAYOUT_STRIDE;
        const mode = layout.positions[p];
        if (mode === EMBED) {
          const index = tf.sub(tf.reshape(tf.slice(slots, [0, k], [-1, 1]), [-1]), tf.scalar(layout.positions[p + 1]!, 'int32'));
          parts.push(tf.gather(tables[layout.positions[p + 5]!]!, index));
        } else if (mode === PASS_VALUE) {
          parts.push(tf.slice(values, [0, k], [-1, 1]));
        }
      }
      return tf.concat(parts, 1) as tf.Tensor2D;
    });
  }
  const inputs = (extra: tf.NamedTensorMap, ts: tf.Tensor[]): tf.NamedTensorMap => {
    ts.forEach((t, i) => (extra[`t${i}`] = t));
    return extra;
  };
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    // customGrad passes a save function after the tensors.
    const ts = args.slice(0, tables.length) as tf.Tensor[];
    const save = args[tables.length] as tf.GradSaveFunc;
    const y = run(EMBED_CONCAT, inputs({ slots, values }, ts), layout) as tf.Tensor;
    save([slots, ...ts]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [s, ...t] = saved as [tf.Tensor, ...tf.Tensor[]];
        return run(EMBED_CONCAT_GRAD, inputs({ slots: s, dy: dy as tf.Tensor }, t), layout) as tf.Tensor[];
      },
    };
  });
  return op(...tables) as tf.Tensor2D;
}

/**
 * Binary cross-entropy per row of probabilities [rows, 1] against 0/1 labels [rows, 1], as
 * tfjs-layers' 'binaryCrossentropy' computes it (clip to [ε, 1 - ε]), in one kernel each way
 * instead of about sixty small ops. Returns [rows].
 */
export function binaryCrossentropy(labels: tf.Tensor, predictions: tf.Tensor): tf.Tensor {
  const epsilon = tf.backend().epsilon();
  if (!hasSparseKernels() || predictions.shape.length !== 2 || predictions.shape[1] !== 1) {
    return tf.tidy(() => {
      const p = tf.clipByValue(predictions, epsilon, 1 - epsilon);
      const y = tf.cast(labels, 'float32');
      return tf.mean(tf.neg(tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p))))), -1);
    });
  }
  const y = labels.dtype === 'float32' ? labels : tf.cast(labels, 'float32');
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [p, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([y, p]);
    return {
      value: run(BINARY_CROSSENTROPY, { labels: y, predictions: p }, { epsilon }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [labels, predictions] = saved as [tf.Tensor, tf.Tensor];
        return run(BINARY_CROSSENTROPY_GRAD, { labels, predictions, dy: dy as tf.Tensor }, { epsilon }) as tf.Tensor;
      },
    };
  });
  return op(predictions);
}

/**
 * act(x·w + b) for act linear or relu: the forward product is tfjs's fused matMul (XNNPACK on
 * wasm); the backward pass is one kernel on wasm (DENSE_GRAD) and stock ops elsewhere.
 */
export function denseMatMul(x: tf.Tensor, weights: tf.Tensor, bias: tf.Tensor, relu: boolean): tf.Tensor2D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xt, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor, tf.GradSaveFunc];
    const y = hasDenseForwardKernel()
      ? (run(DENSE_FORWARD, { x: xt, w, bias: b }, { relu }) as tf.Tensor2D)
      : tf.fused.matMul({ a: xt, b: w, bias: b, activation: relu ? 'relu' : 'linear' });
    save([xt, w, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, ws, ys] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D;
        if (hasDenseGradKernel()) return run(DENSE_GRAD, { x: xs, w: ws, dy: g, y: ys }, { relu }) as tf.Tensor[];
        const dz = relu ? tf.mul(g, tf.step(ys)) : g;
        return [tf.matMul(dz, ws, false, true), tf.matMul(xs, dz, true, false), tf.sum(dz, 0)];
      },
    };
  });
  return op(x, weights, bias) as tf.Tensor2D;
}
