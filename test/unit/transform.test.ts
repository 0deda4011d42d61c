import { FeatureEncoder, TransformStatistics, labelOf, upgradeTransform, type FittedFeature, type FittedTransform } from '../../lib/features/transform';
import { mulberry32 } from '../../lib/random';
import { parsePipelineSpec, type FeatureSpec, type PipelineSpec } from '../../lib/spec/pipeline-spec';

function specWith(features: unknown[]): PipelineSpec {
  return parsePipelineSpec({
    name: 'test',
    source: { kind: 'postgres', table: 'flights', key: 'id' },
    label: { column: 'delay', greaterThan: 15 },
    features,
    split: { testFraction: 0.25, seed: 9 },
    model: {},
  });
}

/** The mean and std of a standardised numeric feature. */
function standardOf(f: FittedFeature | undefined): { mean: number; std: number } {
  if (f?.kind !== 'numeric' || f.scale.kind !== 'standard') throw new Error('expected a standardised numeric feature');
  return f.scale;
}

/** Two-pass mean and sample standard deviation, computed directly. */
function directMeanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (values.length - 1)) };
}

describe('TransformStatistics', () => {
  test('numeric mean and std match a direct computation', () => {
    const spec = specWith([{ kind: 'numeric', name: 'distance', column: 'distance' }]);
    const stats = new TransformStatistics(spec.features);
    const random = mulberry32(17);
    const values = Array.from({ length: 5000 }, () => 200 + 1500 * random() ** 2);
    for (const v of values) stats.addNumeric('distance', v);
    const fitted = standardOf(stats.fit(spec).features[0]);
    const expected = directMeanStd(values);
    expect(fitted.mean).toBeCloseTo(expected.mean, 8);
    expect(fitted.std).toBeCloseTo(expected.std, 8);
  });

  test('numeric statistics stay accurate with a large offset', () => {
    const spec = specWith([{ kind: 'numeric', name: 't', column: 't' }]);
    const stats = new TransformStatistics(spec.features);
    // Epoch-millisecond-sized values with a spread of a few units: a naive sum-of-squares would lose it all.
    const values = [1e12 + 1, 1e12 + 2, 1e12 + 3, 1e12 + 4];
    for (const v of values) stats.addNumeric('t', v);
    const f = standardOf(stats.fit(spec).features[0]);
    expect(f.mean).toBe(1e12 + 2.5);
    // Sample variance of 1,2,3,4 is 5/3.
    expect(f.std).toBeCloseTo(Math.sqrt(5 / 3), 9);
  });

  test('a small hand example: 2, 4, 4, 4, 5, 5, 7, 9', () => {
    const spec = specWith([{ kind: 'numeric', name: 'x', column: 'x' }]);
    const stats = new TransformStatistics(spec.features);
    for (const v of [2, 4, 4, 4, 5, 5, 7, 9]) stats.addNumeric('x', v);
    const f = standardOf(stats.fit(spec).features[0]);
    expect(f.mean).toBe(5);
    // Sum of squared deviations is 32; sample variance 32 / 7.
    expect(f.std).toBeCloseTo(Math.sqrt(32 / 7), 12);
  });

  test('a constant column gets std 1 rather than 0', () => {
    const spec = specWith([{ kind: 'numeric', name: 'x', column: 'x' }]);
    const stats = new TransformStatistics(spec.features);
    for (let i = 0; i < 10; i++) stats.addNumeric('x', 3.5);
    const f = standardOf(stats.fit(spec).features[0]);
    expect(f.mean).toBe(3.5);
    expect(f.std).toBe(1);
  });

  test('a single value or no values gets std 1', () => {
    const spec = specWith([
      { kind: 'numeric', name: 'one', column: 'a' },
      { kind: 'numeric', name: 'none', column: 'b' },
    ]);
    const stats = new TransformStatistics(spec.features);
    stats.addNumeric('one', 12);
    const [one, none] = stats.fit(spec).features;
    expect(one).toMatchObject({ scale: { kind: 'standard', mean: 12, std: 1 } });
    expect(none).toMatchObject({ scale: { kind: 'standard', mean: 0, std: 1 } });
  });

  test('vocabulary keeps the topK most frequent values, ties broken by value', () => {
    const spec = specWith([{ kind: 'categorical', name: 'origin', column: 'origin', topK: 3 }]);
    const stats = new TransformStatistics(spec.features);
    const counts: Record<string, number> = { SFO: 2, BOS: 5, JFK: 3, ATL: 3, LAX: 1, ORD: 2 };
    // Add them interleaved so insertion order is not the answer.
    const pending = Object.entries(counts).map(([v, n]) => [v, n] as [string, number]);
    while (pending.some(([, n]) => n > 0)) for (const p of pending) if (p[1]-- > 0) stats.addCategory('origin', p[0]);
    // Nulls are not a category, however many there are.
    for (let i = 0; i < 10; i++) stats.addCategory('origin', null);
    const f = stats.fit(spec).features[0]!;
    if (f.kind !== 'categorical') throw new Error('expected a categorical feature');
    // BOS (5), then ATL and JFK (3 each, alphabetical); SFO/ORD (2) and LAX (1) fall out.
    expect(f.vocabulary).toEqual(['BOS', 'ATL', 'JFK']);
    expect(f.width).toBe(4); // + one out-of-vocabulary slot
  });

  test('vocabulary tie-break is by code unit order and complete when topK exceeds distinct values', () => {
    const spec = specWith([{ kind: 'categorical', name: 'c', column: 'c', topK: 100 }]);
    const stats = new TransformStatistics(spec.features);
    for (const v of ['b', 'a', 'B', 'é', 'a', 'b', 'B', 'é']) stats.addCategory('c', v);
    stats.addCategory('c', 'z');
    const f = stats.fit(spec).features[0]!;
    if (f.kind !== 'categorical') throw new Error('expected a categorical feature');
    // All four have count 2: 'B' (0x42) < 'a' < 'b' < 'é' (0xe9); then 'z' with count 1.
    expect(f.vocabulary).toEqual(['B', 'a', 'b', 'é', 'z']);
    expect(f.width).toBe(6);
  });

  test('fit lays features out consecutively and records the spec', () => {
    const spec = specWith([
      { kind: 'hourOfDay', name: 'hour', column: 'date' },
      { kind: 'numeric', name: 'distance', column: 'distance' },
      { kind: 'categorical', name: 'origin', column: 'origin', topK: 2 },
      { kind: 'dayOfWeek', name: 'dow', column: 'date' },
    ]);
    const stats = new TransformStatistics(spec.features);
    for (const v of ['A', 'B', 'C', 'A']) stats.addCategory('origin', v);
    stats.rows = 4;
    const t = stats.fit(spec);
    expect(t.features.map((f) => [f.name, f.offset, f.width])).toEqual([
      ['hour', 0, 24],
      ['distance', 24, 1],
      ['origin', 25, 3], // A, B + OOV
      ['dow', 28, 7],
    ]);
    expect(t.inputDim).toBe(35);
    expect(t.format).toBe('pipewright.transform/v2');
    expect(t.key).toBe('id');
    expect(t.label).toEqual({ column: 'delay', greaterThan: 15 });
    expect(t.split).toEqual({ testFraction: 0.25, seed: 9 });
    expect(t.trainRows).toBe(4);
    // The transform is a JSON artifact: it must survive a JSON round trip unchanged.
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });

  test('a categorical feature with no values still has its out-of-vocabulary slot', () => {
    const spec = specWith([{ kind: 'categorical', name: 'c', column: 'c' }]);
    const t = new TransformStatistics(spec.features).fit(spec);
    expect(t.features[0]).toMatchObject({ vocabulary: [], width: 1 });
    expect(t.inputDim).toBe(1);
  });
});

/** A hand-built v1 transform (as models registered before v2 have), so the encoder is tested independently of fitting. */
function handTransform(): FittedTransform {
  return {
    format: 'pipewright.transform/v1',
    key: 'id',
    label: { column: 'delay', greaterThan: 15 },
    split: { testFraction: 0.2, seed: 42 },
    features: [
      { kind: 'numeric', name: 'distance', column: 'distance', offset: 0, width: 1, mean: 500, std: 250 },
      { kind: 'categorical', name: 'origin', column: 'origin', offset: 1, width: 4, vocabulary: ['BOS', 'JFK', 'SFO'] },
      { kind: 'hourOfDay', name: 'hour', column: 'date', offset: 5, width: 24 },
      { kind: 'dayOfWeek', name: 'dow', column: 'date', offset: 29, width: 7 },
    ],
    inputDim: 36,
    trainRows: 100,
  };
}

describe('FeatureEncoder on a v1 transform', () => {
  const encoder = new FeatureEncoder(handTransform());

  test('reads v1 in its v2 form: mean and std move into scale, nothing else changes', () => {
    const v1 = handTransform();
    const v2 = upgradeTransform(v1);
    expect(v2.format).toBe('pipewright.transform/v2');
    expect(v2.features[0]).toEqual({
      kind: 'numeric',
      name: 'distance',
      column: 'distance',
      offset: 0,
      width: 1,
      scale: { kind: 'standard', mean: 500, std: 250 },
    });
    expect(v2.features.slice(1)).toEqual(v1.features.slice(1));
    expect({ ...v2, format: v1.format, features: v1.features }).toEqual(v1);
    expect(upgradeTransform(v2)).toBe(v2);
  });

  test('refuses a transform of an unknown format, naming it', () => {
    const future = { ...handTransform(), format: 'pipewright.transform/v9' } as unknown as FittedTransform;
    expect(() => new FeatureEncoder(future)).toThrow(
      'the fitted transform has format "pipewright.transform/v9"; this pipewright reads pipewright.transform/v1 and pipewright.transform/v2: upgrade pipewright',
    );
  });

  test('standardises numeric values', () => {
    expect(encoder.encodeNumber(0, 500)).toBe(0);
    expect(encoder.encodeNumber(0, 1000)).toBe(2);
    expect(encoder.encodeNumber(0, 375)).toBe(-0.5);
  });

  test('hourOfDay and dayOfWeek are read in UTC', () => {
    // Instants close to midnight UTC, so reading them in any other zone would change the hour
    // and usually the day. 2001-01-14 was a Sunday (2001-01-01 was a Monday, 13 days earlier).
    const sundayLate = Date.UTC(2001, 0, 14, 23, 30);
    expect(encoder.encodeNumber(2, sundayLate)).toBe(23);
    expect(encoder.encodeNumber(3, sundayLate)).toBe(0);
    const saturdayMorning = Date.UTC(2001, 0, 20, 0, 5);
    expect(encoder.encodeNumber(2, saturdayMorning)).toBe(0);
    expect(encoder.encodeNumber(3, saturdayMorning)).toBe(6);
    // Epoch 0 was a Thursday, 00:00 UTC.
    expect(encoder.encodeNumber(2, 0)).toBe(0);
    expect(encoder.encodeNumber(3, 0)).toBe(4);
  });

  test('categories map to their vocabulary index; unknown values and null to the OOV slot', () => {
    expect(encoder.encodeCategory(1, 'BOS')).toBe(0);
    expect(encoder.encodeCategory(1, 'JFK')).toBe(1);
    expect(encoder.encodeCategory(1, 'SFO')).toBe(2);
    expect(encoder.encodeCategory(1, 'LAX')).toBe(3);
    expect(encoder.encodeCategory(1, 'bos')).toBe(3); // case-sensitive
    expect(encoder.encodeCategory(1, null)).toBe(3);
  });

  test('refuses to encode a feature with the wrong method', () => {
    expect(() => encoder.encodeNumber(1, 3)).toThrow('feature "origin" is categorical; encode it with encodeCategory');
    expect(() => encoder.encodeCategory(0, 'x')).toThrow('feature "distance" is not categorical');
  });

  test('denseInto writes the value and one-hot slots at each feature offset', () => {
    const dim = 36;
    const out = new Float32Array(2 * dim);
    encoder.denseInto([2, 1, 23, 0], out, 0);
    encoder.denseInto([-0.5, 3, 0, 6], out, dim);
    const expected = new Float32Array(2 * dim);
    // Row 0: distance 2 at slot 0; origin JFK at 1 + 1; hour 23 at 5 + 23; Sunday at 29 + 0.
    expected[0] = 2;
    expected[2] = 1;
    expected[28] = 1;
    expected[29] = 1;
    // Row 1: distance -0.5; origin OOV at 1 + 3; hour 0 at 5; Saturday at 29 + 6.
    expected[dim + 0] = -0.5;
    expected[dim + 4] = 1;
    expected[dim + 5] = 1;
    expected[dim + 35] = 1;
    expect(Array.from(out)).toEqual(Array.from(expected));
  });

  test('denseInto sets exactly one slot per one-hot feature', () => {
    const t = handTransform();
    const out = new Float32Array(t.inputDim);
    encoder.denseInto([0.25, 0, 12, 3], out, 0);
    for (const f of t.features) {
      const slots = Array.from(out.subarray(f.offset, f.offset + f.width));
      if (f.kind === 'numeric') expect(slots).toEqual([0.25]);
      else expect(slots.filter((v) => v === 1)).toHaveLength(1);
    }
    expect(out.reduce((a, b) => a + b, 0)).toBe(3.25);
  });
});

describe('labelOf', () => {
  test('the positive class is strictly greater than the threshold', () => {
    const { label } = handTransform();
    expect(labelOf(label, 16)).toBe(1);
    expect(labelOf(label, 15.0001)).toBe(1);
    expect(labelOf(label, 15)).toBe(0);
    expect(labelOf(label, -3)).toBe(0);
  });

  test('oneOf: positive exactly for the listed values, strings or numbers', () => {
    const weather = { column: 'weather', oneOf: ['rain', 'snow'] };
    expect(['rain', 'snow', 'Rain', 'sun', ''].map((v) => labelOf(weather, v))).toEqual([1, 1, 0, 0, 0]);
    const grade = { column: 'grade', oneOf: [1, 2] };
    expect([1, 2, 3, 1.5, 0].map((v) => labelOf(grade, v))).toEqual([1, 1, 0, 0, 0]);
  });
});

test('the fitted transform and encoder agree end to end', () => {
  const features: FeatureSpec[] = [
    { kind: 'numeric', name: 'x', column: 'x' },
    { kind: 'categorical', name: 'c', column: 'c', topK: 1 },
  ];
  const spec = specWith(features);
  const stats = new TransformStatistics(spec.features);
  for (const x of [1, 3]) stats.addNumeric('x', x);
  for (const c of ['u', 'v', 'v']) stats.addCategory('c', c);
  const encoder = new FeatureEncoder(stats.fit(spec));
  // mean 2, sample std sqrt(2)
  expect(encoder.encodeNumber(0, 2 + Math.SQRT2)).toBeCloseTo(1, 12);
  expect(encoder.encodeCategory(1, 'v')).toBe(0);
  expect(encoder.encodeCategory(1, 'u')).toBe(1); // dropped by topK: out of vocabulary
});
