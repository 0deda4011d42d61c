/**
 * ASHA's promotions on a synthetic objective, and the search's trial sampling. Expected values are
 * worked out by hand from Ray Tune's rule (the (1 − 1/η) quantile of the metrics recorded at a rung
 * before this one, numpy's linear interpolation; below it, the trial stops).
 */
import { AshaScheduler, ashaRungs, quantile, type AshaDecision } from '../../workflows/tune/asha';
import { gridTrials, mulberry32, planTrials, sampleTrials } from '../../workflows/tune/sample-trials';
import { formatParams, higherIsBetter, returnedEpoch, trialModel } from '../../workflows/tune/trial-model';
import { modelSpecSchema } from '../../lib/spec/model-spec';
import { tuningSpecSchema } from '../../lib/spec/tuning-spec';
import type { TrainModelResult } from '../../contracts';

/** The synthetic objective: a trial of quality q scores q · (1 − e^(−epochs)); better q is better at every epoch. */
const objective = (quality: number, epochs: number): number => quality * (1 - Math.exp(-epochs));

/**
 * Runs trials one after another (parallelism 1) through the scheduler, each epoch by epoch until it
 * is stopped or reaches maxResource; returns the epochs each trained.
 */
function runSequentially(qualities: number[], scheduler: AshaScheduler, maxResource: number, score = objective): number[] {
  return qualities.map((q, i) => {
    for (let epochs = 1; epochs <= maxResource; epochs++) {
      if (scheduler.onResult(`t${i}`, epochs, score(q, epochs)) === 'stop') return epochs;
    }
    return maxResource;
  });
}

/**
 * Runs trials `parallelism` at a time, as the search does: the next trial starts when one stops or
 * finishes. Trial i takes 1 + (i mod 3) ticks per epoch, so reports interleave; reports that land
 * on the same tick arrive in trial order. Returns the epochs each trained.
 */
function runInParallel(qualities: number[], scheduler: AshaScheduler, maxResource: number, parallelism: number): number[] {
  const epochs = qualities.map(() => 0);
  const epochEnds = new Map<number, number>(); // running trial → tick its current epoch ends
  let next = 0;
  for (let tick = 0; next < qualities.length || epochEnds.size > 0; tick++) {
    for (const i of [...epochEnds.keys()].sort((a, b) => a - b)) {
      if (epochEnds.get(i) !== tick) continue;
      epochs[i]!++;
      const decision: AshaDecision = scheduler.onResult(`t${i}`, epochs[i]!, objective(qualities[i]!, epochs[i]!));
      if (decision === 'stop' || epochs[i] === maxResource) epochEnds.delete(i);
      else epochEnds.set(i, tick + 1 + (i % 3));
    }
    while (epochEnds.size < parallelism && next < qualities.length) {
      epochEnds.set(next, tick + 1 + (next % 3));
      next++;
    }
  }
  return epochs;
}

/** The values in a fixed shuffled order: Fisher–Yates driven by mulberry32(seed). */
function shuffled<T>(values: T[], seed: number): T[] {
  const next = mulberry32(seed);
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('ASHA scheduler', () => {
  test('rungs at gracePeriod · η^k below the maximum resource', () => {
    expect(ashaRungs({ gracePeriod: 1, reductionFactor: 3, maxResource: 9 })).toEqual([1, 3]);
    expect(ashaRungs({ gracePeriod: 1, reductionFactor: 3, maxResource: 10 })).toEqual([1, 3, 9]);
    expect(ashaRungs({ gracePeriod: 2, reductionFactor: 2, maxResource: 20 })).toEqual([2, 4, 8, 16]);
    expect(ashaRungs({ gracePeriod: 5, reductionFactor: 3, maxResource: 5 })).toEqual([]);
    expect(() => ashaRungs({ gracePeriod: 1, reductionFactor: 1, maxResource: 9 })).toThrow(/reductionFactor > 1/);
  });

  test('quantile interpolates linearly between ranks, as numpy.percentile', () => {
    expect(quantile([0.5], 2 / 3)).toBe(0.5);
    expect(quantile([0.9, 0.5], 2 / 3)).toBeCloseTo(0.5 + (2 / 3) * 0.4, 12);
    expect(quantile([0.1, 0.9, 0.5, 0.7], 2 / 3)).toBeCloseTo(0.7, 12);
    expect(quantile([3, 1, 2], 0)).toBe(1);
    expect(quantile([3, 1, 2], 1)).toBe(3);
  });

  test('9 trials in a fixed order, η = 3, grace 1, max 9: which stop at which rung, worked out by hand', () => {
    // Rung 1 cut-offs as the trials arrive: (none) → .5 → .767 → .633 → .7 → .633 → .733 → .7 → .7:
    // .5, .9, .7, .8 go on, .1, .3, .2, .6, .4 stop. Rung 3 (of .5, .9, .7, .8): (none) → .5 → .767 → .767:
    // .7 stops there, .5, .9 and .8 reach 9 epochs: 3 of 9 = 9/η.
    const qualities = [0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6, 0.4];
    const scheduler = new AshaScheduler({ gracePeriod: 1, reductionFactor: 3, maxResource: 9, higherIsBetter: true });
    expect(runSequentially(qualities, scheduler, 9)).toEqual([9, 9, 1, 3, 1, 9, 1, 1, 1]);
    // Every trial that reached a rung is recorded there, stopped or not.
    const [rung1, rung3] = scheduler.recorded();
    expect(rung1!.epochs).toBe(1);
    expect([...rung1!.metrics.keys()]).toEqual(qualities.map((_, i) => `t${i}`));
    expect(rung1!.metrics.get('t1')).toBeCloseTo(objective(0.9, 1), 12);
    expect(rung3!.epochs).toBe(3);
    expect([...rung3!.metrics.keys()].sort()).toEqual(['t0', 't1', 't3', 't5']);
  });

  test('lower-is-better: the same run with a loss of (1 − q) · (1 + e^(−epochs)) stops the same trials', () => {
    const qualities = [0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6, 0.4];
    const scheduler = new AshaScheduler({ gracePeriod: 1, reductionFactor: 3, maxResource: 9, higherIsBetter: false });
    const loss = (q: number, epochs: number): number => (1 - q) * (1 + Math.exp(-epochs));
    expect(runSequentially(qualities, scheduler, 9, loss)).toEqual([9, 9, 1, 3, 1, 9, 1, 1, 1]);
    // Recorded in the metric's own sign.
    expect(scheduler.recorded()[0]!.metrics.get('t2')).toBeCloseTo(loss(0.1, 1), 12);
  });

  describe('27 trials, η = 3, grace 1, max 9', () => {
    // Qualities √(k/27), k = 1..27 (square roots: no cut-off lands exactly on a quality, so rounding
    // decides no tie), in a fixed shuffled order (Fisher–Yates with mulberry32, seed 1) of k:
    // 5 16 19 11 10 12 20 22 21 26 25 2 4 6 3 27 8 18 9 15 13 7 23 24 14 1 17.
    const ranks = Array.from({ length: 27 }, (_, i) => i + 1);
    const quality = (k: number): number => Math.sqrt(k / 27);
    const qualities = shuffled(ranks, 1).map(quality);
    const best = qualities.indexOf(1);
    const options = { gracePeriod: 1, reductionFactor: 3, maxResource: 9, higherIsBetter: true };

    test('the order is the one in the comment', () => {
      expect(qualities.map((q) => Math.round(q * q * 27))).toEqual([
        5, 16, 19, 11, 10, 12, 20, 22, 21, 26, 25, 2, 4, 6, 3, 27, 8, 18, 9, 15, 13, 7, 23, 24, 14, 1, 17,
      ]);
    });

    test('one at a time: exactly the trials at or above the running cut-offs go on (a brute-force replay of the rule)', () => {
      const epochs = runSequentially(qualities, new AshaScheduler(options), 9);
      // Brute force: at each rung, a trial goes on iff its quality is at least the (1 − 1/η) quantile
      // of the qualities of the trials before it that reached that rung (the objective is monotone in q).
      const atRung: number[][] = [[], []];
      const expected = qualities.map((q) => {
        for (const [k, rung] of [1, 3].entries()) {
          const before = [...atRung[k]!].sort((a, b) => a - b);
          atRung[k]!.push(q);
          const at = (2 / 3) * (before.length - 1);
          if (before.length > 0 && q < before[Math.floor(at)]! + (at - Math.floor(at)) * (before[Math.ceil(at)]! - before[Math.floor(at)]!)) return rung;
        }
        return 9;
      });
      expect(epochs).toEqual(expected);
      expect(epochs).toEqual([9, 9, 9, 1, 1, 1, 9, 9, 9, 9, 9, 1, 1, 1, 1, 9, 1, 1, 1, 1, 1, 1, 9, 9, 1, 1, 1]);
      expect(epochs[best]).toBe(9);
    });

    test.each([1, 3, 9])('%i at a time, over 100 arrival orders: the best trial always reaches the maximum; on average 27/9 to 27/3 do', (parallelism) => {
      let reached = 0;
      let trained = 0;
      for (let seed = 1; seed <= 100; seed++) {
        const order = shuffled(ranks, seed);
        const epochs = runInParallel(order.map(quality), new AshaScheduler(options), 9, parallelism);
        expect(epochs[order.indexOf(27)]).toBe(9);
        // Only rungs stop trials: a trial trains 1, 3 or 9 epochs.
        expect(epochs.every((e) => e === 1 || e === 3 || e === 9)).toBe(true);
        reached += epochs.filter((e) => e === 9).length;
        trained += epochs.reduce((x, y) => x + y, 0);
      }
      // Asynchronous halving promotes more than 1/η per rung while a rung's list is short (early
      // arrivals meet few rivals), so more than synchronous halving's 27/9 reach the end, but well
      // under 27/3; and the search trains far fewer epochs than 27 trials run to the end (243).
      expect(reached / 100).toBeGreaterThan(27 / 9);
      expect(reached / 100).toBeLessThan(27 / 3);
      expect(trained / 100).toBeLessThan((27 * 9) / 2);
    });

    test("arrival order matters: ascending qualities promote every trial (ASHA's known worst case), descending only the first", () => {
      const ascending = Array.from({ length: 27 }, (_, i) => (i + 1) / 27);
      expect(runSequentially(ascending, new AshaScheduler(options), 9)).toEqual(ascending.map(() => 9));
      const descending = [...ascending].reverse();
      expect(runSequentially(descending, new AshaScheduler(options), 9)).toEqual(descending.map((_, i) => (i === 0 ? 9 : 1)));
    });
  });

  test('a repeated or out-of-order report changes nothing; a trial that skips rungs is judged at the highest it reached', () => {
    const s = new AshaScheduler({ gracePeriod: 1, reductionFactor: 3, maxResource: 9, higherIsBetter: true });
    expect(s.onResult('a', 1, 0.9)).toBe('continue');
    expect(s.onResult('b', 1, 0.1)).toBe('stop');
    expect(s.onResult('b', 1, 0.1)).toBe('continue'); // already recorded at rung 1
    expect(s.onResult('a', 2, 0.95)).toBe('continue'); // no rung at 2
    // 'c' reports first at epoch 4: recorded at rung 3 only.
    expect(s.onResult('c', 4, 0.5)).toBe('continue');
    expect([...s.recorded()[0]!.metrics.keys()]).toEqual(['a', 'b']);
    expect([...s.recorded()[1]!.metrics.keys()]).toEqual(['c']);
  });

  test('a diverged trial (NaN or infinite metric) stops and is not recorded', () => {
    const s = new AshaScheduler({ gracePeriod: 1, reductionFactor: 3, maxResource: 9, higherIsBetter: false });
    expect(s.onResult('a', 1, Number.NaN)).toBe('stop');
    expect(s.onResult('b', 1, Number.POSITIVE_INFINITY)).toBe('stop');
    expect(s.recorded()[0]!.metrics.size).toBe(0);
  });
});

describe('trial sampling', () => {
  const space = {
    learningRate: { logUniform: [1e-4, 1e-1] as [number, number] },
    l2: { uniform: [0, 0.01] as [number, number] },
    batchSize: { intUniform: [16, 20] as [number, number] },
    activation: { choice: ['relu', 'tanh'] },
  };

  test('mulberry32 is deterministic per seed and uniform enough in [0, 1)', () => {
    const a = mulberry32(1);
    const b = mulberry32(1);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(Array.from({ length: 10_000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
    expect(mulberry32(2)()).not.toBe(mulberry32(1)());
  });

  test('random trials: seeded (same seed, same trials), every value inside its range, integers whole, every choice used', () => {
    const trials = sampleTrials(space, 200, 7);
    expect(sampleTrials(space, 200, 7)).toEqual(trials);
    expect(sampleTrials(space, 200, 8)).not.toEqual(trials);
    for (const t of trials) {
      expect(Object.keys(t)).toEqual(['learningRate', 'l2', 'batchSize', 'activation']);
      expect(t.learningRate).toBeGreaterThanOrEqual(1e-4);
      expect(t.learningRate).toBeLessThanOrEqual(1e-1);
      expect(t.l2).toBeGreaterThanOrEqual(0);
      expect(t.l2).toBeLessThan(0.01);
      expect(Number.isInteger(t.batchSize)).toBe(true);
    }
    // Both ends of an intUniform range are drawn; logUniform spreads over the decades.
    expect(new Set(trials.map((t) => t.batchSize))).toEqual(new Set([16, 17, 18, 19, 20]));
    expect(new Set(trials.map((t) => t.activation))).toEqual(new Set(['relu', 'tanh']));
    const decades = new Set(trials.map((t) => Math.floor(Math.log10(t.learningRate as number))));
    expect(decades).toEqual(new Set([-4, -3, -2]));
  });

  test('grid trials: every combination, the first parameter varying slowest', () => {
    expect(gridTrials({ learningRate: { choice: [0.1, 0.01] }, hidden: { choice: [[64], [32, 16]] } })).toEqual([
      { learningRate: 0.1, hidden: [64] },
      { learningRate: 0.1, hidden: [32, 16] },
      { learningRate: 0.01, hidden: [64] },
      { learningRate: 0.01, hidden: [32, 16] },
    ]);
    expect(() => gridTrials({ learningRate: { uniform: [0, 1] } })).toThrow(/choice list/);
  });

  test('planTrials follows the parsed tuning section', () => {
    const random = tuningSpecSchema.parse({ strategy: 'random', trials: 5, seed: 3, space });
    expect(planTrials(random)).toEqual(sampleTrials(random.space, 5, 3));
    const grid = tuningSpecSchema.parse({ strategy: 'grid', space: { learningRate: { choice: [0.1, 0.01, 0.001] } } });
    expect(planTrials(grid)).toHaveLength(3);
  });
});

describe("a trial's model section", () => {
  const base = modelSpecSchema.parse({ type: 'mlp', hidden: [64, 32], epochs: 9, earlyStopping: { patience: 2 } });

  test('parameters merged into the base, epochs the resource; the result is still a valid model section', () => {
    const m = trialModel(base, { learningRate: 0.003, hidden: [128], activation: 'tanh' }, 4);
    expect(m).toEqual({ ...base, learningRate: 0.003, hidden: [128], activation: 'tanh', epochs: 4 });
    expect(modelSpecSchema.parse(m)).toEqual(m);
    // A tuned epochs (grid, random) wins over the default resource.
    expect(trialModel(base, { epochs: 3 }, 9).epochs).toBe(3);
  });

  test('dropout goes on every hidden layer, turning hidden widths into layers', () => {
    const m = trialModel(base, { dropout: 0.2 }, 9);
    expect(m.hidden).toBeUndefined();
    expect(m.layers).toEqual([
      { units: 64, dropout: 0.2 },
      { units: 32, dropout: 0.2 },
    ]);
    expect(modelSpecSchema.parse(m)).toEqual(m);
    // The mlp default of one 32-unit layer when the spec names none.
    expect(trialModel(modelSpecSchema.parse({ type: 'mlp' }), { dropout: 0.5 }, 2).layers).toEqual([{ units: 32, dropout: 0.5 }]);
  });

  test('summaries show 4 significant digits; loss-like metrics are lower-is-better', () => {
    expect(formatParams({ learningRate: 0.00123456, hidden: [64, 32], activation: 'relu' })).toBe('learningRate=0.001235, hidden=[64, 32], activation=relu');
    expect(['loss', 'logLoss', 'rmse (standardised)', 'mae'].map(higherIsBetter)).toEqual([false, false, false, false]);
    expect(['auc', 'accuracy'].map(higherIsBetter)).toEqual([true, true]);
  });

  test('the epoch whose weights training returned: the last, or the restored best after early stopping', () => {
    const result = (epochs: number, validationLosses: number[], stopped?: number): TrainModelResult => ({
      model: { uri: 'u', sha256: 's', bytes: 1, backend: 'b', epochs, trainSamples: 1, trainSeconds: 1, finalLoss: 1 },
      losses: [],
      validationLosses,
      ...(stopped !== undefined ? { stoppedAfterEpochs: stopped } : {}),
    });
    expect(returnedEpoch(base, result(9, [5, 4, 3, 2, 1, 1, 1, 1, 1]))).toBe(8);
    expect(returnedEpoch(base, result(4, [0.5, 0.4, 0.45, 0.41], 4))).toBe(1);
    expect(returnedEpoch({ ...base, earlyStopping: { patience: 2, minDelta: 0, restoreBest: false } }, result(4, [0.5, 0.4, 0.45, 0.41], 4))).toBe(3);
  });
});
