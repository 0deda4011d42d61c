import { deriveSeed, mulberry32, shuffleInPlace } from '../../lib/random';

function draw(seed: number, n: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => random());
}

describe('mulberry32', () => {
  test('the same seed gives the same sequence', () => {
    expect(draw(7, 1000)).toEqual(draw(7, 1000));
  });

  test('different seeds give different sequences', () => {
    const a = draw(7, 100);
    const b = draw(8, 100);
    const same = a.filter((x, i) => x === b[i]).length;
    expect(same).toBe(0);
  });

  test('seeds are taken modulo 2^32', () => {
    expect(draw(-1, 10)).toEqual(draw(2 ** 32 - 1, 10));
  });

  test('returns floats in [0, 1), roughly uniform', () => {
    const values = draw(123, 100_000);
    expect(values.filter((v) => !(v >= 0 && v < 1))).toEqual([]);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005); // sd of the mean is 0.0009
    const deciles = new Array<number>(10).fill(0);
    for (const v of values) deciles[Math.floor(v * 10)]!++;
    for (const d of deciles) expect(Math.abs(d / values.length - 0.1)).toBeLessThan(0.006);
  });

  test('is not stuck on a short cycle', () => {
    expect(new Set(draw(1, 10_000)).size).toBe(10_000);
  });
});

describe('deriveSeed', () => {
  test('is deterministic and a 32-bit unsigned integer', () => {
    const s = deriveSeed(42, 'train', 3, 'epoch', 1);
    expect(deriveSeed(42, 'train', 3, 'epoch', 1)).toBe(s);
    expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
  });

  test('separates the parts: ("ab", "c") differs from ("a", "bc") and ("abc")', () => {
    const seeds = [deriveSeed(1, 'ab', 'c'), deriveSeed(1, 'a', 'bc'), deriveSeed(1, 'abc'), deriveSeed(1, 'abc', '')];
    expect(new Set(seeds).size).toBe(seeds.length);
  });

  test('depends on the run seed', () => {
    const seeds = Array.from({ length: 1000 }, (_, run) => deriveSeed(run, 'shuffle'));
    expect(new Set(seeds).size).toBe(1000);
  });

  test('gives distinct seeds across stages, shards and epochs', () => {
    const seeds = new Set<number>();
    let count = 0;
    for (const stage of ['ingest', 'train', 'shuffle', 'evaluate'])
      for (let shard = 0; shard < 32; shard++)
        for (let epoch = 0; epoch < 8; epoch++) {
          seeds.add(deriveSeed(42, stage, shard, epoch));
          count++;
        }
    expect(seeds.size).toBe(count);
  });

  test('order of the parts matters', () => {
    expect(deriveSeed(42, 1, 2)).not.toBe(deriveSeed(42, 2, 1));
  });

  test('a number part and its decimal string are the same part', () => {
    // Documented by the implementation: parts are hashed as text.
    expect(deriveSeed(42, 'shard', 7)).toBe(deriveSeed(42, 'shard', '7'));
  });
});

describe('shuffleInPlace', () => {
  test('produces a permutation of the input', () => {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    shuffleInPlace(items, mulberry32(5));
    expect(items).toHaveLength(1000);
    expect([...items].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    // And it actually moved things.
    expect(items.filter((v, i) => v === i).length).toBeLessThan(20);
  });

  test('works on a Uint32Array', () => {
    const items = Uint32Array.from({ length: 500 }, (_, i) => i * 3);
    shuffleInPlace(items, mulberry32(9));
    expect(Array.from(items).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i * 3));
    expect(Array.from(items).some((v, i) => v !== i * 3)).toBe(true);
  });

  test('the same seed gives the same order; another seed another order', () => {
    const a = Array.from({ length: 100 }, (_, i) => i);
    const b = [...a];
    const c = [...a];
    shuffleInPlace(a, mulberry32(11));
    shuffleInPlace(b, mulberry32(11));
    shuffleInPlace(c, mulberry32(12));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  test('handles empty and single-element arrays', () => {
    const empty: number[] = [];
    shuffleInPlace(empty, mulberry32(1));
    expect(empty).toEqual([]);
    const one = ['x'];
    shuffleInPlace(one, mulberry32(1));
    expect(one).toEqual(['x']);
  });

  test('every permutation of three items is about equally likely', () => {
    const random = mulberry32(2024);
    const counts = new Map<string, number>();
    const trials = 60_000;
    for (let t = 0; t < trials; t++) {
      const items = ['a', 'b', 'c'];
      shuffleInPlace(items, random);
      const key = items.join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['abc', 'acb', 'bac', 'bca', 'cab', 'cba']);
    // Each has probability 1/6; the binomial sd of each share is about 0.0015.
    for (const n of counts.values()) expect(Math.abs(n / trials - 1 / 6)).toBeLessThan(0.008);
  });

  test('draws its randomness only from the given generator', () => {
    const calls: number[] = [];
    const fixed = (): number => {
      calls.push(0);
      return 0;
    };
    const items = [1, 2, 3, 4];
    shuffleInPlace(items, fixed);
    // Fisher–Yates makes n - 1 draws; with random() = 0 each step swaps position i with 0.
    expect(calls).toHaveLength(3);
    // i=3: swap(3,0) -> [4,2,3,1]; i=2: swap(2,0) -> [3,2,4,1]; i=1: swap(1,0) -> [2,3,4,1]
    expect(items).toEqual([2, 3, 4, 1]);
  });
});
