import { makeVector, vectorFromArray, Utf8, type Data } from 'apache-arrow';
import { PART_SIZE, dayOfMonth, dayOfWeek, hourOfDay, monthOf } from '../../lib/features/calendar';
import { murmur3, murmur3Text } from '../../lib/features/feature-hash';
import { FeatureEncoder, TransformStatistics, type FittedFeature, type FittedTransformV2 } from '../../lib/features/transform';
import { EXACT_DISTINCT_LIMIT, ValueDistribution } from '../../lib/features/value-distribution';
import { mulberry32 } from '../../lib/random';
import { PIPELINE_INPUT_ERROR } from '../../contracts/failures';
import { parsePipelineSpec, type PipelineSpec } from '../../lib/spec/pipeline-spec';

/**
 * Each feature kind against values worked out by hand (or, for the hash, against the published
 * MurmurHash3 test vectors), through the same TransformStatistics and FeatureEncoder the pipeline uses.
 */

function specWith(features: unknown[]): PipelineSpec {
  return parsePipelineSpec({
    name: 'kinds',
    source: { kind: 'postgres', table: 't', key: 'id' },
    label: { column: 'y', greaterThan: 0 },
    features,
    model: {},
  });
}

/** Fits one feature on the given train values (null: NULL) and returns its encoder and fitted form. */
function fitOne(
  feature: Record<string, unknown>,
  values: Array<number | string | null>,
): { encoder: FeatureEncoder; fitted: FittedFeature; transform: FittedTransformV2 } {
  const spec = specWith([{ name: 'f', ...(feature.kind === 'cross' ? {} : { column: 'c' }), ...feature }]);
  const stats = new TransformStatistics(spec.features);
  for (const v of values) {
    if (typeof v === 'string' || (v === null && feature.kind === 'categorical')) stats.addCategory('f', v as string | null);
    else stats.addNumeric('f', v);
  }
  stats.rows = values.length;
  const transform = stats.fit(spec);
  return { encoder: new FeatureEncoder(transform), fitted: transform.features[0]!, transform };
}

function inputErrorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect((err as Error).name).toBe(PIPELINE_INPUT_ERROR);
    return err as Error;
  }
  throw new Error('expected a pipeline input error');
}

function dense(encoder: FeatureEncoder, codes: number[]): number[] {
  const out = new Float32Array(encoder.transform.inputDim);
  encoder.denseInto(codes, out, 0);
  return Array.from(out);
}

describe('numeric: impute', () => {
  test('mean: the mean of the present train values fills NULLs', () => {
    const { encoder, fitted } = fitOne({ kind: 'numeric', impute: 'mean', scale: 'none' }, [1, 2, 6, null, null]);
    expect(fitted).toMatchObject({ impute: { strategy: 'mean', value: 3 }, scale: { kind: 'none' } });
    expect(encoder.encodeNumber(0, null)).toBe(3);
    expect(encoder.encodeNumber(0, 5)).toBe(5);
  });

  test('the scaler is fitted on the imputed column: [1, 2, 6] and two NULLs scale as [1, 2, 6, 3, 3]', () => {
    const { fitted } = fitOne({ kind: 'numeric', impute: 'mean' }, [1, null, 2, 6, null]);
    if (fitted.kind !== 'numeric' || fitted.scale.kind !== 'standard') throw new Error('expected standard scaling');
    // mean 15 / 5 = 3; squared deviations 4 + 1 + 9 + 0 + 0 = 14, sample variance 14 / 4.
    expect(fitted.scale.mean).toBeCloseTo(3, 12);
    expect(fitted.scale.std).toBeCloseTo(Math.sqrt(3.5), 12);
  });

  test('median: the middle value, the lower of the two middle ones for an even count', () => {
    expect(fitOne({ kind: 'numeric', impute: 'median', scale: 'none' }, [7, 1, null, 4]).fitted).toMatchObject({ impute: { strategy: 'median', value: 4 } });
    // 1, 3, 5, 9: the two middle values are 3 and 5; the median is a value the column holds.
    expect(fitOne({ kind: 'numeric', impute: 'median', scale: 'none' }, [5, 1, 9, 3]).fitted).toMatchObject({ impute: { value: 3 } });
  });

  test('mostFrequent: the commonest value, ties to the smallest', () => {
    const { encoder, fitted } = fitOne({ kind: 'numeric', impute: 'mostFrequent', scale: 'none' }, [2, 7, 7, 3, 3, 1, null]);
    expect(fitted).toMatchObject({ impute: { strategy: 'mostFrequent', value: 3 } });
    expect(encoder.encodeNumber(0, null)).toBe(3);
  });

  test('constant: the given value, through the later steps like any value', () => {
    const { encoder, fitted } = fitOne({ kind: 'numeric', impute: { constant: -7 }, clip: { min: -5 }, scale: 'none' }, [1, null]);
    expect(fitted).toMatchObject({ impute: { strategy: 'constant', value: -7 }, clip: { min: -5 } });
    expect(encoder.encodeNumber(0, null)).toBe(-5);
  });

  test('a statistic of a column with no train values is a user mistake naming the feature and the fix', () => {
    for (const impute of ['mean', 'median', 'mostFrequent']) {
      const err = inputErrorOf(() => fitOne({ kind: 'numeric', impute }, [null, null]));
      expect(err.message).toBe(
        `features[0] ("f"): column "c" has no values in the train split to take the ${impute} of; impute a constant instead ("impute": {"constant": 0}) or fix the source`,
      );
    }
    expect(fitOne({ kind: 'numeric', impute: { constant: 0 } }, [null, null]).fitted).toMatchObject({
      impute: { value: 0 },
      scale: { kind: 'standard', mean: 0, std: 1 },
    });
  });

  test('mostFrequent of a continuous column (more distinct values than are counted) is refused', () => {
    const values = Array.from({ length: EXACT_DISTINCT_LIMIT + 1 }, (_, i) => i / 7);
    const err = inputErrorOf(() => fitOne({ kind: 'numeric', impute: 'mostFrequent' }, values));
    expect(err.message).toMatch(
      /^features\[0\] \("f"\): impute "mostFrequent" counts each distinct value of column "c", which has more than 100000 .* use "median" or "mean" instead$/,
    );
  });

  test('a feature without impute refuses a NULL', () => {
    const { encoder } = fitOne({ kind: 'numeric' }, [1, 2]);
    expect(() => encoder.encodeNumber(0, null)).toThrow('feature "f" (numeric) does not impute; a NULL cannot be encoded');
  });
});

describe('numeric: scale, log1p, clip', () => {
  test('standard: (x - mean) / sample std', () => {
    const { encoder, fitted } = fitOne({ kind: 'numeric', scale: 'standard' }, [2, 4, 4, 4, 5, 5, 7, 9]);
    expect(fitted).toMatchObject({ scale: { kind: 'standard', mean: 5 } });
    expect(encoder.encodeNumber(0, 5 + Math.sqrt(32 / 7))).toBeCloseTo(1, 12);
  });

  test('minMax: (x - min) / (max - min), not clamped outside the train range', () => {
    const { encoder, fitted } = fitOne({ kind: 'numeric', scale: 'minMax' }, [20, 10, 50, 30]);
    expect(fitted).toMatchObject({ scale: { kind: 'minMax', min: 10, max: 50 } });
    expect([10, 30, 50, 60, 0].map((x) => encoder.encodeNumber(0, x))).toEqual([0, 0.5, 1, 1.25, -0.25]);
  });

  test('minMax of a constant column divides by 1', () => {
    const { encoder } = fitOne({ kind: 'numeric', scale: 'minMax' }, [4, 4, 4]);
    expect([4, 5].map((x) => encoder.encodeNumber(0, x))).toEqual([0, 1]);
  });

  test('none: the value as it is', () => {
    const { encoder, fitted } = fitOne({ kind: 'numeric', scale: 'none' }, [1, 2, 3]);
    expect(fitted).toMatchObject({ scale: { kind: 'none' } });
    expect([-3.25, 0, 1e9].map((x) => encoder.encodeNumber(0, x))).toEqual([-3.25, 0, 1e9]);
  });

  test('log1p before scaling: e - 1 and e² - 1 become 1 and 2', () => {
    const e = Math.E;
    const plain = fitOne({ kind: 'numeric', log1p: true, scale: 'none' }, [0, e - 1, e * e - 1]);
    expect(plain.encoder.encodeNumber(0, e - 1)).toBeCloseTo(1, 12);
    expect(plain.encoder.encodeNumber(0, 0)).toBe(0);
    // Standardised after log1p: 0, 1, 2 have mean 1 and sample std 1.
    const scaled = fitOne({ kind: 'numeric', log1p: true }, [0, e - 1, e * e - 1]);
    if (scaled.fitted.kind !== 'numeric' || scaled.fitted.scale.kind !== 'standard') throw new Error('expected standard scaling');
    expect(scaled.fitted.scale.mean).toBeCloseTo(1, 12);
    expect(scaled.fitted.scale.std).toBeCloseTo(1, 12);
    expect(scaled.encoder.encodeNumber(0, e * e - 1)).toBeCloseTo(1, 12);
  });

  test('clip before log1p and scaling, in the column units', () => {
    const clipped = fitOne({ kind: 'numeric', clip: { min: 0, max: 100 }, scale: 'none' }, [1]);
    expect([-5, 42, 150].map((x) => clipped.encoder.encodeNumber(0, x))).toEqual([0, 42, 100]);
    // [-3, 0, 3, 1000] clip to [0, 0, 3, 3], log1p to [0, 0, ln 4, ln 4]: min 0, max ln 4.
    const all = fitOne({ kind: 'numeric', clip: { min: 0, max: 3 }, log1p: true, scale: 'minMax' }, [-3, 0, 3, 1000]);
    expect(all.fitted).toMatchObject({ clip: { min: 0, max: 3 }, log1p: true, scale: { kind: 'minMax', min: 0, max: Math.log(4) } });
    expect(all.encoder.encodeNumber(0, 1)).toBeCloseTo(0.5, 12); // ln 2 / ln 4
    expect(all.encoder.encodeNumber(0, -50)).toBe(0);
    expect(all.encoder.encodeNumber(0, 50)).toBe(1);
  });

  test('log1p over train values at or below -1 is a user mistake that says how to clip them', () => {
    const err = inputErrorOf(() => fitOne({ kind: 'numeric', log1p: true }, [3, -1, -2.5, 0]));
    expect(err.message).toBe(
      'features[0] ("f"): log1p needs values greater than -1, but 2 train rows of column "c" are not (the smallest is -2.5); add "clip": {"min": 0} (or another bound above -1), or drop log1p',
    );
    // Clipped first, the same values are fine.
    expect(() => fitOne({ kind: 'numeric', log1p: true, clip: { min: 0 } }, [3, -1, -2.5, 0])).not.toThrow();
  });

  test('at encoding, log1p of a value at or below -1 is NaN or -Infinity, never a silent number', () => {
    const { encoder } = fitOne({ kind: 'numeric', log1p: true, scale: 'none' }, [1, 2]);
    expect(encoder.encodeNumber(0, -1)).toBe(-Infinity);
    expect(encoder.encodeNumber(0, -3)).toBeNaN();
  });
});

describe('quantileBuckets', () => {
  test('1..100 in 4 buckets: boundaries 25, 50, 75; bucket i holds (b[i-1], b[i]]', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    const { encoder, fitted } = fitOne({ kind: 'quantileBuckets', buckets: 4 }, values);
    expect(fitted).toMatchObject({ boundaries: [25, 50, 75], width: 4 });
    expect([-5, 1, 25, 26, 50, 51, 75, 76, 100, 1e9].map((x) => encoder.encodeNumber(0, x))).toEqual([0, 0, 0, 1, 1, 2, 2, 3, 3, 3]);
    // 25 rows per bucket.
    const perBucket = [0, 0, 0, 0];
    for (const v of values) perBucket[encoder.encodeNumber(0, v)]!++;
    expect(perBucket).toEqual([25, 25, 25, 25]);
    expect(dense(encoder, [2])).toEqual([0, 0, 1, 0]);
  });

  test('tied quantiles merge: 60 zeros and 1..40 give boundaries 0 and 15, three buckets', () => {
    // n = 100; ranks floor(k · 99 / 4) = 24, 49, 74 hold 0, 0 and 15 (rank 60 is 1).
    const values = [...new Array<number>(60).fill(0), ...Array.from({ length: 40 }, (_, i) => i + 1)];
    const { encoder, fitted } = fitOne({ kind: 'quantileBuckets', buckets: 4 }, values);
    expect(fitted).toMatchObject({ boundaries: [0, 15], width: 3 });
    expect([0, 0.5, 15, 16].map((x) => encoder.encodeNumber(0, x))).toEqual([0, 1, 1, 2]);
  });

  test('no train values: one bucket for everything', () => {
    const { encoder, fitted } = fitOne({ kind: 'quantileBuckets', buckets: 5 }, []);
    expect(fitted).toMatchObject({ boundaries: [], width: 1 });
    expect(encoder.encodeNumber(0, 123)).toBe(0);
  });

  test('a continuous column past the exact limit gets its boundaries from the sketch, within 0.1 %', () => {
    const random = mulberry32(3);
    const values = Array.from({ length: 150_000 }, () => 1 + 999 * random());
    const { fitted } = fitOne({ kind: 'quantileBuckets', buckets: 4 }, values);
    if (fitted.kind !== 'quantileBuckets') throw new Error('expected quantileBuckets');
    const sorted = [...values].sort((a, b) => a - b);
    const exact = [1, 2, 3].map((k) => sorted[Math.floor((k / 4) * (sorted.length - 1))]!);
    expect(fitted.boundaries).toHaveLength(3);
    fitted.boundaries.forEach((b, k) => expect(Math.abs(b - exact[k]!) / exact[k]!).toBeLessThan(0.001));
  });
});

describe('ValueDistribution', () => {
  test('exact quantiles at rank floor(q (n - 1)), the same in any order', () => {
    const d = new ValueDistribution(true);
    const e = new ValueDistribution(true);
    const values = [5, 3, 3, 9, 1, 7, 3, 8];
    values.forEach((v) => d.add(v));
    [...values].reverse().forEach((v) => e.add(v));
    // Sorted: 1 3 3 3 5 7 8 9; ranks 0, 1, 3, 5, 7.
    expect(d.quantiles([0, 0.2, 0.5, 0.75, 1])).toEqual([1, 3, 3, 7, 9]);
    expect(e.quantiles([0, 0.2, 0.5, 0.75, 1])).toEqual(d.quantiles([0, 0.2, 0.5, 0.75, 1]));
    expect(d.exact).toBe(true);
    expect(d.mostFrequent()).toBe(3);
  });

  test('falls back to the sketch past the limit, and says so', () => {
    const d = new ValueDistribution(true);
    for (let i = 1; i <= EXACT_DISTINCT_LIMIT + 10; i++) d.add(i);
    expect(d.exact).toBe(false);
    expect(d.mostFrequent()).toBeNull();
    const [median] = d.quantiles([0.5]);
    expect(Math.abs(median! - (EXACT_DISTINCT_LIMIT + 10) / 2) / median!).toBeLessThan(0.002);
  });
});

describe('categorical: vocabulary, minCount, out of vocabulary', () => {
  const counts: Array<[string, number]> = [
    ['A', 5],
    ['B', 3],
    ['C', 2],
    ['D', 1],
  ];
  const values = counts.flatMap(([v, n]) => new Array<string>(n).fill(v));

  test('minCount drops rare values to the OOV slot; topK still applies', () => {
    const { encoder, fitted } = fitOne({ kind: 'categorical', minCount: 2 }, values);
    expect(fitted).toMatchObject({ vocabulary: ['A', 'B', 'C'], width: 4 });
    expect(['A', 'B', 'C', 'D', 'never seen'].map((v) => encoder.encodeCategory(0, v))).toEqual([0, 1, 2, 3, 3]);
    expect(encoder.encodeCategory(0, null)).toBe(3);
    expect(fitOne({ kind: 'categorical', minCount: 3, topK: 1 }, values).fitted).toMatchObject({ vocabulary: ['A'], width: 2 });
    // Without minCount every seen value qualifies, as before.
    expect(fitOne({ kind: 'categorical' }, values).fitted).toMatchObject({ vocabulary: ['A', 'B', 'C', 'D'] });
  });

  test('a minCount no value reaches leaves only the OOV slot', () => {
    const { encoder, fitted } = fitOne({ kind: 'categorical', minCount: 6 }, values);
    expect(fitted).toMatchObject({ vocabulary: [], width: 1 });
    expect(encoder.encodeCategory(0, 'A')).toBe(0);
  });
});

/** A Utf8 column holding these values (null: NULL). */
function utf8Column(values: Array<string | null>): Data<Utf8> {
  return vectorFromArray(values, new Utf8()).data[0]!;
}

describe('the hash', () => {
  test('is MurmurHash3 x86 32-bit: the published test vectors', () => {
    const vectors: Array<[string, number, number]> = [
      ['', 0, 0],
      ['', 1, 0x514e28b7],
      ['', 0xffffffff, 0x81f16f39],
      ['\0\0\0\0', 0, 0x2362f9de],
      ['aaaa', 0x9747b28c, 0x5a97808a],
      ['a', 0x9747b28c, 0x7fa09ea6],
      ['ab', 0x9747b28c, 0x74875592],
      ['abc', 0, 0xb3dd93fa],
      ['abcd', 0x9747b28c, 0xf0478627],
      ['Hello, world!', 0x9747b28c, 0x24884cba],
      ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
      ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ];
    for (const [text, seed, expected] of vectors) expect([text, murmur3Text(text, seed)]).toEqual([text, expected]);
  });

  test('hashes the UTF-8 bytes: a string and its bytes in a larger buffer agree', () => {
    for (const text of ['Zürich', '東京', '🛫', 'plain']) {
      const bytes = new TextEncoder().encode(`xx${text}yy`);
      expect(murmur3(bytes, 2, bytes.length - 2, 7)).toBe(murmur3Text(text, 7));
    }
  });
});

describe('hashed', () => {
  const { encoder, fitted } = fitOne({ kind: 'hashed', buckets: 10 }, []);

  test('bucket = murmur3(utf8(value), 0) mod buckets, NULL in its own last slot', () => {
    expect(fitted).toMatchObject({ kind: 'hashed', buckets: 10, width: 11 });
    expect(encoder.encodeCategory(0, 'abc')).toBe(0xb3dd93fa % 10); // 3017643002 mod 10 = 2
    expect(encoder.encodeCategory(0, 'abc')).toBe(2);
    expect(encoder.encodeCategory(0, '')).toBe(0);
    expect(encoder.encodeCategory(0, null)).toBe(10);
    expect(dense(encoder, [2])).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('stays in range, and the column path (bytes) equals the value path (strings)', () => {
    const random = mulberry32(11);
    const alphabet = ['a', 'B', 'é', '東', '🛫', ' ', '-', '0'];
    const values = Array.from({ length: 2000 }, (_, i) =>
      i % 97 === 0 ? null : Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''),
    );
    const out = new Float32Array(values.length);
    encoder.encodeHashedColumn(0, utf8Column(values), out);
    const codes = values.map((v) => encoder.encodeCategory(0, v));
    expect(Array.from(out)).toEqual(codes);
    expect(codes.filter((c, r) => !(Number.isInteger(c) && c >= 0 && c < (values[r] === null ? 11 : 10)))).toEqual([]);
    // Spread over every bucket, not piled into a few.
    expect(new Set(codes).size).toBe(11);
  });

  test('a sliced column keeps its NULLs at the right rows', () => {
    const column = utf8Column(['x', null, 'y', 'z', null, 'w']).slice(2, 3);
    const out = new Float32Array(3);
    encoder.encodeHashedColumn(0, column, out);
    expect(Array.from(out)).toEqual([encoder.encodeCategory(0, 'y'), encoder.encodeCategory(0, 'z'), 10]);
  });
});

describe('cross', () => {
  const { encoder, fitted } = fitOne({ kind: 'cross', columns: ['a', 'b'], buckets: 1000 }, []);

  test('bucket = murmur3(b, seed murmur3(a, 0)) mod buckets; NULL in any column: the last slot', () => {
    expect(fitted).toMatchObject({ kind: 'cross', columns: ['a', 'b'], buckets: 1000, width: 1001 });
    expect(encoder.encodeCross(0, ['BOS', 'SFO'])).toBe(murmur3Text('SFO', murmur3Text('BOS', 0)) % 1000);
    expect(encoder.encodeCross(0, ['BOS', null])).toBe(1000);
    expect(encoder.encodeCross(0, [null, 'SFO'])).toBe(1000);
  });

  test('is order-sensitive and has no separator ambiguity', () => {
    expect(encoder.encodeCross(0, ['BOS', 'SFO'])).not.toBe(encoder.encodeCross(0, ['SFO', 'BOS']));
    expect(encoder.encodeCross(0, ['a|b', 'c'])).not.toBe(encoder.encodeCross(0, ['a', 'b|c']));
  });

  test('three columns, and the column path equals the value path', () => {
    const three = fitOne({ kind: 'cross', columns: ['a', 'b', 'c'], buckets: 50 }, []).encoder;
    const a = ['x', 'y', null, 'Zürich', ''];
    const b = ['1', '2', '3', '東京', ''];
    const c = ['p', null, 'r', 's', ''];
    const out = new Float32Array(5);
    three.encodeCrossColumns(0, [utf8Column(a), utf8Column(b), utf8Column(c)], out);
    expect(Array.from(out)).toEqual(a.map((_, r) => three.encodeCross(0, [a[r]!, b[r]!, c[r]!])));
    expect(out[0]).toBe(murmur3Text('p', murmur3Text('1', murmur3Text('x', 0))) % 50);
    expect([out[1], out[2]]).toEqual([50, 50]);
  });
});

describe('timestamp parts (UTC)', () => {
  test('parts agree with Date in UTC over two centuries, leap days and instants before 1970 included', () => {
    const random = mulberry32(5);
    const from = Date.UTC(1900, 0, 1);
    const to = Date.UTC(2100, 0, 1);
    const instants = [
      Date.UTC(2000, 1, 29, 12),
      Date.UTC(1900, 1, 28, 23, 59),
      Date.UTC(2100, 1, 28),
      Date.UTC(2024, 11, 31, 23, 59, 59, 999),
      -1,
      0,
      ...Array.from({ length: 5000 }, () => Math.floor(from + random() * (to - from))),
    ];
    const ours = instants.map((ms) => [ms, hourOfDay(ms), dayOfWeek(ms), monthOf(ms), dayOfMonth(ms)]);
    const dates = instants.map((ms) => {
      const d = new Date(ms);
      return [ms, d.getUTCHours(), d.getUTCDay(), d.getUTCMonth(), d.getUTCDate() - 1];
    });
    expect(ours).toEqual(dates);
  });

  test('one-hot per part at a known instant: Sunday 2001-01-14 23:30 UTC', () => {
    const { encoder, fitted } = fitOne({ kind: 'timestamp', parts: ['hour', 'weekday', 'month', 'dayOfMonth'] }, []);
    expect(fitted).toMatchObject({ width: 24 + 7 + 12 + 31, cyclical: false });
    const code = encoder.encodeNumber(0, Date.UTC(2001, 0, 14, 23, 30));
    // Mixed radix, first part most significant: ((23 · 7 + 0) · 12 + 0) · 31 + 13.
    expect(code).toBe(59905);
    const slots = dense(encoder, [code]);
    const ones = slots.flatMap((v, i) => (v === 1 ? [i] : []));
    expect(ones).toEqual([23, 24 + 0, 31 + 0, 43 + 13]);
    expect(slots.reduce((a, b) => a + b, 0)).toBe(4);
  });

  test('the hour is the UTC hour, whatever DST does to local clocks', () => {
    const { encoder } = fitOne({ kind: 'timestamp', parts: ['hour'] }, []);
    // US clocks jumped from 02:00 to 03:00 local on 2021-03-14 (06:00 to 07:00 UTC in New York): UTC hours stay consecutive.
    expect([5, 6, 7, 8].map((h) => encoder.encodeNumber(0, Date.UTC(2021, 2, 14, h, 30)))).toEqual([5, 6, 7, 8]);
    expect(encoder.encodeNumber(0, Date.UTC(2021, 2, 14, 7, 30) + 60 * 60 * 1000)).toBe(8);
  });

  test('cyclical: sin and cos of each part on its circle, two slots per part', () => {
    const { encoder, fitted } = fitOne({ kind: 'timestamp', parts: ['hour', 'month'], cyclical: true }, []);
    expect(fitted).toMatchObject({ width: 4, cyclical: true });
    // 06:00 is a quarter of the day (angle π/2); March is month 2 of 12 (angle π/3).
    const slots = dense(encoder, [encoder.encodeNumber(0, Date.UTC(2010, 2, 3, 6, 45))]);
    expect(slots[0]).toBeCloseTo(1, 6);
    expect(slots[1]).toBeCloseTo(0, 6);
    expect(slots[2]).toBeCloseTo(Math.sqrt(3) / 2, 6);
    expect(slots[3]).toBeCloseTo(0.5, 6);
    // 23:00 and 01:00 sit as close to 00:00 as each other.
    const at = (h: number): number[] => dense(encoder, [encoder.encodeNumber(0, Date.UTC(2010, 0, 1, h))]).slice(0, 2);
    const distance = (p: number[], q: number[]): number => Math.hypot(p[0]! - q[0]!, p[1]! - q[1]!);
    expect(distance(at(23), at(0))).toBeCloseTo(distance(at(1), at(0)), 6);
    expect(at(0)).toEqual([0, 1]);
  });

  test('every part size fits the packed code exactly in Float32', () => {
    const max = Object.values(PART_SIZE).reduce((a, b) => a * b, 1) - 1;
    expect(max).toBe(62495);
    expect(Math.fround(max)).toBe(max);
  });
});

test('every kind in one transform: consecutive layout, and denseInto sets exactly its slots', () => {
  const spec = specWith([
    { kind: 'numeric', name: 'n', column: 'n', impute: 'median', scale: 'minMax' },
    { kind: 'categorical', name: 'c', column: 'c', minCount: 2 },
    { kind: 'quantileBuckets', name: 'q', column: 'q', buckets: 3 },
    { kind: 'hashed', name: 'h', column: 'h', buckets: 5 },
    { kind: 'cross', name: 'x', columns: ['c', 'h'], buckets: 7 },
    { kind: 'timestamp', name: 't', column: 'd', parts: ['weekday', 'hour'] },
    { kind: 'timestamp', name: 'tc', column: 'd', parts: ['dayOfMonth'], cyclical: true },
    { kind: 'hourOfDay', name: 'hour', column: 'd' },
    { kind: 'dayOfWeek', name: 'dow', column: 'd' },
  ]);
  const stats = new TransformStatistics(spec.features);
  for (const v of [1, 3, null]) stats.addNumeric('n', v);
  for (const v of ['u', 'u', 'v']) stats.addCategory('c', v);
  for (const v of [1, 2, 3, 4, 5, 6]) stats.addNumeric('q', v);
  stats.rows = 6;
  const t = stats.fit(spec);
  expect(t.features.map((f) => [f.name, f.offset, f.width])).toEqual([
    ['n', 0, 1],
    ['c', 1, 2],
    ['q', 3, 3],
    ['h', 6, 6],
    ['x', 12, 8],
    ['t', 20, 31],
    ['tc', 51, 2],
    ['hour', 53, 24],
    ['dow', 77, 7],
  ]);
  expect(t.inputDim).toBe(84);
  expect(t.features[0]).toMatchObject({ impute: { strategy: 'median', value: 1 }, scale: { kind: 'minMax', min: 1, max: 3 } });
  expect(t.features[2]).toMatchObject({ boundaries: [2, 4] });
  expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  const encoder = new FeatureEncoder(t);
  const ms = Date.UTC(2001, 0, 14, 23, 30); // Sunday, the 14th, 23:30
  const codes = [
    encoder.encodeNumber(0, 2),
    encoder.encodeCategory(1, 'v'),
    encoder.encodeNumber(2, 5),
    encoder.encodeCategory(3, 'abc'),
    encoder.encodeCross(4, ['u', 'abc']),
    encoder.encodeNumber(5, ms),
    encoder.encodeNumber(6, ms),
    encoder.encodeNumber(7, ms),
    encoder.encodeNumber(8, ms),
  ];
  expect(codes.slice(0, 4)).toEqual([0.5, 1, 2, 2]);
  expect(codes[5]).toBe(0 * 24 + 23);
  const slots = dense(encoder, codes);
  expect(slots[0]).toBe(0.5);
  const onesIn = (from: number, width: number): number[] => slots.slice(from, from + width).flatMap((v, i) => (v === 1 ? [i] : []));
  expect(onesIn(1, 2)).toEqual([1]);
  expect(onesIn(3, 3)).toEqual([2]);
  expect(onesIn(6, 6)).toEqual([2]);
  expect(onesIn(12, 8)).toEqual([codes[4]]);
  expect(onesIn(20, 31)).toEqual([0, 7 + 23]);
  const angle = (2 * Math.PI * 13) / 31;
  expect(slots[51]).toBeCloseTo(Math.sin(angle), 6);
  expect(slots[52]).toBeCloseTo(Math.cos(angle), 6);
  expect(onesIn(53, 24)).toEqual([23]);
  expect(onesIn(77, 7)).toEqual([0]);
  // The Float32 code column round trip changes nothing.
  const stored = Array.from(makeVector(Float32Array.from(codes)).toArray() as Float32Array);
  expect(dense(encoder, stored)).toEqual(slots);
});
