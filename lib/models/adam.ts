import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE, hasSparseKernels } from './sparse-kernels';

interface Moment {
  originalName: string;
  variable: tf.Variable;
}

/** AdamOptimizer's private state, which this subclass keeps in the same shape. */
interface AdamState {
  accumulatedFirstMoment: Array<Moment | undefined>;
  accumulatedSecondMoment: Array<Moment | undefined>;
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * tf.train.adam with each variable's update (both moments and the step) as one kernel on wasm and
 * cpu, instead of about 17 small ops per variable: a model's 6 variables cost ~100 dispatches a
 * step otherwise. Same state as tf.AdamOptimizer (getWeights / setWeights / restoreOptimizer are
 * unchanged, the learningRate field can still be set per step), same arithmetic up to float
 * rounding. Falls back to tf.AdamOptimizer's update on other backends.
 */
export class FastAdam extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!hasSparseKernels()) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    // Bias corrections of step t = iterations + 1, as AdamOptimizer's accBeta1/accBeta2 hold them.
    const t = this.iterations + 1;
    const correction1 = 1 - Math.pow(state.beta1, t);
    const correction2 = 1 - Math.pow(state.beta2, t);
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name]!;
        state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient: tf.Tensor | undefined = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name];
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i]!.variable;
        const v = state.accumulatedSecondMoment[i]!.variable;
        const [x1, m1, v1] = tf
          .engine()
          .runKernel(
            ADAM_UPDATE,
            { x: value, g: gradient, m, v },
            { learningRate: state.learningRate, beta1: state.beta1, beta2: state.beta2, epsilon: state.epsilon, correction1, correction2 },
          ) as tf.Tensor[];
        m.assign(m1!);
        v.assign(v1!);
        value.assign(x1!);
      });
    });
    this.incrementIterations();
  }
}

/** Adam as the trainer should create it: FastAdam (tf.AdamOptimizer's state and defaults). */
export function createAdam(learningRate: number): FastAdam {
  return new FastAdam(learningRate);
}
