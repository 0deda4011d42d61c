import { keyRangesAtCuts, planBlockRanges, planHashBuckets, planKeyRanges, quantileRanks, type KeyRange } from '../../lib/data/partitions';

/**
 * Everything wrong with `ranges` as a plan for [min, max] in `count` partitions: they must be
 * contiguous half-open ranges covering every key exactly once, with near-equal widths.
 */
function coverProblems(ranges: KeyRange[], min: number, max: number, count: number): string[] {
  const problems: string[] = [];
  const keys = max - min + 1;
  if (ranges.length !== Math.min(count, keys)) problems.push(`${ranges.length} ranges`);
  ranges.forEach((r, i) => {
    if (r.partition !== i) problems.push(`range ${i} has partition ${r.partition}`);
    if (!(r.hi > r.lo)) problems.push(`range ${i} is empty`);
  });
  // Brute force: how many ranges contain each key, including the keys just outside the bounds.
  for (let k = min - 1; k <= max + 1; k++) {
    const n = ranges.filter((r) => r.lo <= k && k < r.hi).length;
    const want = k < min || k > max ? 0 : 1;
    if (n !== want) problems.push(`key ${k} is in ${n} ranges`);
  }
  const widths = ranges.map((r) => r.hi - r.lo);
  if (Math.max(...widths) - Math.min(...widths) > 1) problems.push(`uneven widths ${widths.join(',')}`);
  return problems;
}

describe('planKeyRanges', () => {
  test('splits 1..100 into four ranges of 25 keys', () => {
    expect(planKeyRanges(1, 100, 4)).toEqual([
      { kind: 'keyRange', partition: 0, lo: 1, hi: 26 },
      { kind: 'keyRange', partition: 1, lo: 26, hi: 51 },
      { kind: 'keyRange', partition: 2, lo: 51, hi: 76 },
      { kind: 'keyRange', partition: 3, lo: 76, hi: 101 },
    ]);
  });

  test('every key in [min, max] lies in exactly one range, for many small cases', () => {
    let checked = 0;
    for (const min of [-7, 0, 1, 1000]) {
      for (let keys = 1; keys <= 30; keys++) {
        const max = min + keys - 1;
        for (let count = 1; count <= 35; count++) {
          const problems = coverProblems(planKeyRanges(min, max, count), min, max, count);
          if (problems.length > 0) throw new Error(`planKeyRanges(${min}, ${max}, ${count}): ${problems.join('; ')}`);
          checked++;
        }
      }
    }
    expect(checked).toBe(4 * 30 * 35);
  });

  test('min == max gives one single-key range whatever the count', () => {
    expect(planKeyRanges(42, 42, 1)).toEqual([{ kind: 'keyRange', partition: 0, lo: 42, hi: 43 }]);
    expect(planKeyRanges(42, 42, 16)).toEqual([{ kind: 'keyRange', partition: 0, lo: 42, hi: 43 }]);
  });

  test('more partitions than keys gives one range per key', () => {
    expect(planKeyRanges(10, 12, 8)).toEqual([
      { kind: 'keyRange', partition: 0, lo: 10, hi: 11 },
      { kind: 'keyRange', partition: 1, lo: 11, hi: 12 },
      { kind: 'keyRange', partition: 2, lo: 12, hi: 13 },
    ]);
  });

  test('an empty key interval (max < min) gives no ranges', () => {
    expect(planKeyRanges(5, 4, 4)).toEqual([]);
  });

  test('covers wide key spaces exactly, up to the safe-integer limit', () => {
    const bounds: Array<[number, number]> = [
      [0, 1_000_000_007],
      [1, 49_758_216_191_607],
      [0, Number.MAX_SAFE_INTEGER - 1],
      [1, Number.MAX_SAFE_INTEGER],
      [-(2 ** 52), 2 ** 52],
      [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    ];
    for (const [min, max] of bounds) {
      for (const count of [1, 2, 3, 5, 7, 10, 17, 183, 256]) {
        const ranges = planKeyRanges(min, max, count);
        expect(ranges).toHaveLength(count);
        expect(ranges[0]!.lo).toBe(min);
        // The largest key must be inside the last range (hi is exclusive).
        expect(ranges[ranges.length - 1]!.hi).toBe(max + 1);
        ranges.forEach((r, i) => {
          expect(r.hi).toBeGreaterThan(r.lo);
          if (i > 0) expect(r.lo).toBe(ranges[i - 1]!.hi);
        });
        // Near-equal widths, compared exactly with BigInt.
        const widths = ranges.map((r) => BigInt(r.hi) - BigInt(r.lo));
        const total = widths.reduce((a, b) => a + b, 0n);
        expect(total).toBe(BigInt(max) - BigInt(min) + 1n);
        const least = widths.reduce((a, b) => (a < b ? a : b));
        const most = widths.reduce((a, b) => (a > b ? a : b));
        expect(most - least).toBeLessThanOrEqual(1n);
      }
    }
  });

  test('rejects bounds that are not safe integers', () => {
    expect(() => planKeyRanges(0.5, 10, 2)).toThrow('bounds must be safe integers, got 0.5..10');
    expect(() => planKeyRanges(0, Number.NaN, 2)).toThrow(/bounds must be safe integers/);
    expect(() => planKeyRanges(0, 2 ** 53, 2)).toThrow(/bounds must be safe integers/);
  });

  test('rejects a partition count that is not a positive integer', () => {
    expect(() => planKeyRanges(0, 10, 0)).toThrow('partition count must be a positive integer, got 0');
    expect(() => planKeyRanges(0, 10, -1)).toThrow(/partition count must be a positive integer/);
    expect(() => planKeyRanges(0, 10, 2.5)).toThrow(/partition count must be a positive integer/);
  });
});

/** percentile_disc as PostgreSQL defines it: the value at 1-based position ceil(f * n) of the sorted values. */
function percentileDisc(sorted: readonly number[], f: number): number {
  return sorted[Math.max(1, Math.ceil(f * sorted.length)) - 1]!;
}

/** Rows of `keys` in each range, by brute force. */
function rowsPerRange(keys: readonly number[], ranges: readonly KeyRange[]): number[] {
  return ranges.map((r) => keys.filter((k) => r.lo <= k && k < r.hi).length);
}

describe('keyRangesAtCuts and quantileRanks', () => {
  test('cuts at the quantiles the planner asks PostgreSQL for give partitions equal to within one row on a skewed key', () => {
    // Keys crowd near zero (a cubed uniform), the way ids of a table with mass deletes or time-skewed inserts do.
    let seed = 12345;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const keys = [...new Set(Array.from({ length: 20_000 }, () => Math.floor(next() ** 3 * 1e9)))].sort((a, b) => a - b);
    for (const count of [2, 3, 4, 7, 16]) {
      const fractions = quantileRanks(keys.length, count).map((r) => (r + 0.5) / keys.length);
      const ranges = keyRangesAtCuts(
        keys[0]!,
        fractions.map((f) => percentileDisc(keys, f)),
        keys[keys.length - 1]!,
      );
      const sizes = rowsPerRange(keys, ranges);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(keys.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      // Equal-width ranges over the same keys are far from equal work: the check above is not vacuous.
      const widthSizes = rowsPerRange(keys, planKeyRanges(keys[0]!, keys[keys.length - 1]!, count));
      expect(Math.max(...widthSizes)).toBeGreaterThan(1.5 * (keys.length / count));
    }
  });

  test('on a dense key the quantile ranks are where equal-width ranges start', () => {
    for (const rows of [1, 2, 10, 99, 1000, 3_000_000]) {
      for (const count of [1, 2, 3, 4, 7]) {
        const fromRanks = keyRangesAtCuts(0, quantileRanks(rows, count), rows - 1);
        expect(fromRanks).toEqual(planKeyRanges(0, rows - 1, count));
      }
    }
  });

  test('a key value heavier than a partition collapses repeated cuts instead of making empty ranges', () => {
    const keys = [1, 2, 5, 5, 5, 5, 5, 5, 5, 9];
    const cuts = quantileRanks(keys.length, 4).map((r) => keys[r]!);
    const ranges = keyRangesAtCuts(1, cuts, 9);
    expect(cuts).toEqual([5, 5, 5]);
    expect(ranges.map((r) => [r.lo, r.hi])).toEqual([
      [1, 5],
      [5, 10],
    ]);
    expect(rowsPerRange(keys, ranges)).toEqual([2, 8]);
  });

  test('refuses keys beyond the safe-integer range, naming the way out', () => {
    expect(() => keyRangesAtCuts(0, [2 ** 60], 2 ** 61)).toThrow(/source.hashColumn/);
  });
});

describe('planBlockRanges and planHashBuckets', () => {
  test('block ranges cover every block once, in near-equal runs', () => {
    const ranges = planBlockRanges(22_096, 4);
    expect(ranges.map((r) => [r.kind, r.lo, r.hi])).toEqual([
      ['blockRange', 0, 5524],
      ['blockRange', 5524, 11048],
      ['blockRange', 11048, 16572],
      ['blockRange', 16572, 22096],
    ]);
    expect(planBlockRanges(3, 8)).toHaveLength(3);
    expect(planBlockRanges(0, 4)).toEqual([]);
  });

  test('hash buckets: one per partition, each knowing the bucket count', () => {
    expect(planHashBuckets('city', 3)).toEqual([
      { kind: 'hashBucket', partition: 0, of: 3, column: 'city' },
      { kind: 'hashBucket', partition: 1, of: 3, column: 'city' },
      { kind: 'hashBucket', partition: 2, of: 3, column: 'city' },
    ]);
  });
});
