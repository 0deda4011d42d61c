import { Float64, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { mulberry32 } from '../../lib/random';
import {
  computeBatchStatistics,
  type DatasetStatistics,
  type NumericColumnState,
  type StatisticsOptions,
  type TextColumnState,
} from '../../lib/statistics/dataset-stats';
import { validationChecksSchema } from '../../lib/validation/checks';
import { categoricalDrift, computeDrift, jensenShannon, numericDrift } from '../../lib/validation/drift';

// Expected values here are computed from the raw values in the test (brute force), never by the code under test.

type ColumnData = { kind: 'number' | 'timestamp'; values: Array<number | null> } | { kind: 'text'; values: Array<string | null> };

function statsOf(columns: Record<string, ColumnData>, options: StatisticsOptions = {}): DatasetStatistics {
  const vectors: Record<string, Vector> = {};
  for (const [name, c] of Object.entries(columns))
    vectors[name] = c.kind === 'text' ? vectorFromArray(c.values, new Utf8()) : vectorFromArray(c.values, new Float64());
  const table = new Table(vectors);
  return computeBatchStatistics(
    table,
    Object.entries(columns).map(([name, c]) => ({ name, kind: c.kind })),
    options,
  );
}

const text = (values: Array<string | null>, options?: StatisticsOptions): TextColumnState =>
  statsOf({ c: { kind: 'text', values } }, options).columns.c as TextColumnState;
const num = (values: Array<number | null>, options?: StatisticsOptions): NumericColumnState =>
  statsOf({ x: { kind: 'number', values } }, options).columns.x as NumericColumnState;
const time = (values: number[], options?: StatisticsOptions): NumericColumnState =>
  statsOf({ t: { kind: 'timestamp', values } }, options).columns.t as NumericColumnState;

/** Frequencies of the present values. */
function frequencies<T>(values: ReadonlyArray<T | null>): Map<T, number> {
  const present = values.filter((v): v is T => v !== null);
  const counts = new Map<T, number>();
  for (const v of present) counts.set(v, (counts.get(v) ?? 0) + 1);
  return new Map(Array.from(counts, ([v, n]) => [v, n / present.length]));
}

/** max over the union of values of |p − q|. */
function bruteLInfinity<T>(a: ReadonlyArray<T | null>, b: ReadonlyArray<T | null>): number {
  const p = frequencies(a);
  const q = frequencies(b);
  let best = 0;
  for (const v of new Set([...p.keys(), ...q.keys()])) best = Math.max(best, Math.abs((p.get(v) ?? 0) - (q.get(v) ?? 0)));
  return best;
}

/** JSD, base 2, of the two samples' distributions over their distinct values. */
function bruteJsd<T>(a: readonly T[], b: readonly T[]): number {
  const p = frequencies(a);
  const q = frequencies(b);
  let sum = 0;
  for (const v of new Set([...p.keys(), ...q.keys()])) {
    const pv = p.get(v) ?? 0;
    const qv = q.get(v) ?? 0;
    const m = (pv + qv) / 2;
    if (pv > 0) sum += 0.5 * pv * Math.log2(pv / m);
    if (qv > 0) sum += 0.5 * qv * Math.log2(qv / m);
  }
  return sum;
}

/** Repeats each value its count of times. */
function repeat<T>(counts: ReadonlyArray<readonly [T, number]>): T[] {
  return counts.flatMap(([v, n]) => new Array<T>(n).fill(v));
}

function normals(n: number, seed: number, mean = 0): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => mean + Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
}

describe('categorical drift (L-infinity)', () => {
  test('identical distributions are at distance 0, whatever the order of the rows', () => {
    const values = repeat([
      ['a', 5],
      ['b', 3],
      ['c', 2],
    ] as const);
    const d = categoricalDrift(text(values), text([...values].reverse()));
    expect(d).not.toBeNull();
    expect(d!.distance).toBe(0);
  });

  test('disjoint categories: the distance is the largest frequency on either side', () => {
    const prev = repeat([
      ['a', 6],
      ['b', 4],
    ] as const);
    const cur = repeat([
      ['c', 7],
      ['d', 2],
      ['e', 1],
    ] as const);
    const d = categoricalDrift(text(prev), text(cur))!;
    // Hand: max(0.6, 0.4, 0.7, 0.2, 0.1) = 0.7, reached by "c".
    expect(d.distance).toBeCloseTo(0.7, 12);
    expect(d.category).toBe('c');
    expect(d.previous).toBe(0);
    expect(d.current).toBeCloseTo(0.7, 12);
    expect(d.distance).toBeCloseTo(bruteLInfinity(prev, cur), 12);
  });

  test('a small example by hand, nulls excluded from the frequencies', () => {
    // prev present: a 5, b 3, c 2 (of 10); cur present: a 2, b 3, d 5 (of 10), plus 4 nulls.
    const prev: Array<string | null> = repeat<string | null>([
      ['a', 5],
      ['b', 3],
      ['c', 2],
    ]);
    const cur: Array<string | null> = repeat<string | null>([
      ['a', 2],
      [null, 4],
      ['b', 3],
      ['d', 5],
    ]);
    // |a| 0.3, |b| 0, |c| 0.2, |d| 0.5 → 0.5.
    const d = categoricalDrift(text(prev), text(cur))!;
    expect(d.distance).toBeCloseTo(0.5, 12);
    expect(d.category).toBe('d');
    expect(d.distance).toBeCloseTo(bruteLInfinity(prev, cur), 12);
  });

  test('random categories agree with brute force while neither side is capped', () => {
    const random = mulberry32(11);
    const pick = (skew: number) => Array.from({ length: 3000 }, () => (random() < 0.03 ? null : `v${Math.floor(40 * random() ** skew)}`));
    const prev = pick(1);
    const cur = pick(2);
    expect(categoricalDrift(text(prev), text(cur))!.distance).toBeCloseTo(bruteLInfinity(prev, cur), 12);
  });

  test('past the top-K cap, the dropped values count as one "other" category', () => {
    // Cap 2: each side keeps its two most frequent values; the rest is "other".
    const prev = repeat([
      ['a', 50],
      ['b', 30],
      ['c', 10],
      ['d', 10],
    ] as const);
    const cur = repeat([
      ['a', 20],
      ['e', 45],
      ['c', 25],
      ['f', 10],
    ] as const);
    // Hand: prev keeps a .5, b .3, other .2; cur keeps e .45, c .25, other .3.
    // |a| .5, |b| .3, |c| .25 (prev's c is in its "other"), |e| .45, |other| .1 → 0.5 at "a".
    const d = categoricalDrift(text(prev, { topKCap: 2 }), text(cur, { topKCap: 2 }))!;
    expect(d.distance).toBeCloseTo(0.5, 12);
    expect(d.category).toBe('a');
    // Uncapped, the distance is 0.45 (at "e"): the cap overstates it by 0.05, within cur's "other" share of 0.3, as drift.ts says.
    expect(bruteLInfinity(prev, cur)).toBeCloseTo(0.45, 12);
    expect(d.distance - bruteLInfinity(prev, cur)).toBeLessThanOrEqual(0.3);
  });

  test('a side with no present value gives no distance', () => {
    expect(categoricalDrift(text([null, null]), text(['a']))).toBeNull();
  });
});

describe('numeric drift (Jensen–Shannon)', () => {
  test('the JSD of two hand-made distributions', () => {
    // p = (1/2, 1/2, 0), q = (0, 1/2, 1/2): m = (1/4, 1/2, 1/4); JSD = 1/2·(1/2·log2 2) + 1/2·(1/2·log2 2) = 1/2.
    expect(jensenShannon([0.5, 0.5, 0], [0, 0.5, 0.5])).toBeCloseTo(0.5, 12);
    expect(jensenShannon([1, 0], [0, 1])).toBe(1);
    expect(jensenShannon([0.3, 0.7], [0.3, 0.7])).toBe(0);
  });

  test('identical distributions: 0', () => {
    const values = normals(5000, 3);
    const d = numericDrift(num(values), num([...values].reverse()))!;
    expect(d.distance).toBe(0);
    expect(d.bins).toBe(20);
  });

  test('disjoint supports: 1, with many distinct values grouped into bins', () => {
    const prev = normals(3000, 4).map((v) => v + 10);
    const cur = normals(2000, 5).map((v) => v + 100);
    expect(Math.max(...prev)).toBeLessThan(Math.min(...cur));
    const d = numericDrift(num(prev), num(cur))!;
    expect(bruteJsd(prev, cur)).toBeCloseTo(1, 12);
    expect(d.distance).toBeCloseTo(1, 9);
    expect(d.bins).toBeLessThanOrEqual(20);
  });

  test('disjoint supports that sit close together (negative and positive values)', () => {
    const prev = Array.from({ length: 100 }, (_, i) => -1 - i / 10);
    const cur = Array.from({ length: 300 }, (_, i) => 1 + i / 10);
    expect(numericDrift(num(prev), num(cur))!.distance).toBeCloseTo(1, 9);
  });

  test('few distinct values (each its own bin): equal to the brute-force JSD over the values', () => {
    // Integers below 50 fall in distinct DDSketch buckets at 1% accuracy (neighbours differ by more than γ = 1.0202).
    const prev = repeat([
      [1, 10],
      [2, 20],
      [3, 30],
      [4, 40],
    ] as const);
    const cur = repeat([
      [2, 5],
      [3, 10],
      [4, 25],
      [5, 60],
    ] as const);
    const d = numericDrift(num(prev), num(cur))!;
    expect(d.bins).toBe(5);
    expect(d.distance).toBeCloseTo(bruteJsd(prev, cur), 12);
    // And by hand: p = (.1,.2,.3,.4,0), q = (0,.05,.1,.25,.6).
    const p = [0.1, 0.2, 0.3, 0.4, 0];
    const q = [0, 0.05, 0.1, 0.25, 0.6];
    const hand = p.reduce((s, pi, i) => {
      const m = (pi + q[i]!) / 2;
      return s + (pi > 0 ? 0.5 * pi * Math.log2(pi / m) : 0) + (q[i]! > 0 ? 0.5 * q[i]! * Math.log2(q[i]! / m) : 0);
    }, 0);
    expect(d.distance).toBeCloseTo(hand, 12);
  });

  test('more distinct values than bins: binned JSD is at most the exact one, and equal with enough bins', () => {
    const random = mulberry32(8);
    const prev = Array.from({ length: 4000 }, () => 1 + Math.floor(40 * random()));
    const cur = Array.from({ length: 3000 }, () => 1 + Math.floor(40 * random() ** 1.5));
    const exact = bruteJsd(prev, cur);
    const binned = numericDrift(num(prev), num(cur), 20)!;
    expect(binned.bins).toBeLessThanOrEqual(20);
    // Coarsening never increases a divergence (data-processing inequality).
    expect(binned.distance).toBeLessThanOrEqual(exact + 1e-12);
    expect(binned.distance).toBeGreaterThan(0.5 * exact);
    const fine = numericDrift(num(prev), num(cur), 64)!;
    expect(fine.bins).toBe(40);
    expect(fine.distance).toBeCloseTo(exact, 12);
  });

  test('agrees with a brute-force JSD over the raw values binned at the mixture quantiles, and resists an outlier', () => {
    const prev = [...normals(20000, 21), 1e6];
    const cur = normals(20000, 22, 1);
    // Brute force: edges at the quantiles j/20 of the equal-weight mixture, from the sorted raw values.
    const bins = 20;
    const pooled = [...prev.map((v) => [v, 0.5 / prev.length] as const), ...cur.map((v) => [v, 0.5 / cur.length] as const)].sort((a, b) => a[0] - b[0]);
    const edges: number[] = [];
    let acc = 0;
    for (const [v, w] of pooled) {
      acc += w;
      if (acc >= (edges.length + 1) / bins && edges.length < bins - 1) edges.push(v);
    }
    const binOf = (v: number) => edges.filter((e) => v > e).length;
    const histogram = (values: number[]) => {
      const h = new Array<number>(bins).fill(0);
      for (const v of values) h[binOf(v)]! += 1 / values.length;
      return h;
    };
    const expected = jensenShannonByHand(histogram(prev), histogram(cur));
    const d = numericDrift(num(prev), num(cur))!;
    // The sketch places values to within 1% of their magnitude, so bin edges move by up to that much.
    expect(Math.abs(d.distance - expected)).toBeLessThan(0.002);
    // A one-sigma shift of a normal: the divergence is far above the default threshold despite the outlier.
    expect(d.distance).toBeGreaterThan(0.1);
  });

  test('two samples of one distribution stay near the sampling-noise level', () => {
    const d = numericDrift(num(normals(20000, 31)), num(normals(20000, 32)))!;
    // Expected noise ≈ (bins − 1)/(8 ln 2)·(1/n₁ + 1/n₂) = 19/5.545·1e-4 ≈ 3.4e-4.
    expect(d.distance).toBeLessThan(5 * ((19 / (8 * Math.LN2)) * (2 / 20000)));
  });

  test('timestamps: hand-computed on whole days, identical is 0, disjoint is 1', () => {
    const day = 86_400_000;
    const t0 = Date.UTC(2024, 0, 1);
    const prev = repeat([
      [t0, 3],
      [t0 + day, 1],
    ] as const);
    const cur = repeat([
      [t0, 1],
      [t0 + day, 1],
      [t0 + 2 * day, 2],
    ] as const);
    expect(numericDrift(time(prev), time(cur))!.distance).toBeCloseTo(bruteJsd(prev, cur), 12);
    expect(numericDrift(time(prev), time(prev))!.distance).toBe(0);
    expect(numericDrift(time(prev), time(prev.map((t) => t + 365 * day)))!.distance).toBeCloseTo(1, 12);
  });

  test('timestamps whose sketches reached different levels are compared on the coarser buckets', () => {
    // Four bins at most: the first side stays at level 0, the second rises; the first is lifted to match.
    const prev = [0, 0, 1, 2, 3, 100, 101];
    const cur = Array.from({ length: 64 }, (_, i) => i * 4);
    const a = time(prev, { timestampBins: 4 });
    const b = time(cur, { timestampBins: 4 });
    const levelOf = (s: NumericColumnState): number => (s.kind === 'timestamp' ? s.sketch.level : NaN);
    const level = Math.max(levelOf(a), levelOf(b));
    // Hand: 6 distinct keys > 4 lift prev to level 1; 64 values 4 apart need level 6 to fit in 4 buckets.
    expect([levelOf(a), levelOf(b)]).toEqual([1, 6]);
    const bucket = (v: number) => Math.floor(v / 2 ** level);
    expect(numericDrift(a, b)!.distance).toBeCloseTo(bruteJsd(prev.map(bucket), cur.map(bucket)), 12);
  });

  test('no finite value on a side gives no distance', () => {
    expect(numericDrift(num([null, NaN]), num([1, 2]))).toBeNull();
  });
});

function jensenShannonByHand(p: number[], q: number[]): number {
  let sum = 0;
  p.forEach((pi, i) => {
    const qi = q[i]!;
    const m = (pi + qi) / 2;
    if (pi > 0) sum += 0.5 * pi * Math.log2(pi / m);
    if (qi > 0) sum += 0.5 * qi * Math.log2(qi / m);
  });
  return sum;
}

describe('computeDrift', () => {
  const prev = statsOf({
    carrier: {
      kind: 'text',
      values: repeat<string | null>([
        ['AA', 60],
        ['UA', 40],
      ]),
    },
    delay: { kind: 'number', values: Array.from({ length: 100 }, (_, i) => i) },
    mode: { kind: 'text', values: repeat<string | null>([['x', 100]]) },
  });
  const cur = statsOf({
    carrier: {
      kind: 'text',
      values: repeat<string | null>([
        ['AA', 30],
        ['UA', 40],
        ['DL', 30],
      ]),
    },
    delay: { kind: 'number', values: Array.from({ length: 100 }, (_, i) => i + 1000) },
    mode: { kind: 'number', values: Array.from({ length: 100 }, () => 1) },
    fresh: { kind: 'text', values: Array.from({ length: 100 }, () => 'n') },
  });

  test('one entry per shared column of the same kind; an anomaly for each over its threshold', () => {
    const result = computeDrift(prev, cur, validationChecksSchema.parse({}));
    expect(result.columns.map((c) => c.column)).toEqual(['carrier', 'delay']);
    const carrier = result.columns[0]!;
    // Hand: AA .6 → .3, UA .4 → .4, DL 0 → .3: L∞ = 0.3.
    expect(carrier.measure).toBe('l_infinity');
    expect(carrier.distance).toBeCloseTo(0.3, 12);
    expect(carrier.threshold).toBe(0.1);
    const delay = result.columns[1]!;
    expect(delay.measure).toBe('jensen_shannon');
    expect(delay.distance).toBeCloseTo(1, 9);
    expect(result.anomalies.map((a) => [a.check, a.column, a.severity])).toEqual([
      ['drift', 'carrier', 'warning'],
      ['drift', 'delay', 'warning'],
    ]);
    expect(result.anomalies[0]!.value).toBeCloseTo(0.3, 12);
    expect(result.anomalies[0]!.threshold).toBe(0.1);
    expect(result.anomalies[0]!.message).toContain('"carrier"');
    expect(result.anomalies[0]!.message).toContain('0.3000');
    expect(result.anomalies[0]!.message).toContain('validation.drift.categorical');
  });

  test("per-column threshold override and severity; 'off' keeps the distance but reports nothing", () => {
    const checks = validationChecksSchema.parse({ drift: { severity: 'error' }, columns: { carrier: { driftThreshold: 0.35 } } });
    const result = computeDrift(prev, cur, checks);
    expect(result.columns[0]!.threshold).toBe(0.35);
    expect(result.columns[0]!.drifted).toBe(false);
    expect(result.anomalies.map((a) => [a.column, a.severity])).toEqual([['delay', 'error']]);
    const off = computeDrift(prev, cur, validationChecksSchema.parse({ drift: { severity: 'off' } }));
    expect(off.anomalies).toEqual([]);
    expect(off.columns.map((c) => c.drifted)).toEqual([true, true]);
    const oneOff = computeDrift(prev, cur, validationChecksSchema.parse({ columns: { delay: { drift: 'off' } } }));
    expect(oneOff.anomalies.map((a) => a.column)).toEqual(['carrier']);
  });

  test('the global thresholds apply by kind', () => {
    const result = computeDrift(prev, cur, validationChecksSchema.parse({ drift: { categorical: 0.31, numeric: 0.99 } }));
    expect(result.columns.map((c) => c.threshold)).toEqual([0.31, 0.99]);
    // 0.3 ≤ 0.31; 1 > 0.99.
    expect(result.anomalies.map((a) => a.column)).toEqual(['delay']);
  });
});
