import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed, mulberry32 } from '../random';

let trainingStep = 0;

/**
 * The global training step the next batch trains at; the trainer sets it before each batch, so a
 * step's dropout masks depend on (model seed, layer, step) and nothing else: the same step draws
 * the same masks in a retried or resumed attempt, and every step draws new ones.
 */
export function setTrainingStep(step: number): void {
  if (!Number.isInteger(step) || step < 0) throw new Error(`setTrainingStep takes a step number (an integer from 0), got ${step}`);
  trainingStep = step;
}

export function currentTrainingStep(): number {
  return trainingStep;
}

export interface SeededDropoutArgs {
  name?: string;
  rate: number;
  /** The model's seed. */
  seed: number;
  /** Which dropout layer of the model (part of the mask's seed). */
  index: number;
}

/**
 * Dropout whose mask is drawn from seed (model seed, layer index, training step): reproducible, and
 * new every step (tfjs's Dropout reuses one mask for ever with a fixed seed, and is not
 * reproducible without one). Kept units are scaled by 1 / (1 - rate); at inference it is the identity.
 */
export class SeededDropout extends tfl.layers.Layer {
  static readonly className = 'SeededDropout';
  readonly rate: number;
  readonly seed: number;
  readonly index: number;

  constructor(args: SeededDropoutArgs) {
    super(args.name === undefined ? {} : { name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`dropout must be in [0, 1), got ${args.rate}`);
    this.rate = args.rate;
    this.seed = args.seed;
    this.index = args.index;
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs['training'] !== true || this.rate === 0) return x;
    return tf.tidy(() => tf.mul(x, dropoutMask(x.shape, this.rate, deriveSeed(this.seed, 'dropout', this.index, trainingStep))));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed, index: this.index };
  }
}

/** 1 / (1 - rate) with probability 1 - rate, else 0, from a seeded stream. */
export function dropoutMask(shape: number[], rate: number, seed: number): tf.Tensor {
  const size = shape.reduce((n, d) => n * d, 1);
  const random = mulberry32(seed);
  const keep = 1 / (1 - rate);
  const mask = new Float32Array(size);
  for (let i = 0; i < size; i++) mask[i] = random() < rate ? 0 : keep;
  return tf.tensor(mask, shape, 'float32');
}

tf.serialization.registerClass(SeededDropout);
