import { splitOf, SPLIT_CODE } from '../../lib/features/split';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore, fileStoreSettings, localArtifactPath, readArtifactJson } from '../../lib/artifacts/artifact-store';
import { ShardWriter, readShardBatches } from '../../lib/data/arrow-shards';
import { CopyBinaryReader } from '../../lib/data/copy-binary';
import { ShardBatchBuilder, shardSchema } from '../../lib/data/ingest-partition';
import type { SourceColumn } from '../../lib/data/source-schema';
import { ENCODED_LABEL, ENCODED_SPLIT, applyTransform, encodedFeatureColumn } from '../../lib/features/apply-transform';
import { fitTransform } from '../../lib/features/fit-transform';
import { isTestRow } from '../../lib/features/split';
import { FeatureEncoder, readTransform, type FittedTransform, type FittedTransformV1, type FittedTransformV2 } from '../../lib/features/transform';
import { mulberry32 } from '../../lib/random';
import { encodeInstances } from '../../lib/serving/instances';
import { parsePipelineSpec, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import { PIPELINE_INPUT_ERROR } from '../../contracts/failures';
import type { ShardRef, TransformRef } from '../../contracts/refs';
import { copyStream, type WireValue } from './fixtures/pg-binary-copy';

/**
 * The transform over real shard files: raw rows go through ingest's batch builder (a binary COPY
 * stream, as PostgreSQL sends it), fitTransform and applyTransform read and write Arrow shards in a
 * temp artifact store, and the model server's encodeInstances is held to the encoded shard row by row.
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
  { name: 'dest', kind: 'text', select: '"dest"', wire: 'text' },
  { name: 'tail', kind: 'text', select: '"tail"', wire: 'text' },
];

interface Row {
  id: number;
  y: number;
  amount: number | null;
  dist: number;
  date: number;
  origin: string | null;
  dest: string | null;
  tail: string | null;
}

const fieldsOf = (r: Row): WireValue[] => [r.id, r.y, r.amount, r.dist, r.date, r.origin, r.dest, r.tail];

const AIRPORTS = ['ATL', 'ORD', 'DFW', 'Zürich', '東京', 'BOS', 'SFO', 'JFK'];

function randomRows(n: number, seed: number): Row[] {
  const random = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    y: Math.round(random() * 40 - 10),
    amount: random() < 0.1 ? null : Math.round(random() ** 3 * 50000) / 100,
    dist: Math.round(50 + random() * 3000),
    // Milliseconds are whole, as a timestamp column delivers them (microseconds / 1000).
    date: Date.UTC(1999, 0, 1) + Math.floor(random() * 6 * 365 * 24 * 60) * 60_000,
    origin: random() < 0.02 ? null : pick(AIRPORTS.slice(0, 3 + Math.floor(random() * 5))),
    dest: random() < 0.02 ? null : pick(AIRPORTS),
    tail: random() < 0.05 ? null : `N${Math.floor(random() * 5000)}`,
  }));
}

function specOf(features: unknown[]): PipelineSpec {
  return parsePipelineSpec({
    name: 'shards',
    source: { kind: 'postgres', table: 't', key: 'id' },
    label: { column: 'y', greaterThan: 0 },
    features,
    split: { testFraction: TEST_FRACTION, seed: SEED },
    model: {},
  });
}

/** Every kind, several options each, over the columns above. */
const ALL_KINDS = [
  { kind: 'numeric', name: 'amount', column: 'amount', impute: 'median', clip: { min: 0 }, log1p: true },
  { kind: 'numeric', name: 'dist_mm', column: 'dist', scale: 'minMax', clip: { max: 2500 } },
  { kind: 'numeric', name: 'dist', column: 'dist' },
  { kind: 'quantileBuckets', name: 'dist_q', column: 'dist', buckets: 5 },
  { kind: 'categorical', name: 'origin', column: 'origin', topK: 5, minCount: 30 },
  { kind: 'hashed', name: 'tail', column: 'tail', buckets: 16 },
  { kind: 'cross', name: 'route', columns: ['origin', 'dest'], buckets: 32 },
  { kind: 'timestamp', name: 'when', column: 'date', parts: ['hour', 'weekday', 'month', 'dayOfMonth'] },
  { kind: 'timestamp', name: 'when_cyc', column: 'date', parts: ['hour', 'month'], cyclical: true },
  { kind: 'hourOfDay', name: 'hour', column: 'date' },
  { kind: 'dayOfWeek', name: 'dow', column: 'date' },
];

let root: string;
let store: ArtifactStore;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pipewright-transform-'));
  store = new ArtifactStore(root);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Ingests rows as ingestPartition does (full batches as they fill); returns the shard and the refused rows' reasons. */
async function writeShard(rows: readonly (readonly WireValue[])[], batchRows = 500): Promise<{ shard: ShardRef; refused: string[] }> {
  const refused: string[] = [];
  let count = 0;
  const ref = await store.putFile('shards', '.arrows', async (tmp) => {
    const writer = new ShardWriter(tmp, shardSchema(columns));
    const builder = new ShardBatchBuilder(columns, batchRows);
    const reader = new CopyBinaryReader(columns.length);
    reader.push(
      copyStream(
        columns.map((c) => c.wire),
        rows,
      ),
      (buf, starts, lengths) => {
        const problem = builder.addTuple(buf, starts, lengths);
        if (problem !== null) refused.push(problem);
        else count++;
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
  return { shard: { ...ref, partition: 0, rows: count, quarantinedRows: refused.length, statistics: ref }, refused };
}

async function fitAndApply(
  spec: PipelineSpec,
  shards: ShardRef[],
): Promise<{ transform: FittedTransformV2; ref: TransformRef; encoded: Array<Awaited<ReturnType<typeof applyTransform>>> }> {
  const ref = await fitTransform({ artifactStore: fileStoreSettings(root), spec, shards }, () => undefined);
  const encoded = [];
  for (const shard of shards) encoded.push(await applyTransform({ artifactStore: fileStoreSettings(root), transform: ref, shard }, () => undefined));
  return { transform: await readArtifactJson<FittedTransformV2>(ref), ref, encoded };
}

/** Every row of an encoded shard: label, split flag and one code per feature. */
async function encodedRows(uri: string, transform: FittedTransform): Promise<Array<{ label: number; isTest: number; codes: number[] }>> {
  const out: Array<{ label: number; isTest: number; codes: number[] }> = [];
  for await (const batch of readShardBatches(await localArtifactPath(uri))) {
    const label = batch.getChild(ENCODED_LABEL)!.toArray() as Float32Array;
    const isTest = batch.getChild(ENCODED_SPLIT)!.toArray() as Float32Array;
    const codes = transform.features.map((f) => batch.getChild(encodedFeatureColumn(f.name))!.toArray() as Float32Array);
    for (let r = 0; r < batch.numRows; r++) out.push({ label: label[r]!, isTest: isTest[r]!, codes: codes.map((c) => c[r]!) });
  }
  return out;
}

const isTest = (row: Row): boolean => isTestRow(row.id, SEED, TEST_FRACTION);

describe('ingest keeps the NULLs of an imputed numeric column', () => {
  test('a nullable number column reaches the shard as Arrow nulls; NaN and Infinity are still quarantined', async () => {
    const rows: WireValue[][] = [
      [1, 1, 2.5, 10, 0, 'a', 'b', 'c'],
      [2, 1, null, 10, 0, 'a', 'b', 'c'],
      [3, 1, Number.NaN, 10, 0, 'a', 'b', 'c'],
      [4, 1, Number.POSITIVE_INFINITY, 10, 0, 'a', 'b', 'c'],
      // A NULL in a column without impute still makes the row malformed, and leaves nothing behind.
      [5, 1, 7, null, 0, 'a', 'b', 'c'],
      [6, 1, null, 11, 0, 'a', 'b', 'c'],
      [7, 1, 8, 12, 0, 'a', 'b', 'c'],
    ];
    const { shard, refused } = await writeShard(rows, 2);
    expect(refused).toEqual(['"amount" is not a finite number: NaN', '"amount" is not a finite number: Infinity', '"dist" is null']);
    const amounts: Array<number | null> = [];
    const ids: number[] = [];
    for await (const batch of readShardBatches(await localArtifactPath(shard.uri))) {
      expect(batch.schema.fields.find((f) => f.name === 'amount')!.nullable).toBe(true);
      expect(batch.schema.fields.find((f) => f.name === 'dist')!.nullable).toBe(false);
      const amount = batch.getChild('amount')!;
      for (let r = 0; r < batch.numRows; r++) {
        amounts.push(amount.get(r) as number | null);
        ids.push(batch.getChild('id')!.get(r) as number);
      }
    }
    expect(ids).toEqual([1, 2, 6, 7]);
    expect(amounts).toEqual([2.5, null, null, 8]);
  });
});

describe('fitted on the train split only', () => {
  test('test rows with extreme values change nothing in the fit, although they would if used', async () => {
    const rows = randomRows(3000, 1);
    // Test rows get values no train row has: any of them in the fit would show.
    for (const row of rows) {
      if (!isTest(row)) continue;
      row.amount = row.id % 2 === 0 ? null : 1e6;
      row.dist = 99_999;
      row.origin = 'TESTONLY';
    }
    const { shard } = await writeShard(rows.map(fieldsOf));
    const spec = specOf([
      { kind: 'numeric', name: 'amount', column: 'amount', impute: 'median', scale: 'none' },
      { kind: 'numeric', name: 'dist', column: 'dist', scale: 'minMax' },
      { kind: 'numeric', name: 'dist_z', column: 'dist' },
      { kind: 'quantileBuckets', name: 'dist_q', column: 'dist', buckets: 4 },
      { kind: 'categorical', name: 'origin', column: 'origin', topK: 100 },
    ]);
    const { transform } = await fitAndApply(spec, [shard]);
    const train = rows.filter((r) => !isTest(r));
    expect(train.length).toBeGreaterThan(1800);
    expect(train.length).toBeLessThan(2400);
    expect(transform.trainRows).toBe(train.length);

    // Expected values, computed directly from the train rows.
    const sortedAmounts = train.flatMap((r) => (r.amount === null ? [] : [r.amount])).sort((a, b) => a - b);
    const median = sortedAmounts[Math.floor((sortedAmounts.length - 1) / 2)]!;
    const dists = train.map((r) => r.dist).sort((a, b) => a - b);
    const mean = dists.reduce((a, b) => a + b, 0) / dists.length;
    const std = Math.sqrt(dists.reduce((a, d) => a + (d - mean) ** 2, 0) / (dists.length - 1));
    const quartiles = [1, 2, 3].map((k) => dists[Math.floor((k / 4) * (dists.length - 1))]!);
    const [amount, dist, distZ, distQ, origin] = transform.features;
    expect(amount).toMatchObject({ impute: { strategy: 'median', value: median } });
    expect(dist).toMatchObject({ scale: { kind: 'minMax', min: dists[0], max: dists[dists.length - 1] } });
    if (distZ?.kind !== 'numeric' || distZ.scale.kind !== 'standard') throw new Error('expected a standardised feature');
    expect(distZ.scale.mean).toBeCloseTo(mean, 9);
    expect(distZ.scale.std).toBeCloseTo(std, 9);
    expect(distQ).toMatchObject({ boundaries: quartiles });
    if (origin?.kind !== 'categorical') throw new Error('expected a categorical feature');
    expect(origin.vocabulary).not.toContain('TESTONLY');
    expect(new Set(origin.vocabulary)).toEqual(new Set(train.flatMap((r) => (r.origin === null ? [] : [r.origin]))));

    // The control: over all rows these statistics differ, so the test would catch a leak.
    const allDists = rows.map((r) => r.dist);
    expect(Math.max(...allDists)).toBe(99_999);
    expect(dists[dists.length - 1]).toBeLessThan(99_999);
    const allAmounts = rows.flatMap((r) => (r.amount === null ? [] : [r.amount])).sort((a, b) => a - b);
    expect(allAmounts[Math.floor((allAmounts.length - 1) / 2)]).not.toBe(median);
  });
});

describe('serving encodes an instance exactly as apply-transform encodes the row', () => {
  /** The raw row as a JSON instance; timestamps alternately as epoch ms and as ISO-8601 text. */
  function instanceOf(row: Row): Record<string, unknown> {
    const instance: Record<string, unknown> = {
      dist: row.dist,
      date: row.id % 2 === 0 ? row.date : new Date(row.date).toISOString(),
      origin: row.origin,
      dest: row.dest,
      tail: row.tail,
    };
    // An imputed field may be left out or sent as null: both are imputed as in training.
    if (row.amount !== null) instance.amount = row.amount;
    else if (row.id % 3 === 0) instance.amount = null;
    return instance;
  }

  for (const seed of [1, 2, 3]) {
    test(`every kind, random rows (seed ${seed})`, async () => {
      const rows = randomRows(1500, seed);
      const { shard } = await writeShard(rows.map(fieldsOf), 256);
      const spec = specOf(ALL_KINDS);
      const { transform, encoded } = await fitAndApply(spec, [shard]);
      const encoder = new FeatureEncoder(transform);
      const stored = await encodedRows(encoded[0]!.uri, transform);
      expect(stored).toHaveLength(rows.length);
      let compared = 0;
      rows.forEach((row, r) => {
        expect(stored[r]!.isTest).toBe(isTest(row) ? 1 : 0);
        expect(stored[r]!.label).toBe(row.y > 0 ? 1 : 0);
        // Serving takes text as strings only; rows with a NULL text value are training-only.
        if (row.origin === null || row.dest === null || row.tail === null) return;
        const expected = new Float32Array(transform.inputDim);
        encoder.denseInto(stored[r]!.codes, expected, 0);
        const served = encodeInstances(transform, [instanceOf(row)]);
        const differ = Array.from(served.keys()).filter((i) => !Object.is(served[i], expected[i]));
        if (differ.length > 0) {
          const slots = differ.map((i) => `slot ${i}: served ${served[i]}, trained on ${expected[i]}`).join('; ');
          throw new Error(`row ${row.id} ${JSON.stringify(instanceOf(row))}: ${slots}`);
        }
        compared++;
      });
      expect(compared).toBeGreaterThan(1200);
      // NULLs were in the data, imputed or given their own slot.
      expect(rows.some((r) => r.amount === null)).toBe(true);
    });
  }

  test('a NULL text value gets the slot reserved for it: OOV, the hashed NULL slot, the cross NULL slot', async () => {
    const rows = randomRows(400, 4);
    rows[0] = { ...rows[0]!, origin: null, tail: null };
    const { shard } = await writeShard(rows.map(fieldsOf));
    const { transform, encoded } = await fitAndApply(specOf(ALL_KINDS), [shard]);
    const codes = (await encodedRows(encoded[0]!.uri, transform))[0]!.codes;
    const at = (name: string): number => codes[transform.features.findIndex((f) => f.name === name)]!;
    const origin = transform.features.find((f) => f.name === 'origin');
    if (origin?.kind !== 'categorical') throw new Error('expected a categorical feature');
    expect([at('origin'), at('tail'), at('route')]).toEqual([origin.vocabulary.length, 16, 32]);
  });
});

describe('transform formats', () => {
  /** The v1 artifact of a v2 transform that only uses v1 features: what fitTransform wrote before v2. */
  function asV1(t: FittedTransformV2): FittedTransformV1 {
    return {
      ...t,
      format: 'pipewright.transform/v1',
      features: t.features.map((f) => {
        if (f.kind === 'numeric') {
          if (f.scale.kind !== 'standard') throw new Error('v1 only standardises');
          return { kind: 'numeric', name: f.name, column: f.column, offset: f.offset, width: 1, mean: f.scale.mean, std: f.scale.std };
        }
        if (f.kind === 'categorical' || f.kind === 'hourOfDay' || f.kind === 'dayOfWeek') return f;
        throw new Error(`v1 has no ${f.kind} features`);
      }),
    };
  }

  test('a v1 artifact applies to byte-identical shards and serves identically; v1 features fit as they always did', async () => {
    const rows = randomRows(1200, 7).map((r) => ({ ...r, amount: r.amount ?? 1 }));
    const { shard } = await writeShard(rows.map(fieldsOf));
    const spec = specOf([
      { kind: 'numeric', name: 'dist', column: 'dist' },
      { kind: 'categorical', name: 'origin', column: 'origin', topK: 4 },
      { kind: 'hourOfDay', name: 'hour', column: 'date' },
      { kind: 'dayOfWeek', name: 'dow', column: 'date' },
    ]);
    const { transform, encoded } = await fitAndApply(spec, [shard]);
    const v1 = asV1(transform);
    const v1Ref = await store.putJson('transforms', v1);
    const fromV1 = await applyTransform(
      { artifactStore: fileStoreSettings(root), transform: { ...v1Ref, inputDim: v1.inputDim, trainRows: v1.trainRows }, shard },
      () => undefined,
    );
    expect(fromV1.sha256).toBe(encoded[0]!.sha256);
    // What the model server loads for a model registered before v2.
    expect(await readTransform(v1Ref)).toEqual(transform);
    const instance = { dist: 1234, origin: 'ORD', date: '2003-04-05 06:07' };
    expect(Array.from(encodeInstances(v1, [instance]))).toEqual(Array.from(encodeInstances(transform, [instance])));
  });
});

describe('log1p at apply time', () => {
  test('a test row below -1 fails the stage, naming the row, the value and the fix', async () => {
    const rows = randomRows(300, 8).map((r) => ({ ...r, amount: r.amount ?? 0 }));
    const bad = rows.find(isTest)!;
    bad.amount = -5;
    const { shard } = await writeShard(rows.map(fieldsOf));
    const spec = specOf([{ kind: 'numeric', name: 'amount', column: 'amount', log1p: true }]);
    const ref = await fitTransform({ artifactStore: fileStoreSettings(root), spec, shards: [shard] }, () => undefined);
    let error: Error | undefined;
    await applyTransform({ artifactStore: fileStoreSettings(root), transform: ref, shard }, () => undefined).catch((err: Error) => (error = err));
    expect(error?.name).toBe(PIPELINE_INPUT_ERROR);
    expect(error?.message).toBe(
      `feature "amount": log1p needs values greater than -1, but column "amount" holds -5 in the row with id = ${bad.id}; ` +
        'add "clip": {"min": 0} (or another bound above -1) to the feature, or drop log1p',
    );
  });
});

describe('splits', () => {
  const splitSpec = (split: Record<string, unknown>): PipelineSpec =>
    parsePipelineSpec({
      name: 'splits',
      source: { kind: 'postgres', table: 't', key: 'id' },
      label: { column: 'y', greaterThan: 0 },
      features: [{ kind: 'numeric', name: 'dist', column: 'dist' }],
      split,
      model: {},
    });

  test('a time split: every test row is later than every validation row, which is later than every train row', async () => {
    const rows = randomRows(4000, 5);
    const { shard } = await writeShard(rows.map(fieldsOf));
    const { transform, encoded } = await fitAndApply(splitSpec({ testFraction: 0.2, validationFraction: 0.1, timeColumn: 'date' }), [shard]);
    expect(transform.split.time?.column).toBe('date');
    const codes = (await encodedRows(encoded[0]!.uri, transform)).map((r) => r.isTest);
    const times = (code: number): number[] => rows.filter((_, i) => codes[i] === code).map((r) => r.date);
    expect(Math.min(...times(1))).toBeGreaterThanOrEqual(Math.max(...times(2)));
    expect(Math.min(...times(2))).toBeGreaterThanOrEqual(Math.max(...times(0)));
    // Shares within the time sketch's resolution of the fractions.
    expect(times(1).length / rows.length).toBeCloseTo(0.2, 1);
    expect(times(2).length / rows.length).toBeCloseTo(0.1, 1);
    expect(encoded[0]!.trainRows + encoded[0]!.testRows + (encoded[0]!.validationRows ?? 0)).toBe(rows.length);
    expect(encoded[0]!.validationRows).toBe(times(2).length);
  });

  test('the fit reads train rows only: validation rows do not move the scaler', async () => {
    const rows = randomRows(3000, 6);
    const { shard } = await writeShard(rows.map(fieldsOf));
    const spec = splitSpec({ testFraction: 0.2, validationFraction: 0.2, seed: 3 });
    const { transform } = await fitAndApply(spec, [shard]);
    const rule = { testFraction: 0.2, validationFraction: 0.2, seed: 3 };
    const train = rows.filter((r) => splitOf(rule, r.id, 0, 0) === SPLIT_CODE.train).map((r) => r.dist);
    const mean = train.reduce((a, b) => a + b, 0) / train.length;
    const f = transform.features[0]!;
    if (f.kind !== 'numeric' || f.scale.kind !== 'standard') throw new Error('a standardised numeric feature expected');
    expect(f.scale.mean).toBeCloseTo(mean, 9);
    expect(transform.trainRows).toBe(train.length);
  });

  test('a stratified split gives each label class the test fraction, as the shards are encoded', async () => {
    const rows = randomRows(6000, 7);
    const { shard } = await writeShard(rows.map(fieldsOf));
    const { transform, encoded } = await fitAndApply(splitSpec({ testFraction: 0.25, stratify: true, seed: 11 }), [shard]);
    expect(transform.split.strata).toHaveLength(2);
    const out = await encodedRows(encoded[0]!.uri, transform);
    for (const label of [0, 1]) {
      const of = out.filter((r) => r.label === label);
      const test = of.filter((r) => r.isTest === SPLIT_CODE.test).length;
      expect(Math.abs(test - 0.25 * of.length)).toBeLessThanOrEqual(2);
    }
  });
});
