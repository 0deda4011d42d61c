import { learningRateAt, type StepPosition } from '../../lib/training/learning-rate';
import { modelSpecSchema, type LearningRateSchedule } from '../../lib/spec/model-spec';

const BASE = 0.01;
/** Step `batch` of `epoch` in a training of `epochs` epochs of `batchesPerEpoch` batches. */
const step = (epoch: number, batch: number, batchesPerEpoch = 10, epochs = 4): StepPosition => ({ epoch, batch, batchesPerEpoch, epochs });

describe('learningRateAt', () => {
  test('no schedule, or constant: the base rate at every step', () => {
    for (const schedule of [undefined, { kind: 'constant' } as const]) {
      for (const at of [step(0, 0), step(1, 7), step(3, 9)]) expect(learningRateAt(BASE, schedule, at)).toBe(BASE);
    }
  });

  test('exponential: base · rate^(step / everySteps), the step counted over epochs', () => {
    const schedule: LearningRateSchedule = { kind: 'exponential', rate: 0.5, everySteps: 10 };
    expect(learningRateAt(BASE, schedule, step(0, 0))).toBe(BASE);
    expect(learningRateAt(BASE, schedule, step(1, 0))).toBeCloseTo(BASE / 2, 15); // step 10
    expect(learningRateAt(BASE, schedule, step(2, 0))).toBeCloseTo(BASE / 4, 15); // step 20
    expect(learningRateAt(BASE, schedule, step(1, 5))).toBeCloseTo(BASE * 0.5 ** 1.5, 15); // step 15: smooth, not staircase
    // The same global step, however the epochs are cut.
    expect(learningRateAt(BASE, schedule, step(0, 30, 40))).toBeCloseTo(learningRateAt(BASE, schedule, step(3, 0, 10)), 15);
  });

  test('cosine: from the base down to minFraction · base over every step of the training, then held', () => {
    const schedule: LearningRateSchedule = { kind: 'cosine', minFraction: 0 };
    // 4 epochs of 10 batches: 40 steps.
    expect(learningRateAt(BASE, schedule, step(0, 0))).toBe(BASE);
    expect(learningRateAt(BASE, schedule, step(1, 0))).toBeCloseTo(BASE * 0.5 * (1 + Math.cos(Math.PI / 4)), 15);
    expect(learningRateAt(BASE, schedule, step(2, 0))).toBeCloseTo(BASE / 2, 15);
    expect(learningRateAt(BASE, schedule, step(4, 0))).toBeCloseTo(0, 15);
    expect(learningRateAt(BASE, schedule, step(5, 3))).toBeCloseTo(0, 15);

    const floored: LearningRateSchedule = { kind: 'cosine', minFraction: 0.1 };
    expect(learningRateAt(BASE, floored, step(0, 0))).toBeCloseTo(BASE, 15);
    expect(learningRateAt(BASE, floored, step(2, 0))).toBeCloseTo(BASE * 0.55, 15);
    expect(learningRateAt(BASE, floored, step(4, 0))).toBeCloseTo(BASE * 0.1, 15);
  });

  test('cosine: workers with different batch counts are at the same rate at the same fraction of their epochs', () => {
    const schedule: LearningRateSchedule = { kind: 'cosine', minFraction: 0 };
    expect(learningRateAt(BASE, schedule, step(1, 4, 8))).toBeCloseTo(learningRateAt(BASE, schedule, step(1, 5, 10)), 15);
  });

  test('stepDecay: base · factor after each listed (1-based) epoch, the same for every batch of an epoch', () => {
    const schedule: LearningRateSchedule = { kind: 'stepDecay', afterEpochs: [2, 4], factor: 0.1 };
    const byEpoch = [0, 1, 2, 3, 4, 5].map((e) => learningRateAt(BASE, schedule, step(e, 0, 10, 6)));
    expect(byEpoch[0]).toBe(BASE);
    expect(byEpoch[1]).toBe(BASE);
    expect(byEpoch[2]).toBeCloseTo(BASE * 0.1, 15); // "after epoch 2": from the third epoch (index 2)
    expect(byEpoch[3]).toBeCloseTo(BASE * 0.1, 15);
    expect(byEpoch[4]).toBeCloseTo(BASE * 0.01, 15);
    expect(byEpoch[5]).toBeCloseTo(BASE * 0.01, 15);
    expect(learningRateAt(BASE, schedule, step(1, 9, 10, 6))).toBe(BASE);
    expect(learningRateAt(BASE, schedule, step(2, 9, 10, 6))).toBe(byEpoch[2]);
  });

  test('schedules as the spec parses them (cosine minFraction defaults to 0)', () => {
    const model = modelSpecSchema.parse({ learningRate: BASE, epochs: 4, learningRateSchedule: { kind: 'cosine' } });
    expect(learningRateAt(model.learningRate, model.learningRateSchedule, step(4, 0))).toBeCloseTo(0, 15);
    expect(learningRateAt(model.learningRate, model.learningRateSchedule, step(2, 0))).toBeCloseTo(BASE / 2, 15);
  });
});
