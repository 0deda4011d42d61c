import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore, fileStoreSettings, readArtifactJson } from '../../lib/artifacts/artifact-store';
import { ShardWriter } from '../../lib/data/arrow-shards';
import { CopyBinaryReader } from '../../lib/data/copy-binary';
import { ShardBatchBuilder, shardSchema } from '../../lib/data/ingest-partition';
import type { SourceColumn } from '../../lib/data/source-schema';
import {
  collectTransformStatistics,
  fitTransformFromStatistics,
  TRANSFORM_STATISTICS_FORMAT,
  type TransformStatisticsPayload,
} from '../../lib/features/federated-fit';
import { fitTransform } from '../../lib/features/fit-transform';
import { SPLIT_CODE, splitOf } from '../../lib/features/split';
import { TransformStatistics } from '../../lib/features/transform-statistics';
import type { FittedFeature, FittedTransformV2 } from '../../lib/features/transform-format';
import { EXACT_DISTINCT_LIMIT, SKETCH_RELATIVE_ACCURACY, ValueDistribution, fromJsonNumber, toJsonNumber } from '../../lib/features/value-distribution';
import { mulberry32 } from '../../lib/random';
import { addToDDSketch, emptyDDSketch, mergeDDSketches } from '../../lib/statistics/ddsketch';
import { parsePipelineSpec, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import { PIPELINE_INPUT_ERROR } from '../../contracts/failures';
import type { ShardRef } from '../../contracts/refs';
import { copyStream, type WireValue } from './fixtures/pg-binary-copy';
import { labelColumns, labelRows, labelSpec, writeLabelShard, type LabelRow } from './fixtures/label-shards';

/**
 * The federated fit: each site's pass over its own shards gives a JSON statistics state, and the
 * transform fitted from the merge of every site's state is the one fitTransform gives over all the
 * rows (moments up to rounding), whatever order the sites are merged in.
 */

const SEED = 9;
const TEST_FRACTION = 0.3;

const columns: SourceColumn[] = [
  { name: 'id', kind: 'number', select: '"id"', wire: 'int8' },
  { name: 'y', kind: 'number', select: '"y"', wire: 'float8' },
  { name: 'amount', kind: 'number', select: '"amount"', wire: 'float8', nullable: true },
  { name: 'dist', kind: 'number', select: '"dist"', wire: 'float8' },
  { name: 'date', kind: 'timestamp', select: '"date"', wire: 'timestamp' },
  { name: 'origin', kind: 'text', select: '"origin"', wire: 'text' },
  { name: 'tail', kind: 'text', select: '"tail"', wire: 'text' },
];

const AIRPORTS = ['ATL', 'ORD', 'DFW', 'Zürich', '東京', 'BOS', 'SFO', 'JFK'];

function randomRows(n: number, seed: number): WireValue[][] {
  const random = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => [
    i + 1,
    Math.round(random() * 40 - 10),
    random() < 0.1 ? null : Math.round(random() ** 3 * 50000) / 100,
    Math.round(50 + random() * 3000),
    Date.UTC(1999, 0, 1) + Math.floor(random() * 6 * 365 * 24 * 60) * 60_000,
    random() < 0.02 ? null : pick(AIRPORTS.slice(0, 3 + Math.floor(random() * 5))),
    random() < 0.05 ? null : `N${Math.floor(random() * 5000)}`,
  ]);
}

const FEATURES = [
  { kind: 'numeric', name: 'amount', column: 'amount', impute: 'median', clip: { min: 0 }, log1p: true },
  { kind: 'numeric', name: 'amount_mean', column: 'amount', impute: 'mean' },
  { kind: 'numeric', name: 'amount_mf', column: 'amount', impute: 'mostFrequent', scale: 'minMax' },
  { kind: 'numeric', name: 'dist_mm', column: 'dist', scale: 'minMax', clip: { max: 2500 } },
  { kind: 'numeric', name: 'dist', column: 'dist' },
  { kind: 'quantileBuckets', name: 'dist_q', column: 'dist', buckets: 7 },
  { kind: 'categorical', name: 'origin', column: 'origin', topK: 5, minCount: 30 },
  { kind: 'hashed', name: 'tail', column: 'tail', buckets: 16 },
  { kind: 'timestamp', name: 'when', column: 'date', parts: ['hour', 'weekday'] },
];

function specOf(split: Record<string, unknown> = {}, label: unknown = { column: 'y', greaterThan: 0 }): PipelineSpec {
  return parsePipelineSpec({
    name: 'federated',
    source: { kind: 'postgres', table: 't', key: 'id' },
    label,
    features: FEATURES,
    split: { testFraction: TEST_FRACTION, seed: SEED, ...split },
    model: {},
  });
}

let root: string;
let store: ArtifactStore;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pipewright-federated-'));
  store = new ArtifactStore(root);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Ingests rows as ingestPartition does, in batches of `batchRows`. */
async function writeShard(rows: readonly (readonly WireValue[])[], cols = columns, batchRows = 500): Promise<ShardRef> {
  let count = 0;
  const ref = await store.putFile('shards', '.arrows', async (tmp) => {
    const writer = new ShardWriter(tmp, shardSchema(cols));
    const builder = new ShardBatchBuilder(cols, batchRows);
    const reader = new CopyBinaryReader(cols.length);
    reader.push(
      copyStream(
        cols.map((c) => c.wire),
        rows,
      ),
      (buf, starts, lengths) => {
        if (builder.addTuple(buf, starts, lengths) !== null) throw new Error('a test row was refused');
        count++;
        if (builder.full) {
          const batch = builder.flush();
          writer.write(batch.columns, batch.length);
        }
      },
    );
    reader.end();
    const last = builder.flush();
    writer.write(last.columns, last.length);
    await writer.close();
  });
  return { ...ref, partition: 0, rows: count, quarantinedRows: 0, statistics: ref };
}

async function fitAll(spec: PipelineSpec, shards: ShardRef[]): Promise<FittedTransformV2> {
  return readArtifactJson<FittedTransformV2>(await fitTransform({ artifactStore: fileStoreSettings(root), spec, shards }, () => undefined));
}

const collect = (spec: PipelineSpec, shards: ShardRef[]): Promise<TransformStatisticsPayload> =>
  collectTransformStatistics({ artifactStore: fileStoreSettings(root), spec, shards }, () => undefined);

function expectRelativelyClose(actual: number, expected: number, tolerance = 1e-12): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.max(Math.abs(expected), Number.MIN_VALUE));
}

/** Moments (a standard scale's mean and std, an imputed mean, a regression label's mean and std) within 1e-12 relative; everything else identical. */
function expectSameFit(actual: FittedTransformV2, expected: FittedTransformV2): void {
  const a = structuredClone(actual);
  const e = structuredClone(expected);
  const moments = (f: FittedFeature, g: FittedFeature): void => {
    if (f.kind !== 'numeric' || g.kind !== 'numeric') return;
    if (f.scale.kind === 'standard' && g.scale.kind === 'standard') {
      expectRelativelyClose(f.scale.mean, g.scale.mean);
      expectRelativelyClose(f.scale.std, g.scale.std);
      f.scale = g.scale;
    }
    if (f.impute?.strategy === 'mean' && g.impute?.strategy === 'mean') {
      expectRelativelyClose(f.impute.value, g.impute.value);
      f.impute = g.impute;
    }
  };
  a.features.forEach((f, i) => moments(f, e.features[i]!));
  if ('task' in a.label && a.label.task === 'regression' && 'task' in e.label && e.label.task === 'regression') {
    expectRelativelyClose(a.label.mean, e.label.mean);
    expectRelativelyClose(a.label.std, e.label.std);
    a.label = e.label;
  }
  expect(a).toEqual(e);
}

async function failureOf(run: () => unknown): Promise<Error> {
  try {
    await run();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

/** Three disjoint sites of different sizes and distributions: rows cut by distance. */
async function threeSites(rows: WireValue[][]): Promise<Array<{ site: string; shards: ShardRef[] }>> {
  const byDist = (lo: number, hi: number): WireValue[][] => rows.filter((r) => (r[3] as number) >= lo && (r[3] as number) < hi);
  const east = byDist(0, 800);
  const west = byDist(800, 2200);
  const north = byDist(2200, Infinity);
  return [
    { site: 'east', shards: [await writeShard(east.slice(0, 300)), await writeShard(east.slice(300), columns, 128)] },
    { site: 'west', shards: [await writeShard(west, columns, 700)] },
    {
      site: 'north',
      shards: [
        await writeShard(north.filter((_, i) => i % 2 === 0)),
        await writeShard(
          north.filter((_, i) => i % 2 === 1),
          columns,
          64,
        ),
      ],
    },
  ];
}

describe('fitTransformFromStatistics', () => {
  test('the merged states of three disjoint partitions fit what fitTransform fits over all the rows, in any site order', async () => {
    const rows = randomRows(6000, 1);
    const sites = await threeSites(rows);
    const spec = specOf();
    const whole = await fitAll(
      spec,
      sites.flatMap((s) => s.shards),
    );
    const parts = await Promise.all(sites.map(async ({ site, shards }) => ({ site, statistics: await collect(spec, shards) })));
    expect(parts.reduce((n, p) => n + p.statistics.rows, 0)).toBe(6000);
    expect(parts[0]!.statistics.columns).toEqual({ amount: 'number', dist: 'number', origin: 'text', tail: 'text', date: 'number', y: 'number' });
    const fitted = fitTransformFromStatistics(spec, parts);
    expectSameFit(fitted, whole);
    // What must be exact is: vocabularies, boundaries, extremes, imputed medians and most frequent values.
    const byName = new Map(fitted.features.map((f) => [f.name, f]));
    expect(byName.get('origin')).toEqual(whole.features.find((f) => f.name === 'origin'));
    expect(byName.get('dist_q')).toEqual(whole.features.find((f) => f.name === 'dist_q'));
    expect(byName.get('dist_mm')).toEqual(whole.features.find((f) => f.name === 'dist_mm'));
    expect(byName.get('amount_mf')).toEqual(whole.features.find((f) => f.name === 'amount_mf'));
    expect((byName.get('amount') as { impute?: unknown }).impute).toEqual((whole.features[0] as { impute?: unknown }).impute);
    expect(fitted.trainRows).toBe(whole.trainRows);
    for (const order of [
      [2, 0, 1],
      [1, 2, 0],
      [2, 1, 0],
    ]) {
      expectSameFit(
        fitTransformFromStatistics(
          spec,
          order.map((i) => parts[i]!),
        ),
        whole,
      );
    }
  });

  test("one site's state fits exactly what fitTransform fits over that site", async () => {
    const rows = randomRows(2000, 2);
    const shards = [await writeShard(rows.slice(0, 900)), await writeShard(rows.slice(900))];
    const spec = specOf();
    expect(fitTransformFromStatistics(spec, [{ site: 'only', statistics: await collect(spec, shards) }])).toEqual(await fitAll(spec, shards));
  });

  test('the JSON round trip of every state gives the same fit; a site with no rows changes nothing', async () => {
    const rows = randomRows(3000, 3);
    const sites = await threeSites(rows);
    const spec = specOf();
    const parts = await Promise.all(sites.map(async ({ site, shards }) => ({ site, statistics: await collect(spec, shards) })));
    const empty = { site: 'empty', statistics: await collect(spec, [await writeShard([])]) };
    // Extremes of no values are infinite: they must survive JSON as written.
    const emptyNumeric = empty.statistics.statistics.numeric.dist!;
    expect([emptyNumeric.min, emptyNumeric.max, emptyNumeric.smallest]).toEqual(['Infinity', '-Infinity', 'Infinity']);
    const all = [...parts, empty];
    const roundTripped = all.map(({ site, statistics }) => ({ site, statistics: JSON.parse(JSON.stringify(statistics)) as TransformStatisticsPayload }));
    roundTripped.forEach((p, i) => expect(p.statistics).toEqual(all[i]!.statistics));
    const direct = fitTransformFromStatistics(spec, all);
    expect(fitTransformFromStatistics(spec, roundTripped)).toEqual(direct);
    expect(fitTransformFromStatistics(spec, [roundTripped[3]!, ...roundTripped.slice(0, 3)])).toEqual(fitTransformFromStatistics(spec, [empty, ...parts]));
    expectSameFit(direct, fitTransformFromStatistics(spec, parts));
  });

  test("a categorical vocabulary comes from the merged counts, not from any site's own top values", () => {
    const spec = parsePipelineSpec({
      name: 'c',
      source: { kind: 'postgres', table: 't', key: 'id' },
      label: { column: 'y', greaterThan: 0 },
      features: [{ kind: 'categorical', name: 'c', column: 'c', topK: 2, minCount: 19 }],
      model: {},
    });
    // Local top two: {a, b}, {b, d}, {a, d}, none reaching minCount; merged: c 24, a 20, b 19, d 18.
    const sites: Array<Record<string, number>> = [
      { a: 10, b: 9, c: 8 },
      { b: 10, d: 9, c: 8 },
      { a: 10, d: 9, c: 8 },
    ];
    const all = new TransformStatistics(spec.features);
    const states = sites.map((counts) => {
      const stats = new TransformStatistics(spec.features);
      for (const [value, count] of Object.entries(counts)) {
        for (let i = 0; i < count; i++) {
          stats.addCategory('c', value);
          all.addCategory('c', value);
        }
      }
      const local = stats.fit(spec).features[0] as { vocabulary: string[] };
      expect(local.vocabulary).toEqual([]);
      return stats.state();
    });
    const merged = TransformStatistics.merged(spec.features, states).fit(spec).features[0];
    expect(merged).toMatchObject({ kind: 'categorical', vocabulary: ['c', 'a'], width: 3 });
    expect(merged).toEqual(all.fit(spec).features[0]);
    expect(TransformStatistics.merged(spec.features, [states[2]!, states[0]!, states[1]!]).fit(spec).features[0]).toEqual(merged);
  });
});

describe('past EXACT_DISTINCT_LIMIT: the merged sketch', () => {
  /** Rank floor(q · (n − 1)) of the sorted values, the distribution's quantile convention. */
  const exactQuantile = (sorted: Float64Array, q: number): number => sorted[Math.floor(q * (sorted.length - 1))]!;

  test('mergeDDSketches of parts is the sketch of the whole', () => {
    const random = mulberry32(4);
    const values = Float64Array.from({ length: 20000 }, (_, i) => (i % 7 === 0 ? 0 : (random() - 0.3) * 10 ** (random() * 6 - 2)));
    const whole = emptyDDSketch(0.01);
    addToDDSketch(whole, values, values.length);
    const parts = [values.subarray(0, 5000), values.subarray(5000, 5001), values.subarray(5001)].map((part) => {
      const sketch = emptyDDSketch(0.01);
      addToDDSketch(sketch, part, part.length);
      return sketch;
    });
    expect(parts.reduce(mergeDDSketches)).toEqual(whole);
    expect([parts[2]!, parts[0]!, parts[1]!].reduce(mergeDDSketches)).toEqual(whole);
    expect(() => mergeDDSketches(whole, emptyDDSketch(0.02))).toThrow('cannot merge sketches of relative accuracy 0.01 and 0.02');
  });

  test('sites each under the limit, merged over it: quantiles within the sketch accuracy, the same as one distribution of every value', () => {
    const random = mulberry32(5);
    const n = EXACT_DISTINCT_LIMIT + 50_000;
    const values = Float64Array.from({ length: n }, () => 1 + random() * 1000 * (random() < 0.2 ? 50 : 1));
    const cuts = [0, 40_000, 95_000, n];
    const all = new ValueDistribution(true);
    for (const v of values) all.add(v);
    const states = cuts.slice(1).map((end, i) => {
      const site = new ValueDistribution(true);
      for (let r = cuts[i]!; r < end; r++) site.add(values[r]!);
      expect(site.exact).toBe(true);
      return JSON.parse(JSON.stringify(site.state())) as ReturnType<ValueDistribution['state']>;
    });
    const merged = ValueDistribution.fromStates(true, states);
    expect(merged.exact).toBe(false);
    expect(merged.count).toBe(n);
    expect(merged.mostFrequent()).toBeNull();
    const qs = Array.from({ length: 19 }, (_, k) => (k + 1) / 20);
    const estimates = merged.quantiles(qs);
    expect(estimates).toEqual(all.quantiles(qs));
    expect(ValueDistribution.fromStates(true, [states[1]!, states[2]!, states[0]!]).quantiles(qs)).toEqual(estimates);
    const sorted = values.slice().sort();
    qs.forEach((q, k) => {
      const exact = exactQuantile(sorted, q);
      expect(Math.abs(estimates[k]! - exact)).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY * exact * (1 + 1e-9));
    });
  });

  test('quantileBuckets boundaries of a site already over the limit merge into the boundaries of all the rows', () => {
    const spec = parsePipelineSpec({
      name: 'q',
      source: { kind: 'postgres', table: 't', key: 'id' },
      label: { column: 'y', greaterThan: 0 },
      features: [{ kind: 'quantileBuckets', name: 'q', column: 'q', buckets: 10 }],
      model: {},
    });
    const random = mulberry32(6);
    const all = new TransformStatistics(spec.features);
    const sizes = [EXACT_DISTINCT_LIMIT + 10_000, 30_000, 5];
    const states = sizes.map((size) => {
      const site = new TransformStatistics(spec.features);
      for (let i = 0; i < size; i++) {
        const v = -500 + random() * 2000;
        site.addNumeric('q', v);
        all.addNumeric('q', v);
      }
      site.rows = size;
      all.rows += size;
      return site.state();
    });
    expect(states[0]!.buckets.q!.values).toBeNull();
    expect(states[1]!.buckets.q!.values).toHaveLength(30_000);
    const merged = TransformStatistics.merged(spec.features, states).fit(spec);
    expect(merged).toEqual(all.fit(spec));
    expect(TransformStatistics.merged(spec.features, [states[2]!, states[1]!, states[0]!]).fit(spec)).toEqual(merged);
  });

  test('exact states keep NaN, infinities and -0 through JSON', () => {
    for (const v of [-0, 0, NaN, Infinity, -Infinity, 1.5])
      expect(Object.is(fromJsonNumber(JSON.parse(JSON.stringify(toJsonNumber(v))) as number), v)).toBe(true);
    const d = new ValueDistribution(false);
    // A Map keeps -0 as 0, so the exact counts do too.
    for (const v of [-0, -0, NaN, Infinity, -Infinity, 3, 3, 3]) d.add(v);
    const state = d.state();
    expect(state.values).toEqual(['-Infinity', 0, 3, 'Infinity', 'NaN']);
    const back = ValueDistribution.fromStates(false, [JSON.parse(JSON.stringify(state)) as typeof state]);
    expect(back.state()).toEqual(state);
    expect(back.mostFrequent()).toBe(3);
    expect(() => ValueDistribution.fromStates(true, [state])).toThrow('cannot merge a value distribution without a sketch into one with');
  });
});

describe('labels fitted from the merged states', () => {
  const rowsWith = (n: number, seed: number, classes: string[], grades: number[]): LabelRow[] =>
    labelRows(n, seed).map((r, i) => ({ ...r, id: seed * 100_000 + r.id, cls: classes[i % classes.length]!, grade: grades[i % grades.length]! }));

  test('"classes": "auto" found at different sites in different orders', async () => {
    const sites = [
      { site: 'east', rows: rowsWith(300, 1, ['sun', 'rain'], [3, 1]) },
      { site: 'west', rows: rowsWith(200, 2, ['snow', 'fog', 'rain'], [10, 1]) },
      { site: 'north', rows: rowsWith(150, 3, ['fog', 'sun', 'hail'], [2.5, -4, 3]) },
    ];
    const shards = await Promise.all(sites.map(async (s) => ({ site: s.site, shard: (await writeLabelShard(store, s.rows)).shard })));
    for (const [column, classes] of [
      ['cls', ['fog', 'hail', 'rain', 'snow', 'sun']],
      ['grade', [-4, 1, 2.5, 3, 10]],
    ] as const) {
      const spec = labelSpec({ column, classes: 'auto' });
      const parts = await Promise.all(shards.map(async ({ site, shard }) => ({ site, statistics: await collect(spec, [shard]) })));
      expect(parts[0]!.statistics.label).toBeDefined();
      const fitted = fitTransformFromStatistics(spec, parts);
      expect(fitted.label).toEqual({ column, task: 'multiclass', classes });
      expectSameFit(
        fitted,
        await fitAll(
          spec,
          shards.map((s) => s.shard),
        ),
      );
      expect(fitTransformFromStatistics(spec, [parts[2]!, parts[0]!, parts[1]!]).label).toEqual(fitted.label);
      const json = parts.map((p) => ({ site: p.site, statistics: JSON.parse(JSON.stringify(p.statistics)) as TransformStatisticsPayload }));
      expect(fitTransformFromStatistics(spec, json)).toEqual(fitted);
    }
  });

  test('maxClasses counts the classes of every site together', async () => {
    const east = await writeLabelShard(store, rowsWith(200, 1, ['sun', 'rain'], [1]));
    const west = await writeLabelShard(store, rowsWith(200, 2, ['snow', 'fog'], [1]));
    const spec = labelSpec({ column: 'cls', classes: 'auto', maxClasses: 3 });
    const parts = [
      { site: 'east', statistics: await collect(spec, [east.shard]) },
      { site: 'west', statistics: await collect(spec, [west.shard]) },
    ];
    const err = await failureOf(() => fitTransformFromStatistics(spec, parts));
    expect(err.name).toBe(PIPELINE_INPUT_ERROR);
    expect(err.message).toMatch(/^label.classes "auto": column "cls" has 4 distinct values in the train split, more than label.maxClasses \(3\)/);
  });

  test('a regression label: mean and std of every site within rounding', async () => {
    const sites = [rowsWith(400, 1, ['sun'], [1]).map((r) => ({ ...r, y: r.y + 1e6 })), rowsWith(90, 2, ['sun'], [1]), rowsWith(250, 3, ['sun'], [1])];
    const shards = await Promise.all(sites.map(async (rows) => (await writeLabelShard(store, rows)).shard));
    const spec = labelSpec({ column: 'y', task: 'regression' });
    const parts = await Promise.all(shards.map(async (shard, i) => ({ site: `site${i}`, statistics: await collect(spec, [shard]) })));
    expectSameFit(fitTransformFromStatistics(spec, parts), await fitAll(spec, shards));
    expectSameFit(fitTransformFromStatistics(spec, [parts[1]!, parts[2]!, parts[0]!]), await fitAll(spec, shards));
  });
});

describe('refusals', () => {
  test('a site whose column kind differs from the first site is named, with both kinds', async () => {
    const spec = labelSpec({ column: 'grade', classes: 'auto' });
    const east = await writeLabelShard(store, labelRows(100, 1));
    const textGrade = labelColumns().map((c): SourceColumn => (c.name === 'grade' ? { ...c, kind: 'text', wire: 'text' } : c));
    const westRows = labelRows(100, 2).map((r) => ({ ...r, id: r.id + 1000, grade: `g${r.grade}` as unknown as number }));
    const west = await writeLabelShard(store, westRows, textGrade);
    const parts = [
      { site: 'east', statistics: await collect(spec, [east.shard]) },
      { site: 'west', statistics: await collect(spec, [west.shard]) },
    ];
    expect(parts[1]!.statistics.columns).toEqual({ x: 'number', grade: 'text' });
    const err = await failureOf(() => fitTransformFromStatistics(spec, parts));
    expect(err.name).toBe(PIPELINE_INPUT_ERROR);
    expect(err.message).toBe(
      'site "west": column "grade" is text, but site "east" has it as number; every site must read a column the same way: ' +
        "cast it (e.g. in the site's source.query) so that it is number everywhere",
    );
    const distance = structuredClone(parts[0]!.statistics);
    distance.columns.x = 'text';
    const feature = await failureOf(() => fitTransformFromStatistics(spec, [parts[0]!, { site: 'south', statistics: distance }]));
    expect(feature.message).toMatch(/^site "south": column "x" is text, but site "east" has it as number; /);
  });

  test('a split that needs a data pass is refused at the site and at the coordinator, naming the setting', async () => {
    const shard = await writeShard(randomRows(50, 7));
    for (const [split, label, set] of [
      [{ timeColumn: 'date' }, { column: 'y', greaterThan: 0 }, 'split.timeColumn'],
      [{ stratify: true }, { column: 'y', greaterThan: 0 }, 'split.stratify'],
    ] as const) {
      const spec = specOf(split, label);
      const message = `federated training supports the hash split only: remove split.timeColumn / split.stratify (this spec sets ${set})`;
      const atSite = await failureOf(() => collect(spec, [shard]));
      expect(atSite.name).toBe(PIPELINE_INPUT_ERROR);
      expect(atSite.message).toBe(message);
      const payload = await collect(specOf(), [shard]);
      expect((await failureOf(() => fitTransformFromStatistics(spec, [{ site: 'east', statistics: payload }]))).message).toBe(message);
    }
  });

  test('an unknown format, a repeated site, another spec and no train rows anywhere are refused by site', async () => {
    const spec = specOf();
    const payload = await collect(spec, [await writeShard(randomRows(200, 8))]);
    const future = { ...payload, format: 'pipewright.transform-statistics/v9' } as unknown as TransformStatisticsPayload;
    const format = await failureOf(() =>
      fitTransformFromStatistics(spec, [
        { site: 'east', statistics: payload },
        { site: 'west', statistics: future },
      ]),
    );
    expect(format.name).toBe(PIPELINE_INPUT_ERROR);
    expect(format.message).toBe(
      `site "west": its statistics have format "pipewright.transform-statistics/v9"; this pipewright reads ${TRANSFORM_STATISTICS_FORMAT}: collect them again with this pipewright`,
    );
    expect(
      (
        await failureOf(() =>
          fitTransformFromStatistics(spec, [
            { site: 'east', statistics: payload },
            { site: 'east', statistics: payload },
          ]),
        )
      ).message,
    ).toBe('site "east" is given twice; give each site\'s statistics once');
    // Collected for another imputation: the numeric state lacks the distribution this spec's median needs.
    const other = parsePipelineSpec({
      ...JSON.parse(JSON.stringify(spec)),
      features: FEATURES.map((f) => (f.name === 'amount' ? { ...f, impute: 'mean' } : f)),
    });
    const otherPayload = await collect(other, [await writeShard(randomRows(100, 9))]);
    const mismatch = await failureOf(() =>
      fitTransformFromStatistics(spec, [
        { site: 'east', statistics: payload },
        { site: 'west', statistics: otherPayload },
      ]),
    );
    expect(mismatch.name).toBe(PIPELINE_INPUT_ERROR);
    expect(mismatch.message).toMatch(/^site "west": features\[0\] \("amount"\): its statistics were collected without a value distribution/);
    const empty = await collect(spec, [await writeShard([])]);
    const none = await failureOf(() =>
      fitTransformFromStatistics(spec, [
        { site: 'east', statistics: empty },
        { site: 'west', statistics: empty },
      ]),
    );
    expect(none.name).toBe(PIPELINE_INPUT_ERROR);
    expect(none.message).toMatch(/^the train split is empty at every site \("east", "west"\)/);
    expect((await failureOf(() => fitTransformFromStatistics(spec, []))).name).toBe(PIPELINE_INPUT_ERROR);
  });

  test('the site pass counts only train rows, as the hash split every site computes alike', async () => {
    const rows = randomRows(500, 10);
    const payload = await collect(specOf(), [await writeShard(rows)]);
    const train = rows.filter((r) => splitOf({ testFraction: TEST_FRACTION, seed: SEED }, r[0] as number, 0, 0) === SPLIT_CODE.train).length;
    expect(payload.rows).toBe(500);
    expect(payload.statistics.rows).toBe(train);
    expect(payload.format).toBe(TRANSFORM_STATISTICS_FORMAT);
    expect(payload.label).toBeUndefined();
  });
});
