import type { CheckpointRef } from '../../contracts';
import { earlyStoppingStep, roundRange, type BestEpoch } from '../../workflows/train/training-schedule';

const checkpoint = (epoch: number): CheckpointRef => ({ uri: `file:///c/${epoch}`, sha256: `sha-${epoch}`, bytes: 1, epoch });
const at = (epoch: number, loss: number): BestEpoch => ({ epoch, loss, checkpoint: checkpoint(epoch) });

describe('roundRange', () => {
  test('cuts batches into rounds as equal as integers allow', () => {
    expect([0, 1, 2].map((r) => roundRange(10, r, 3))).toEqual([
      { fromBatch: 0, toBatch: 3 },
      { fromBatch: 3, toBatch: 6 },
      { fromBatch: 6, toBatch: 10 },
    ]);
    expect(roundRange(7, 0, 1)).toEqual({ fromBatch: 0, toBatch: 7 });
  });

  test('the rounds cover 0..batches exactly, in order, with no gap or overlap, for many (batches, rounds)', () => {
    const cases: Array<[number, number]> = [];
    for (let batches = 0; batches <= 130; batches++) for (let rounds = 1; rounds <= 64; rounds++) cases.push([batches, rounds]);
    cases.push([1_000_003, 7], [2 ** 31 - 1, 64], [123_456_789, 13]);
    for (const [batches, rounds] of cases) {
      const ranges = Array.from({ length: rounds }, (_, r) => roundRange(batches, r, rounds));
      let next = 0;
      const sizes: number[] = [];
      for (const { fromBatch, toBatch } of ranges) {
        if (fromBatch !== next || toBatch < fromBatch || !Number.isInteger(fromBatch) || !Number.isInteger(toBatch)) {
          throw new Error(`batches ${batches}, rounds ${rounds}: ${JSON.stringify(ranges)}`);
        }
        sizes.push(toBatch - fromBatch);
        next = toBatch;
      }
      if (next !== batches) throw new Error(`batches ${batches}, rounds ${rounds}: ends at ${next}`);
      // As equal as integers allow: sizes differ by at most one.
      if (Math.max(...sizes) - Math.min(...sizes) > 1) throw new Error(`batches ${batches}, rounds ${rounds}: sizes ${sizes.join(',')}`);
    }
  });

  test('more rounds than batches: some rounds are empty, none is negative, and every batch is still trained once', () => {
    const ranges = [0, 1, 2, 3, 4].map((r) => roundRange(2, r, 5));
    expect(ranges.map((r) => r.toBatch - r.fromBatch)).toEqual([0, 0, 1, 0, 1]);
  });

  test('a round outside 0..rounds-1 is refused', () => {
    expect(() => roundRange(10, -1, 3)).toThrow(RangeError);
    expect(() => roundRange(10, 3, 3)).toThrow(/round 3 is outside 0..2/);
  });
});

describe('earlyStoppingStep', () => {
  const rule = { patience: 2, minDelta: 0 };

  test('the first validated epoch is the best', () => {
    expect(earlyStoppingStep(rule, undefined, at(0, 0.9))).toEqual({ best: at(0, 0.9), stop: false });
  });

  test('a lower loss becomes the best; an equal or higher one does not', () => {
    expect(earlyStoppingStep(rule, at(0, 0.5), at(1, 0.4))).toEqual({ best: at(1, 0.4), stop: false });
    expect(earlyStoppingStep(rule, at(0, 0.5), at(1, 0.5))).toEqual({ stop: false });
    expect(earlyStoppingStep(rule, at(0, 0.5), at(1, 0.6))).toEqual({ stop: false });
  });

  test('an improvement must beat the best by more than minDelta', () => {
    const strict = { patience: 2, minDelta: 0.125 };
    expect(earlyStoppingStep(strict, at(0, 0.5), at(1, 0.375))).toEqual({ stop: false }); // by exactly minDelta: not enough
    expect(earlyStoppingStep(strict, at(0, 0.5), at(1, 0.37))).toEqual({ best: at(1, 0.37), stop: false });
  });

  test('stops once `patience` epochs have passed since the best without an improvement', () => {
    expect(earlyStoppingStep(rule, at(3, 0.5), at(4, 0.6))).toEqual({ stop: false });
    expect(earlyStoppingStep(rule, at(3, 0.5), at(5, 0.6))).toEqual({ stop: true });
    expect(earlyStoppingStep({ patience: 1, minDelta: 0 }, at(3, 0.5), at(4, 0.6))).toEqual({ stop: true });
  });

  test('over a training (as Keras EarlyStopping on val_loss): the epoch it stops after, and the best epoch', () => {
    const run = (losses: number[], r: { patience: number; minDelta: number }): { stoppedAfter: number | undefined; best: number | undefined } => {
      let best: BestEpoch | undefined;
      for (const [epoch, loss] of losses.entries()) {
        const step = earlyStoppingStep(r, best, at(epoch, loss));
        best = step.best ?? best;
        if (step.stop) return { stoppedAfter: epoch + 1, best: best?.epoch };
      }
      return { stoppedAfter: undefined, best: best?.epoch };
    };
    expect(run([0.9, 0.8, 0.7, 0.6], rule)).toEqual({ stoppedAfter: undefined, best: 3 });
    expect(run([0.9, 0.8, 0.85, 0.81, 0.5], rule)).toEqual({ stoppedAfter: 4, best: 1 });
    // The counter restarts at each new best.
    expect(run([0.9, 0.95, 0.8, 0.85, 0.79, 0.8, 0.81, 0.1], rule)).toEqual({ stoppedAfter: 7, best: 4 });
    expect(run([0.9, 0.95, 0.8, 0.85, 0.79, 0.8, 0.81, 0.1], { patience: 3, minDelta: 0 })).toEqual({ stoppedAfter: undefined, best: 7 });
    expect(run([0.9, 0.88, 0.87, 0.5], { patience: 2, minDelta: 0.05 })).toEqual({ stoppedAfter: 3, best: 0 });
  });
});
