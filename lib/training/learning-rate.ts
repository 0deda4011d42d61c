import type { LearningRateSchedule } from '../spec/model-spec';

/** Where a step lies in training: the epoch, and the batch within this worker's epoch of `batchesPerEpoch`. */
export interface StepPosition {
  epoch: number;
  batch: number;
  batchesPerEpoch: number;
  epochs: number;
}

/**
 * The learning rate of one step under the spec's schedule. A pure function of the step's position,
 * so a resumed activity continues the schedule exactly, and data-parallel workers with different
 * batch counts are at the same point of it at the same fraction of their epochs.
 */
export function learningRateAt(base: number, schedule: LearningRateSchedule | undefined, at: StepPosition): number {
  if (!schedule || schedule.kind === 'constant') return base;
  const step = at.epoch * at.batchesPerEpoch + at.batch;
  switch (schedule.kind) {
    case 'exponential':
      return base * Math.pow(schedule.rate, step / schedule.everySteps);
    case 'cosine': {
      const progress = Math.min(1, step / Math.max(1, at.epochs * at.batchesPerEpoch));
      const floor = schedule.minFraction;
      return base * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
    case 'stepDecay': {
      // afterEpochs are 1-based: "after epoch 2" lowers the rate from the third epoch (index 2) on.
      const passed = schedule.afterEpochs.filter((e) => at.epoch >= e).length;
      return base * Math.pow(schedule.factor, passed);
    }
  }
}
