import { DDSketch } from '@datadog/sketches-js';
import { Field, Float64, Int32, RecordBatch, Schema, Struct, Table, Utf8, makeData, vectorFromArray, type Data } from 'apache-arrow';
import { mulberry32, shuffleInPlace } from '../../lib/random';
import { ddsketchQuantile } from '../../lib/statistics/ddsketch';
import {
  accumulateStatistics,
  computeBatchStatistics,
  createStatistics,
  finalizeStatistics,
  mergeAllStatistics,
  mergeStatistics,
  type DatasetStatistics,
  type NumericSummary,
  type Quantiles,
  type StatisticsColumn,
  type StatisticsOptions,
  type TextSummary,
} from '../../lib/statistics/dataset-stats';

interface Row {
  amount: number | null;
  when: number | null;
  origin: string | null;
  carrier: string | null;
}

const COLUMNS: StatisticsColumn[] = [
  { name: 'amount', kind: 'number', histogramEdges: [-1000, -10, -1, 0, 1, 10, 100, 1000] },
  { name: 'when', kind: 'timestamp' },
  { name: 'origin', kind: 'text' },
  { name: 'carrier', kind: 'text' },
];

const SCHEMA = new Schema([
  new Field('amount', new Float64(), true),
  new Field('when', new Float64(), true),
  new Field('origin', new Utf8(), true),
  new Field('carrier', new Utf8(), true),
]);

const YEAR_START = Date.UTC(2024, 0, 1);
const YEAR_MS = 366 * 24 * 3600 * 1000;
const ORIGINS = ['', 'Zürich', '東京', '🛫', ...Array.from({ length: 296 }, (_, i) => `A${i.toString(36)}`)];
const CARRIERS = Array.from({ length: 12 }, (_, i) => `C${i}`);

function makeRows(n: number, seed: number): Row[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, (): Row => {
    const r = random();
    let amount: number | null;
    if (r < 0.02) amount = null;
    else if (r < 0.03) amount = NaN;
    else if (r < 0.035) amount = Infinity;
    else if (r < 0.04) amount = -Infinity;
    else if (r < 0.05) amount = 0;
    else if (r < 0.06) amount = -0;
    else amount = (random() - 0.3) * 10 ** (random() * 6 - 2);
    const t = random();
    const when = t < 0.03 ? null : t < 0.035 ? NaN : YEAR_START + Math.floor(random() * YEAR_MS);
    const origin = random() < 0.05 ? null : ORIGINS[Math.floor(ORIGINS.length * random() ** 3)]!;
    const carrier = CARRIERS[Math.floor(CARRIERS.length * random())]!;
    return { amount, when, origin, carrier };
  });
}

function batchOf(rows: readonly Row[]): RecordBatch {
  const children: Data[] = [
    vectorFromArray(
      rows.map((r) => r.amount),
      new Float64(),
    ).data[0]!,
    vectorFromArray(
      rows.map((r) => r.when),
      new Float64(),
    ).data[0]!,
    vectorFromArray(
      rows.map((r) => r.origin),
      new Utf8(),
    ).data[0]!,
    vectorFromArray(
      rows.map((r) => r.carrier),
      new Utf8(),
    ).data[0]!,
  ];
  return new RecordBatch(SCHEMA, makeData({ type: new Struct(SCHEMA.fields), length: rows.length, nullCount: 0, children }));
}

/** A table of `rows` in batches of at most `chunk` rows (one empty batch when there are no rows). */
function tableOf(rows: readonly Row[], chunk = 1000): Table {
  const batches: RecordBatch[] = [];
  for (let start = 0; start < rows.length; start += chunk) batches.push(batchOf(rows.slice(start, start + chunk)));
  if (batches.length === 0) batches.push(batchOf([]));
  return new Table(SCHEMA, batches);
}

/** Each row to one of `k` shards at random (shard sizes random too). */
function randomShards(rows: readonly Row[], k: number, seed: number): Row[][] {
  const random = mulberry32(seed);
  const shards: Row[][] = Array.from({ length: k }, () => []);
  for (const row of rows) shards[Math.floor(random() * k)]!.push(row);
  return shards;
}

function leftFold(states: readonly DatasetStatistics[]): DatasetStatistics {
  return mergeAllStatistics(states)!;
}

function rightFold(states: readonly DatasetStatistics[]): DatasetStatistics {
  let acc = states[states.length - 1]!;
  for (let i = states.length - 2; i >= 0; i--) acc = mergeStatistics(states[i]!, acc);
  return acc;
}

function treeFold(states: readonly DatasetStatistics[]): DatasetStatistics {
  if (states.length === 1) return states[0]!;
  const mid = states.length >> 1;
  return mergeStatistics(treeFold(states.slice(mid)), treeFold(states.slice(0, mid)));
}

function expectClose(actual: number | null, expected: number | null, relative = 1e-9): void {
  expect(actual === null).toBe(expected === null);
  if (actual === null || expected === null) return;
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(relative * Math.max(Math.abs(actual), Math.abs(expected)) + Number.MIN_VALUE);
}

/** Asserts merged == whole: every field exactly, mean and M2 to floating-point rounding. */
function expectSameStatistics(actual: DatasetStatistics, expected: DatasetStatistics): void {
  const moments = (s: DatasetStatistics): Array<[number, number]> =>
    Object.values(s.columns).map((c): [number, number] => (c.kind === 'text' ? [0, 0] : [c.mean, c.m2]));
  const withoutMoments = (s: DatasetStatistics): unknown => {
    const copy = structuredClone(s);
    for (const c of Object.values(copy.columns)) {
      if (c.kind !== 'text') {
        c.mean = 0;
        c.m2 = 0;
      }
    }
    return copy;
  };
  expect(withoutMoments(actual)).toStrictEqual(withoutMoments(expected));
  const [a, e] = [moments(actual), moments(expected)];
  a.forEach(([mean, m2], i) => {
    expectClose(mean, e[i]![0]);
    expectClose(m2, e[i]![1]);
  });
}

/** Asserts two reports agree: everything exactly, mean, variance and stddev to rounding. */
function expectSameSummary(actual: DatasetStatistics, expected: DatasetStatistics): void {
  const [a, e] = [finalizeStatistics(actual), finalizeStatistics(expected)];
  const rounded = (s: ReturnType<typeof finalizeStatistics>): unknown => {
    const copy = structuredClone(s);
    for (const c of Object.values(copy.columns)) {
      if (c.kind !== 'text') {
        c.mean = 0;
        c.variance = 0;
        c.stddev = 0;
      }
    }
    return copy;
  };
  expect(rounded(a)).toStrictEqual(rounded(e));
  for (const name of Object.keys(e.columns)) {
    const [x, y] = [a.columns[name]!, e.columns[name]!];
    if (x.kind === 'text' || y.kind === 'text') continue;
    expectClose(x.mean, y.mean);
    expectClose(x.variance, y.variance);
    expectClose(x.stddev, y.stddev);
  }
}

/** Everything about a number list, the slow and obvious way. */
function bruteNumeric(values: ReadonlyArray<number | null>) {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const sorted = finite.slice().sort((a, b) => a - b);
  const mean = finite.reduce((s, v) => s + v, 0) / finite.length;
  const variance = finite.reduce((s, v) => s + (v - mean) ** 2, 0) / finite.length;
  return {
    count: values.length,
    missing: values.filter((v) => v === null).length,
    nan: values.filter((v) => v !== null && Number.isNaN(v)).length,
    infinite: values.filter((v) => v === Infinity || v === -Infinity).length,
    finite: finite.length,
    zeros: finite.filter((v) => v === 0).length,
    min: finite.length > 0 ? sorted[0]! + 0 : null,
    max: finite.length > 0 ? sorted[sorted.length - 1]! + 0 : null,
    mean: finite.length > 0 ? mean : null,
    variance: finite.length > 0 ? variance : null,
    sorted,
  };
}

/** The exact quantile the sketches estimate: the element of rank floor(q·(n−1)). */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

/** Value counts ranked as the statistics rank them: count descending, then value. */
function bruteTopK(values: ReadonlyArray<string | null>): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  return Array.from(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function numeric(stats: DatasetStatistics, name: string): NumericSummary {
  const summary = finalizeStatistics(stats, { topK: 1_000_000 }).columns[name]!;
  if (summary.kind === 'text') throw new Error(`${name} is not numeric`);
  return summary;
}

function text(stats: DatasetStatistics, name: string, topK = 1_000_000): TextSummary {
  const summary = finalizeStatistics(stats, { topK }).columns[name]!;
  if (summary.kind !== 'text') throw new Error(`${name} is not text`);
  return summary;
}

const ROWS = makeRows(20_000, 7);
const CONFIGS: Array<[string, StatisticsOptions]> = [
  ['default options', {}],
  ['coarse sketches', { relativeAccuracy: 0.05, timestampBins: 16 }],
];

describe.each(CONFIGS)('merging shard statistics equals the whole (%s)', (_, options) => {
  const whole = computeBatchStatistics(tableOf(ROWS, 3000), COLUMNS, options);

  test.each([1, 2, 3, 7])('%i random shards, merged left, right, shuffled and as a tree', (k) => {
    const shards = randomShards(ROWS, k, 100 + k).map((rows, i) => computeBatchStatistics(tableOf(rows, 500 + 97 * i), COLUMNS, options));
    const shuffled = shards.slice();
    shuffleInPlace(shuffled, mulberry32(k));
    for (const merged of [leftFold(shards), rightFold(shards), leftFold(shuffled), treeFold(shuffled)]) {
      expectSameStatistics(merged, whole);
      expectSameSummary(merged, whole);
    }
  });

  test('contiguous slices of one table (chunks that start mid-bitmap), accumulated batch by batch', () => {
    const table = tableOf(ROWS, 4096);
    const cuts = [0, 1, 2999, 3001, 8192, 13_333, ROWS.length];
    const parts = cuts.slice(1).map((end, i) => computeBatchStatistics(table.slice(cuts[i]!, end), COLUMNS, options));
    expectSameStatistics(leftFold(parts), whole);
    const batchByBatch = createStatistics(COLUMNS, options);
    for (const batch of table.batches) accumulateStatistics(batchByBatch, batch);
    expectSameStatistics(batchByBatch, whole);
  });

  test('the merge does not touch its inputs', () => {
    const [a, b] = randomShards(ROWS, 2, 5).map((rows) => computeBatchStatistics(tableOf(rows), COLUMNS, options));
    const [copyA, copyB] = [structuredClone(a), structuredClone(b)];
    mergeStatistics(a!, b!);
    expect(a).toStrictEqual(copyA);
    expect(b).toStrictEqual(copyB);
  });
});

describe('numeric statistics against brute force', () => {
  const stats = computeBatchStatistics(tableOf(ROWS, 777), COLUMNS);

  test.each(['amount', 'when'])('counts, min, max, mean and variance of %s', (name) => {
    const brute = bruteNumeric(ROWS.map((r) => r[name as 'amount' | 'when']));
    const summary = numeric(stats, name);
    const { count, missing, nan, infinite, finite, zeros, min, max } = brute;
    expect(summary).toMatchObject({ count, missing, nan, infinite, finite, zeros, min, max });
    expectClose(summary.mean, brute.mean);
    expectClose(summary.variance, brute.variance);
    expectClose(summary.stddev, Math.sqrt(brute.variance!));
  });

  test('Welford combination over many tiny chunks and over values far from zero', () => {
    const random = mulberry32(3);
    const rows = Array.from({ length: 3000 }, (): Row => ({
      amount: 1e6 + 10 * random(),
      when: YEAR_START + random() * 86_400_000,
      origin: null,
      carrier: 'x',
    }));
    for (const chunk of [1, 3, 1000]) {
      const stats = computeBatchStatistics(tableOf(rows, chunk), COLUMNS);
      for (const name of ['amount', 'when'] as const) {
        const brute = bruteNumeric(rows.map((r) => r[name]));
        expectClose(numeric(stats, name).mean, brute.mean);
        expectClose(numeric(stats, name).variance, brute.variance);
      }
    }
  });

  test('number quantiles are within the relative accuracy of the exact ones, and the same as the library sketch', () => {
    const brute = bruteNumeric(ROWS.map((r) => r.amount));
    const library = new DDSketch({ relativeAccuracy: 0.01 });
    for (const v of brute.sorted) library.accept(v);
    const summary = numeric(stats, 'amount');
    expect(summary.quantileError).toEqual({ kind: 'relative', bound: 0.01 });
    for (const [name, q] of Object.entries({ p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 })) {
      const exact = exactQuantile(brute.sorted, q);
      const estimate = summary.quantiles![name as keyof Quantiles];
      expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(0.01 * Math.abs(exact) * (1 + 1e-9));
    }
    const state = stats.columns.amount!;
    if (state.kind !== 'number') throw new Error('amount is a number column');
    for (let q = 0; q <= 1; q += 0.0125) {
      expect(ddsketchQuantile(state.sketch, q)).toBe(library.getValueAtQuantile(q));
      const exact = exactQuantile(brute.sorted, q);
      expect(Math.abs(ddsketchQuantile(state.sketch, q) - exact)).toBeLessThanOrEqual(0.01 * Math.abs(exact) * (1 + 1e-9));
    }
  });

  test.each([2048, 16])('timestamp quantiles are within the stated absolute error (%i bins)', (timestampBins) => {
    const brute = bruteNumeric(ROWS.map((r) => r.when));
    const summary = numeric(computeBatchStatistics(tableOf(ROWS), COLUMNS, { timestampBins }), 'when');
    expect(summary.quantileError.kind).toBe('absolute');
    // The bound is a bucket's half width: the span over the bins, up to a power of two.
    expect(summary.quantileError.bound).toBeLessThanOrEqual((2 * (brute.max! - brute.min!)) / timestampBins);
    for (const [name, q] of Object.entries({ p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 })) {
      const estimate = summary.quantiles![name as keyof Quantiles];
      expect(Math.abs(estimate - exactQuantile(brute.sorted, q))).toBeLessThanOrEqual(summary.quantileError.bound);
    }
  });

  test('timestamps of whole milliseconds that fit the bins have exact quantiles', () => {
    const rows = ROWS.slice(0, 1500);
    const brute = bruteNumeric(rows.map((r) => r.when));
    const summary = numeric(computeBatchStatistics(tableOf(rows), COLUMNS), 'when');
    expect(summary.quantileError.bound).toBe(1);
    for (const [name, q] of Object.entries({ p01: 0.01, p50: 0.5, p99: 0.99 })) {
      expect(summary.quantiles![name as 'p01' | 'p50' | 'p99']).toBe(exactQuantile(brute.sorted, q));
    }
  });

  test.each(['amount', 'when'])('the equal-width histogram of %s is off only by values near bucket edges', (name) => {
    const brute = bruteNumeric(ROWS.map((r) => r[name as 'amount' | 'when']));
    const summary = numeric(stats, name);
    const { edges, counts } = summary.histogram!;
    expect(edges[0]).toBe(brute.min);
    expect(edges[edges.length - 1]).toBe(brute.max);
    expect(counts.reduce((s, c) => s + c, 0)).toBe(brute.finite);
    const slack = (v: number): number =>
      summary.quantileError.kind === 'relative' ? summary.quantileError.bound * Math.abs(v) * (1 + 1e-9) : summary.quantileError.bound;
    counts.forEach((count, i) => {
      const [lo, hi] = [edges[i]!, edges[i + 1]!];
      const last = i === counts.length - 1;
      const exact = brute.sorted.filter((v) => v >= lo && (last ? v <= hi : v < hi)).length;
      const nearEdge = brute.sorted.filter((v) => (i > 0 && Math.abs(v - lo) <= slack(v)) || (!last && Math.abs(v - hi) <= slack(v))).length;
      expect(Math.abs(count - exact)).toBeLessThanOrEqual(nearEdge);
    });
  });

  test('the fixed-edge histogram counts exactly', () => {
    const brute = bruteNumeric(ROWS.map((r) => r.amount));
    const edges = COLUMNS[0]!.histogramEdges!;
    const fixed = numeric(stats, 'amount').fixedHistogram!;
    expect(fixed.edges).toEqual(edges);
    expect(fixed.below).toBe(brute.sorted.filter((v) => v < edges[0]!).length);
    expect(fixed.above).toBe(brute.sorted.filter((v) => v > edges[edges.length - 1]!).length);
    expect(fixed.counts).toEqual(
      edges.slice(1).map((hi, i) => brute.sorted.filter((v) => v >= edges[i]! && (i === edges.length - 2 ? v <= hi : v < hi)).length),
    );
  });

  test('nulls, NaN and ±Infinity are counted and kept out of everything else', () => {
    const values = [5, null, NaN, Infinity, -Infinity, -0, 2.5, null, NaN, 0, -4];
    const rows = values.map((amount): Row => ({ amount, when: amount, origin: null, carrier: null }));
    const brute = bruteNumeric(values);
    for (const name of ['amount', 'when']) {
      const summary = numeric(computeBatchStatistics(tableOf(rows, 4), COLUMNS), name);
      expect(summary).toMatchObject({ count: brute.count, missing: brute.missing, nan: brute.nan, infinite: brute.infinite, finite: brute.finite });
      expect(summary).toMatchObject({ zeros: brute.zeros, min: brute.min, max: brute.max });
      expectClose(summary.mean, brute.mean);
      expectClose(summary.variance, brute.variance);
      expect(summary.histogram!.counts.reduce((s, c) => s + c, 0)).toBe(brute.finite);
      for (const q of Object.values(summary.quantiles!)) expect(Number.isFinite(q)).toBe(true);
    }
    const fixed = numeric(computeBatchStatistics(tableOf(rows, 4), COLUMNS), 'amount').fixedHistogram!;
    expect(fixed.counts.reduce((s, c) => s + c, 0) + fixed.below + fixed.above).toBe(brute.finite);
  });

  test('a column with no finite value reports nulls, not NaN', () => {
    const rows = [null, NaN, Infinity].map((amount): Row => ({ amount, when: null, origin: null, carrier: null }));
    const stats = computeBatchStatistics(tableOf(rows), COLUMNS);
    const summary = numeric(stats, 'amount');
    expect(summary).toMatchObject({ count: 3, finite: 0, min: null, max: null, mean: null, variance: null, quantiles: null, histogram: null });
    expect(JSON.parse(JSON.stringify(finalizeStatistics(stats)))).toStrictEqual(finalizeStatistics(stats));
  });

  test('integer columns are read as numbers', () => {
    const schema = new Schema([new Field('n', new Int32(), true)]);
    const values = [3, null, -7, 12, 0];
    const batch = new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: values.length, nullCount: 0, children: [vectorFromArray(values, new Int32()).data[0]!] }),
    );
    const summary = finalizeStatistics(computeBatchStatistics(batch, [{ name: 'n', kind: 'number' }])).columns.n as NumericSummary;
    const brute = bruteNumeric(values);
    expect(summary).toMatchObject({ count: brute.count, missing: brute.missing, finite: brute.finite, min: brute.min, max: brute.max });
  });
});

describe('text statistics', () => {
  test.each(['origin', 'carrier'] as const)('counts, distinct values, top-K and mean bytes of %s match brute force', (name) => {
    const values = ROWS.map((r) => r[name]);
    const summary = text(computeBatchStatistics(tableOf(ROWS, 640), COLUMNS), name);
    const ranked = bruteTopK(values);
    const present = values.filter((v): v is string => v !== null);
    expect(summary).toMatchObject({
      count: values.length,
      missing: values.length - present.length,
      distinct: ranked.length,
      distinctExact: true,
      capped: false,
      other: 0,
    });
    expect(summary.topK).toEqual(ranked.map(([value, count]) => ({ value, count })));
    expectClose(summary.meanBytes, present.reduce((s, v) => s + Buffer.byteLength(v), 0) / present.length);
    expect(text(computeBatchStatistics(tableOf(ROWS), COLUMNS), name, 3).topK).toEqual(ranked.slice(0, 3).map(([value, count]) => ({ value, count })));
  });

  test('the cap keeps the highest counts, breaks ties by value and sends the rest to other', () => {
    const random = mulberry32(11);
    // Values with equal counts straddle the cut, so ties decide it.
    const values: Array<string | null> = [];
    for (let v = 0; v < 40; v++) for (let c = 0; c < 1 + (v % 8); c++) values.push(`v${(v * 7919) % 40}`);
    values.push(null, null);
    shuffleInPlace(values, random);
    const rows = values.map((origin): Row => ({ amount: 0, when: 0, origin, carrier: 'x' }));
    const cap = 10;
    const stats = computeBatchStatistics(tableOf(rows, 33), COLUMNS, { topKCap: cap });
    const ranked = bruteTopK(values);
    const state = stats.columns.origin!;
    if (state.kind !== 'text') throw new Error('origin is text');
    expect(state.top).toEqual(ranked.slice(0, cap));
    expect(state.other).toBe(ranked.slice(cap).reduce((s, [, c]) => s + c, 0));
    expect(state.capped).toBe(true);
    const summary = text(stats, 'origin');
    expect(summary).toMatchObject({ capped: true, distinctExact: false, missing: 2 });
    expect(summary.distinct).toBeGreaterThanOrEqual(cap + 1);
    expect(Math.abs(summary.distinct - ranked.length)).toBeLessThanOrEqual(2);
  });

  test('merging capped states is deterministic, commutative and keeps the totals exact', () => {
    const cap = 25;
    const shards = randomShards(ROWS, 3, 9).map((rows) => computeBatchStatistics(tableOf(rows), COLUMNS, { topKCap: cap }));
    const merged = leftFold(shards);
    expect(mergeStatistics(shards[1]!, shards[0]!)).toStrictEqual(mergeStatistics(shards[0]!, shards[1]!));
    const state = merged.columns.origin!;
    if (state.kind !== 'text') throw new Error('origin is text');
    const values = ROWS.map((r) => r.origin);
    const ranked = new Map(bruteTopK(values));
    expect(state.capped).toBe(true);
    expect(state.top).toHaveLength(cap);
    expect(state.top.reduce((s, [, c]) => s + c, 0) + state.other).toBe(values.filter((v) => v !== null).length);
    // Once capped, kept counts can only be lower bounds of the true ones.
    for (const [value, count] of state.top) expect(count).toBeLessThanOrEqual(ranked.get(value)!);
    expect(text(merged, 'origin').distinct).toBe(text(computeBatchStatistics(tableOf(ROWS), COLUMNS, { topKCap: cap }), 'origin').distinct);
  });

  test('tens of thousands of distinct values, multi-byte ones among them, are counted exactly under a large cap', () => {
    const random = mulberry32(17);
    const values = Array.from({ length: 120_000 }, () =>
      random() < 0.01 ? null : `${random() < 0.5 ? 'é' : 'e'}${Math.floor(random() * 50_000).toString(36)}`,
    );
    const rows = values.map((origin): Row => ({ amount: 1, when: 1, origin, carrier: 'x' }));
    const summary = text(computeBatchStatistics(tableOf(rows, 30_000), COLUMNS, { topKCap: 200_000 }), 'origin');
    const ranked = bruteTopK(values);
    expect(summary).toMatchObject({ distinct: ranked.length, distinctExact: true, capped: false, missing: values.filter((v) => v === null).length });
    expect(summary.topK).toEqual(ranked.map(([value, count]) => ({ value, count })));
  });

  test('the distinct estimate of a high-cardinality column is close and merges exactly', () => {
    const random = mulberry32(21);
    const rows = Array.from({ length: 60_000 }, (): Row => ({ amount: 1, when: 1, origin: `id-${Math.floor(random() * 40_000)}`, carrier: 'x' }));
    const truth = new Set(rows.map((r) => r.origin)).size;
    const options = { topKCap: 100 };
    const whole = computeBatchStatistics(tableOf(rows, 5000), COLUMNS, options);
    const merged = treeFold(randomShards(rows, 7, 4).map((shard) => computeBatchStatistics(tableOf(shard, 5000), COLUMNS, options)));
    const [w, m] = [whole.columns.origin!, merged.columns.origin!];
    if (w.kind !== 'text' || m.kind !== 'text') throw new Error('origin is text');
    expect(m.distinct).toStrictEqual(w.distinct);
    expect(Math.abs(text(whole, 'origin').distinct - truth) / truth).toBeLessThan(0.05);
  });
});

describe('state as a JSON artifact', () => {
  test('reads back from JSON exactly, -0, empty columns and all, and keeps accumulating the same', () => {
    const stats = computeBatchStatistics(tableOf(ROWS.slice(0, 5000)), COLUMNS);
    const roundTripped = JSON.parse(JSON.stringify(stats)) as DatasetStatistics;
    expect(roundTripped).toStrictEqual(stats);
    const empty = createStatistics(COLUMNS);
    expect(JSON.parse(JSON.stringify(empty))).toStrictEqual(empty);
    const more = tableOf(ROWS.slice(5000, 8000));
    expect(accumulateStatistics(roundTripped, more)).toStrictEqual(accumulateStatistics(stats, more));
    const summary = finalizeStatistics(stats);
    expect(JSON.parse(JSON.stringify(summary))).toStrictEqual(summary);
  });

  test('a column named __proto__ is an ordinary column', () => {
    const schema = new Schema([new Field('__proto__', new Utf8(), true)]);
    const batch = new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: 2, nullCount: 0, children: [vectorFromArray(['a', 'b'], new Utf8()).data[0]!] }),
    );
    const stats = computeBatchStatistics(batch, [{ name: '__proto__', kind: 'text' }]);
    expect(Object.keys(stats.columns)).toEqual(['__proto__']);
    expect(JSON.parse(JSON.stringify(mergeStatistics(stats, stats)))).toStrictEqual(mergeStatistics(stats, stats));
  });
});

describe('empty shards', () => {
  test('merge as the identity, on either side', () => {
    const stats = computeBatchStatistics(tableOf(ROWS.slice(0, 4000)), COLUMNS);
    const emptyShard = computeBatchStatistics(tableOf([]), COLUMNS);
    expect(emptyShard).toStrictEqual(createStatistics(COLUMNS));
    expect(mergeStatistics(stats, emptyShard)).toStrictEqual(stats);
    expect(mergeStatistics(emptyShard, stats)).toStrictEqual(stats);
    expect(mergeStatistics(emptyShard, emptyShard)).toStrictEqual(emptyShard);
  });

  test('a report of no rows has counts of zero and nulls elsewhere', () => {
    const summary = finalizeStatistics(createStatistics(COLUMNS));
    expect(summary.rows).toBe(0);
    expect(summary.columns.amount).toMatchObject({ count: 0, mean: null, quantiles: null, histogram: null });
    expect(summary.columns.origin).toMatchObject({ count: 0, distinct: 0, meanBytes: null, topK: [] });
  });
});

describe('refusals', () => {
  test('states of different columns or settings do not merge', () => {
    const stats = createStatistics(COLUMNS);
    expect(() => mergeStatistics(stats, createStatistics(COLUMNS.slice(1)))).toThrow(/different columns/);
    expect(() => mergeStatistics(stats, createStatistics(COLUMNS, { relativeAccuracy: 0.02 }))).toThrow(/relative accuracy/);
    expect(() => mergeStatistics(stats, createStatistics(COLUMNS, { topKCap: 5 }))).toThrow(/caps/);
    const retyped = COLUMNS.map((c) => (c.name === 'when' ? { name: 'when', kind: 'number' as const } : c));
    expect(() => mergeStatistics(stats, createStatistics(retyped))).toThrow(/timestamp/);
  });

  test('a missing column or a column of the wrong type is named', () => {
    expect(() => computeBatchStatistics(tableOf(ROWS.slice(0, 10)), [{ name: 'nope', kind: 'number' }])).toThrow(/"nope" is not in the batch/);
    expect(() => computeBatchStatistics(tableOf(ROWS.slice(0, 10)), [{ name: 'origin', kind: 'number' }])).toThrow(/"origin" must be/);
    expect(() => computeBatchStatistics(tableOf(ROWS.slice(0, 10)), [{ name: 'amount', kind: 'text' }])).toThrow(/"amount" must be Utf8/);
  });
});
