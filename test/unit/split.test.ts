import { hashKey, isTestRow, splitOf, SPLIT_CODE, StratumCounter } from '../../lib/features/split';

const KEYS = 100_000;

function testKeys(seed: number, testFraction: number, from = 1, count = KEYS): Set<number> {
  const out = new Set<number>();
  for (let k = from; k < from + count; k++) if (isTestRow(k, seed, testFraction)) out.add(k);
  return out;
}

describe('hashKey', () => {
  test('is a deterministic unsigned 32-bit integer', () => {
    for (const key of [0, 1, 2, 12345, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]) {
      const h = hashKey(key, 42);
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
      expect(hashKey(key, 42)).toBe(h);
    }
  });

  test('uses the high 32 bits of the key too', () => {
    // Keys that share their low 32 bits must not share their split.
    let differ = 0;
    for (let k = 0; k < 1000; k++) if (hashKey(k, 42) !== hashKey(k + 2 ** 32, 42)) differ++;
    expect(differ).toBe(1000);
  });

  test('spreads consecutive keys over the whole 32-bit range', () => {
    // Ten equal buckets over 100k consecutive keys: each should hold close to 10%.
    const buckets = new Array<number>(10).fill(0);
    for (let k = 0; k < KEYS; k++) buckets[Math.floor((hashKey(k, 7) / 2 ** 32) * 10)]!++;
    for (const b of buckets) expect(Math.abs(b / KEYS - 0.1)).toBeLessThan(0.006);
  });
});

describe('isTestRow', () => {
  test('is deterministic: the same key and seed always land in the same split', () => {
    const first = testKeys(42, 0.2, 1, 10_000);
    const second = testKeys(42, 0.2, 1, 10_000);
    expect([...second]).toEqual([...first]);
  });

  test('does not depend on the order or grouping in which keys are seen (partitioning)', () => {
    const whole = testKeys(42, 0.2, 1, 10_000);
    // Visit the same keys in four interleaved "partitions", backwards.
    const pieces = new Set<number>();
    for (let p = 0; p < 4; p++) for (let k = 10_000 - p; k >= 1; k -= 4) if (isTestRow(k, 42, 0.2)) pieces.add(k);
    expect([...pieces].sort((a, b) => a - b)).toEqual([...whole].sort((a, b) => a - b));
  });

  test.each([0.05, 0.2, 0.5, 0.9])('puts close to testFraction=%p of 100k keys in the test split', (fraction) => {
    const share = testKeys(42, fraction).size / KEYS;
    // Binomial standard deviation is at most 0.0016 here; allow about four of them.
    expect(Math.abs(share - fraction)).toBeLessThan(0.0065);
  });

  test('is monotone in testFraction: a larger test split contains the smaller one', () => {
    const small = testKeys(42, 0.1, 1, 20_000);
    const large = testKeys(42, 0.3, 1, 20_000);
    for (const k of small) expect(large.has(k)).toBe(true);
    expect(large.size).toBeGreaterThan(small.size);
  });

  test('a different seed gives a different assignment', () => {
    const a = testKeys(42, 0.2);
    const b = testKeys(43, 0.2);
    const c = testKeys(1000, 0.2);
    for (const other of [b, c]) {
      let overlap = 0;
      for (const k of other) if (a.has(k)) overlap++;
      // Independent 20% samples overlap in about 0.2 * 0.2 = 4% of keys, far from the 20% of identical ones.
      expect(overlap / KEYS).toBeGreaterThan(0.03);
      expect(overlap / KEYS).toBeLessThan(0.05);
      // And the new split still has the requested size.
      expect(Math.abs(other.size / KEYS - 0.2)).toBeLessThan(0.0065);
    }
  });

  test('fractions at the ends behave', () => {
    for (let k = 0; k < 1000; k++) {
      expect(isTestRow(k, 42, 0)).toBe(false);
      expect(isTestRow(k, 42, 1)).toBe(true);
    }
  });
});

describe('splitOf', () => {
  test('a plain rule splits exactly as isTestRow did, so transforms written before keep their split', () => {
    const rule = { testFraction: 0.2, seed: 42 };
    for (let k = 0; k < 20_000; k++) expect(splitOf(rule, k, 0, 0) === SPLIT_CODE.test).toBe(isTestRow(k, 42, 0.2));
  });

  test('a validation fraction takes its share from the hashes after the test share, and train keeps the rest', () => {
    const rule = { testFraction: 0.2, validationFraction: 0.1, seed: 7 };
    const counts = [0, 0, 0];
    for (let k = 0; k < KEYS; k++) counts[splitOf(rule, k, 0, 0)]!++;
    expect(counts[SPLIT_CODE.test]! / KEYS).toBeCloseTo(0.2, 2);
    expect(counts[SPLIT_CODE.validation]! / KEYS).toBeCloseTo(0.1, 2);
    // Test rows are those of the plain 0.2 split: adding validation moves no row out of test.
    for (let k = 0; k < 5000; k++) if (isTestRow(k, 7, 0.2)) expect(splitOf(rule, k, 0, 0)).toBe(SPLIT_CODE.test);
  });

  test('a time rule: test from testFrom on, validation from validationFrom, train before', () => {
    const rule = { testFraction: 0.2, seed: 1, time: { column: 't', testFrom: 1000, validationFrom: 800 } };
    expect([0, 799, 800, 999, 1000, 5000].map((t) => splitOf(rule, 3, t, 0))).toEqual([0, 0, 2, 2, 1, 1]);
  });
});

describe('StratumCounter', () => {
  test("each class's test and validation shares match the fractions to within a hash bin, however rare the class", () => {
    const counter = new StratumCounter(42);
    // 3% positives: a plain hash split gives them a test share that wanders; the stratified one does not.
    const label = (k: number): number => (hashKey(k, 999) % 100 < 3 ? 1 : 0);
    for (let k = 0; k < KEYS; k++) counter.add(k, label(k));
    const strata = counter.thresholds(0.25, 0.15);
    const rule = { testFraction: 0.25, validationFraction: 0.15, seed: 42, strata };
    const per = [
      [0, 0, 0],
      [0, 0, 0],
    ];
    for (let k = 0; k < KEYS; k++) per[label(k)]![splitOf(rule, k, 0, label(k))]!++;
    for (const counts of per) {
      const total = counts.reduce((a, b) => a + b, 0);
      // A bin holds about total / 65536 rows of a class; allow two.
      const slack = 2 + (2 * total) / 65536;
      expect(Math.abs(counts[SPLIT_CODE.test]! - 0.25 * total)).toBeLessThanOrEqual(slack);
      expect(Math.abs(counts[SPLIT_CODE.validation]! - 0.15 * total)).toBeLessThanOrEqual(slack);
    }
  });
});
