import { applyDelta, checkUpdate, FederatedUpdateError, fedProxStep, weightedMean, type SiteUpdate } from '../../lib/federated/fed-avg';
import { sameLayout, weightLayout, weightVector, withWeightVector } from '../../lib/federated/model-vector';
import { sitesForRound } from '../../lib/federated/site-selection';
import type { SavedModel } from '../../lib/models/model-io';
import { mulberry32 } from '../../lib/random';

type Spec = SavedModel['weightSpecs'][number];

const TOPOLOGY = { class_name: 'Sequential', config: { name: 'tiny', layers: [{ class_name: 'Dense', config: { units: 1 } }] } };
const SPECS: Spec[] = [
  { name: 'dense/kernel', shape: [3, 1], dtype: 'float32' },
  { name: 'dense/bias', shape: [1], dtype: 'float32' },
];

/** Tensors one after the other, as tf.io.encodeWeights lays them out, in base64. */
function encode(tensors: Array<{ dtype: string; values: number[] }>): string {
  return Buffer.concat(tensors.map((t) => Buffer.from((t.dtype === 'int32' ? Int32Array.from(t.values) : Float32Array.from(t.values)).buffer))).toString(
    'base64',
  );
}

/** A tiny model: a 3×1 kernel and a bias, 4 weights, with Adam state so we can see it dropped. */
function tinyModel(kernel: number[], bias: number): SavedModel {
  return {
    format: 'pipewright.tfjs-layers/v1',
    modelTopology: TOPOLOGY,
    weightSpecs: SPECS,
    weightData: encode([
      { dtype: 'float32', values: kernel },
      { dtype: 'float32', values: [bias] },
    ]),
    optimizer: {
      specs: [
        { name: 'iter', shape: [], dtype: 'int32' },
        { name: 'slot_1', shape: [3, 1], dtype: 'float32' },
      ],
      data: encode([
        { dtype: 'int32', values: [7] },
        { dtype: 'float32', values: [0.1, 0.2, 0.3] },
      ]),
    },
  };
}

function subtract(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((x, i) => x - b[i]!);
}

const bytes = (v: Float32Array | Float64Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

describe('weightVector / withWeightVector', () => {
  const saved = tinyModel([1.5, -2, 0.25], 3);

  test('concatenates the float32 tensors in weightSpecs order', () => {
    expect(weightVector(saved)).toEqual(Float32Array.of(1.5, -2, 0.25, 3));
  });

  test('round trip: same topology and specs, the new weights, no optimizer state', () => {
    const values = Float32Array.of(0.1, 0.2, -0.3, 4);
    const next = withWeightVector(saved, values);
    expect(next.format).toBe(saved.format);
    expect(next.modelTopology).toBe(saved.modelTopology);
    expect(next.weightSpecs).toEqual(saved.weightSpecs);
    expect(next.optimizer).toBeUndefined();
    expect('optimizer' in next).toBe(false);
    expect(bytes(weightVector(next))).toEqual(bytes(values));
    expect(withWeightVector(saved, weightVector(saved)).weightData).toBe(saved.weightData);
  });

  test('a subarray view is encoded from its own offset', () => {
    const backing = Float32Array.of(9, 9, 1, 2, 3, 4);
    expect(weightVector(withWeightVector(saved, backing.subarray(2)))).toEqual(Float32Array.of(1, 2, 3, 4));
  });

  test('a length mismatch names both lengths', () => {
    expect(() => withWeightVector(saved, new Float32Array(5))).toThrow('the weight vector has 5 values but the model has 4 weights');
  });

  test('refuses non-float32 weights', () => {
    const ints: SavedModel = { ...saved, weightSpecs: [{ name: 'counts', shape: [4], dtype: 'int32' }] };
    expect(() => weightVector(ints)).toThrow('weight tensor counts has dtype int32; federated training handles float32 weights only');
  });

  test('weightLayout and sameLayout', () => {
    expect(weightLayout(saved)).toEqual([
      { name: 'dense/kernel', shape: [3, 1] },
      { name: 'dense/bias', shape: [1] },
    ]);
    expect(sameLayout(saved, tinyModel([0, 0, 0], 0))).toBe(true);
    expect(sameLayout(saved, { ...saved, weightSpecs: [SPECS[0]!, { name: 'dense/bias', shape: [2], dtype: 'float32' }] })).toBe(false);
    expect(sameLayout(saved, { ...saved, weightSpecs: [SPECS[1]!, SPECS[0]!] })).toBe(false);
    expect(sameLayout(saved, { ...saved, weightSpecs: [SPECS[0]!] })).toBe(false);
  });
});

describe('weightedMean', () => {
  test('3 sites with 10/30/60 examples on a tiny model, by hand', () => {
    const global = tinyModel([0.5, 1, -1], 2);
    const g = weightVector(global);
    const locals = [tinyModel([1.5, -1, -0.5], 6), tinyModel([2.5, 1, -1.5], 6), tinyModel([-0.5, 2, -0.75], 6)];
    const counts = [10, 30, 60];
    const updates: SiteUpdate[] = locals.map((m, i) => ({ site: `site-${i}`, delta: subtract(weightVector(m), g), weight: counts[i]! }));
    expect(updates.map((u) => Array.from(u.delta))).toEqual([
      [1, -2, 0.5, 4],
      [2, 0, -0.5, 4],
      [-1, 1, 0.25, 4],
    ]);
    // (10·1 + 30·2 + 60·(−1))/100 = 10/100 = 0.1; (10·(−2) + 30·0 + 60·1)/100 = 40/100 = 0.4;
    // (10·0.5 + 30·(−0.5) + 60·0.25)/100 = 5/100 = 0.05; (10·4 + 30·4 + 60·4)/100 = 400/100 = 4.
    const mean = weightedMean(updates);
    expect(mean).toBeInstanceOf(Float64Array);
    // In float64 (shares 0.1, 0.3, 0.6 times each delta), so within a few float64 ulps of the fractions.
    [0.1, 0.4, 0.05, 4].forEach((want, j) => expect(mean[j]).toBeCloseTo(want, 14));
    // g + mean: 0.5 + 0.1, 1 + 0.4, −1 + 0.05, 2 + 4, each rounded to float32.
    expect(applyDelta(g, mean)).toEqual(Float32Array.of(0.6, 1.4, -0.95, 6));
  });

  test('identical deltas give that delta: bit for bit with equal weights, and once rounded to float32 whatever the weights', () => {
    const random = mulberry32(7);
    const delta = Float32Array.from({ length: 5000 }, () => (random() - 0.5) * 10 ** Math.floor(random() * 12 - 6));
    for (const weights of [
      [10, 30, 60],
      [7, 13, 0.3],
      [1e-3, 5e6, 42],
    ]) {
      const mean = weightedMean(weights.map((weight, i) => ({ site: `s${i}`, delta: Float32Array.from(delta), weight })));
      expect(bytes(Float32Array.from(mean))).toEqual(bytes(delta));
    }
    const equal = weightedMean([1, 2].map((i) => ({ site: `s${i}`, delta: Float64Array.from(delta), weight: 500 })));
    expect(bytes(equal)).toEqual(bytes(Float64Array.from(delta)));
  });

  test('Σ (wᵢ/Σw)·deltaᵢ in float64, in the order given; float32 and float64 deltas mix', () => {
    // Low bits a float32 mean would drop: 2^-40 on top of 1.
    const fine = 1 + 2 ** -40;
    const updates: SiteUpdate[] = [
      { site: 'a', delta: Float64Array.of(fine, -3, 1e-30), weight: 1 },
      { site: 'b', delta: Float32Array.of(1, 5, 0), weight: 3 },
    ];
    const mean = weightedMean(updates);
    const expected = [0, 1, 2].map((j) => 0.25 * updates[0]!.delta[j]! + 0.75 * updates[1]!.delta[j]!);
    expect(bytes(mean)).toEqual(bytes(Float64Array.from(expected)));
    expect(mean[0]).toBe(1 + 2 ** -42);
    expect(mean[1]).toBe(3);
    expect(mean[2]).toBe(0.25e-30);
    expect(Math.fround(mean[0]!)).toBe(1);
  });

  test('refuses no updates, mismatched lengths and bad weights', () => {
    expect(() => weightedMean([])).toThrow('at least one update');
    expect(() =>
      weightedMean([
        { site: 'a', delta: new Float32Array(3), weight: 1 },
        { site: 'b', delta: new Float32Array(4), weight: 1 },
      ]),
    ).toThrow('site "b" sent 4 weights but site "a" sent 3');
    expect(() => weightedMean([{ site: 'a', delta: new Float32Array(3), weight: -1 }])).toThrow('site "a" has weight -1');
    expect(() => weightedMean([{ site: 'a', delta: new Float32Array(3), weight: 0 }])).toThrow('total weight of 0');
  });
});

describe('checkUpdate', () => {
  function caught(fn: () => void): FederatedUpdateError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(FederatedUpdateError);
      return err as FederatedUpdateError;
    }
    throw new Error('expected a FederatedUpdateError');
  }

  test('NaN names the site, the weight and the round', () => {
    const err = caught(() => checkUpdate('west', Float32Array.of(0, 1, NaN, 2, 3, 4), 6, 3));
    expect(err.message).toBe('site "west" sent an update with NaN at weight 2 of 6; it is left out of round 3');
    expect(err.site).toBe('west');
    expect(err.round).toBe(3);
    expect(err.name).toBe('FederatedUpdateError');
  });

  test('Infinity and -Infinity', () => {
    expect(caught(() => checkUpdate('east', Float32Array.of(Infinity, 0), 2, 1)).message).toBe(
      'site "east" sent an update with Infinity at weight 0 of 2; it is left out of round 1',
    );
    expect(caught(() => checkUpdate('east', Float32Array.of(0, -Infinity), 2, 1)).message).toContain('with -Infinity at weight 1 of 2');
  });

  test('a wrong length', () => {
    const err = caught(() => checkUpdate('north', new Float32Array(5), 6, 9));
    expect(err.message).toBe('site "north" sent an update of 5 weights but the model has 6; it is left out of round 9');
    expect(err.site).toBe('north');
  });

  test('a good update passes, float32, float64 or a plain array', () => {
    expect(() => checkUpdate('south', Float32Array.of(-1e30, 0, 1e30), 3, 0)).not.toThrow();
    expect(() => checkUpdate('south', Float64Array.of(-1e300, 2 ** -1074, 1e300), 3, 0)).not.toThrow();
    expect(() => checkUpdate('south', [0.5, -0.25], 2, 0)).not.toThrow();
  });

  test('float64 updates are checked alike', () => {
    expect(caught(() => checkUpdate('west', Float64Array.of(0, Number.NaN), 2, 5)).message).toBe(
      'site "west" sent an update with NaN at weight 1 of 2; it is left out of round 5',
    );
    expect(caught(() => checkUpdate('west', [1, 2, 3], 2, 5)).message).toBe(
      'site "west" sent an update of 3 weights but the model has 2; it is left out of round 5',
    );
  });
});

describe('applyDelta', () => {
  test('global + η·delta', () => {
    expect(applyDelta(Float32Array.of(1, 2), Float32Array.of(0.5, -4))).toEqual(Float32Array.of(1.5, -2));
    expect(applyDelta(Float32Array.of(1, 2), Float32Array.of(0.5, -4), 0.5)).toEqual(Float32Array.of(1.25, 0));
    expect(applyDelta(Float32Array.of(1, 2), [0.5, -4])).toEqual(Float32Array.of(1.5, -2));
    expect(() => applyDelta(new Float32Array(2), new Float32Array(3))).toThrow('the delta has 3 values but the global model has 2 weights');
  });

  test('a float64 delta is added in float64 and rounded once to float32', () => {
    // 1 + 2^-24 is a tie between 1 and 1 + 2^-23; the 2^-50 breaks it upward. Rounding the delta to float32 first drops it, and the tie goes to 1.
    const delta = Float64Array.of(2 ** -24 + 2 ** -50);
    const once = applyDelta(Float32Array.of(1), delta);
    expect(once).toBeInstanceOf(Float32Array);
    expect(once[0]).toBe(1 + 2 ** -23);
    expect(applyDelta(Float32Array.of(1), Float32Array.from(delta))[0]).toBe(1);
  });

  test('global + (local − global) in float64 gives the local weight back bit for bit, even where a weight moved by more than its size', () => {
    const random = mulberry32(11);
    const n = 10_000;
    const global = Float32Array.from({ length: n }, () => (random() - 0.5) * 2);
    // Most weights move a little; some cross zero or shrink by orders of magnitude (0.72 to -0.011, say).
    const local = Float32Array.from(global, (g) => (random() < 0.1 ? (random() - 0.5) * 0.03 : g + (random() - 0.5) * 1e-3));
    const exact = Float64Array.from(local, (l, j) => l - global[j]!);
    expect(bytes(applyDelta(global, exact))).toEqual(bytes(local));
    // A float32 delta would not: some weights come back a few ulps off.
    const rounded = applyDelta(global, Float32Array.from(exact));
    expect(rounded.some((w, j) => w !== local[j])).toBe(true);
    expect(bytes(applyDelta(Float32Array.of(0.72), Float64Array.of(Math.fround(-0.011) - Math.fround(0.72))))).toEqual(bytes(Float32Array.of(-0.011)));
  });
});

describe('fedProxStep', () => {
  const anchor = Float32Array.of(0, 4, -3);

  test('μ = 0 leaves the weights as they are', () => {
    const w = Float32Array.of(1, -2, 0.3);
    const before = Float32Array.from(w);
    expect(fedProxStep(w, anchor, 0.1, 0)).toBe(w);
    expect(bytes(w)).toEqual(bytes(before));
  });

  test('a large η·μ pulls the weights onto the anchor', () => {
    const w = Float32Array.of(1, -2, 0.3);
    fedProxStep(w, anchor, 1, 1e9);
    for (let j = 0; j < w.length; j++) expect(w[j]).toBeCloseTo(anchor[j]!, 6);
  });

  test('one step is (w + η·μ·anchor) / (1 + η·μ)', () => {
    const w = Float32Array.of(1, -2, 0.3);
    fedProxStep(w, anchor, 0.1, 0.5);
    // η·μ = 0.05: (1 + 0)/1.05, (−2 + 0.2)/1.05, (0.3 − 0.15)/1.05.
    expect(w).toEqual(Float32Array.of(1 / 1.05, -1.8 / 1.05, (Math.fround(0.3) + 0.05 * -3) / 1.05));
    expect(w[0]).toBeCloseTo(0.952381, 6);
    expect(w[1]).toBeCloseTo(-1.714286, 6);
  });

  test('refuses a mismatched anchor and negative μ', () => {
    expect(() => fedProxStep(new Float32Array(2), new Float32Array(3), 0.1, 0.1)).toThrow('the anchor has 3 values but the model has 2 weights');
    expect(() => fedProxStep(new Float32Array(2), new Float32Array(2), 0.1, -1)).toThrow('mu must be finite and not negative');
  });
});

describe('sitesForRound', () => {
  const sites = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];

  test('deterministic, k = max(minSites, ceil(fraction·n)), in the order of sites', () => {
    const one = sitesForRound({ sites, fraction: 0.3, minSites: 2, seed: 42, round: 4 });
    expect(sitesForRound({ sites, fraction: 0.3, minSites: 2, seed: 42, round: 4 })).toEqual(one);
    expect(one).toHaveLength(3);
    expect(one).toEqual(sites.filter((s) => one.includes(s)));
    expect(sitesForRound({ sites, fraction: 0.25, minSites: 1, seed: 42, round: 4 })).toHaveLength(3); // ceil(2.5)
    expect(sitesForRound({ sites, fraction: 0.3, minSites: 5, seed: 42, round: 4 })).toHaveLength(5);
    // 0.28·25 = 7.000000000000001 in floats: still 7 sites, not 8.
    const many = Array.from({ length: 25 }, (_, i) => `site-${i}`);
    expect(sitesForRound({ sites: many, fraction: 0.28, minSites: 0, seed: 1, round: 0 })).toHaveLength(7);
  });

  test('minSites above the number of sites takes every site', () => {
    expect(sitesForRound({ sites, fraction: 0.1, minSites: 20, seed: 3, round: 1 })).toEqual(sites);
    expect(sitesForRound({ sites, fraction: 1, minSites: 0, seed: 3, round: 1 })).toEqual(sites);
  });

  test('different rounds pick different subsets', () => {
    const picks = new Set(Array.from({ length: 10 }, (_, round) => sitesForRound({ sites, fraction: 0.3, minSites: 1, seed: 42, round }).join(',')));
    expect(picks.size).toBeGreaterThan(1);
    expect(sitesForRound({ sites, fraction: 0.3, minSites: 1, seed: 42, round: 0 })).not.toEqual(
      sitesForRound({ sites, fraction: 0.3, minSites: 1, seed: 42, round: 1 }),
    );
  });

  test('refuses a bad fraction and duplicate sites', () => {
    expect(() => sitesForRound({ sites, fraction: 1.5, minSites: 1, seed: 1, round: 0 })).toThrow('fraction must be in [0, 1]');
    expect(() => sitesForRound({ sites: ['a', 'a'], fraction: 1, minSites: 1, seed: 1, round: 0 })).toThrow('listed twice');
  });
});
