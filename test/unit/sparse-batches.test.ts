import { rmSync } from 'node:fs';
import { countBatches, denseBatches, modelBatches, type ModelBatch } from '../../lib/features/encoded-batches';
import { FeatureEncoder } from '../../lib/features/feature-encoder';
import { shuffledModelBatches } from '../../lib/features/shuffled-batches';
import type { SplitName } from '../../lib/features/split';
import { mulberry32 } from '../../lib/random';
import { everyKindTransform, randomCodes, writeEncodedShards, type WrittenShards } from './fixtures/encoded-shards';

/**
 * The sparse batches against the dense ones: every row's (slot, value) pairs sum to its dense
 * row, batch i holds batch i's rows, and a [fromBatch, toBatch) range is the full enumeration sliced.
 */

const transform = everyKindTransform();
const encoder = new FeatureEncoder(transform);
const dim = transform.inputDim;
const featureCount = transform.features.length;
let written: WrittenShards;

beforeAll(async () => {
  // Three shards of uneven Arrow batches (one empty shard), so batches end at Arrow batch edges.
  written = await writeEncodedShards(transform, [[50, 7, 33], [], [64, 1, 20, 45]], 3);
});

afterAll(() => rmSync(written.dir, { recursive: true, force: true }));

const copy = (b: ModelBatch): ModelBatch => ({ rows: b.rows, slots: b.slots.slice(), values: b.values.slice(), codes: b.codes.slice(), y: b.y.slice() });

async function collect(split: SplitName, batchSize: number, extra: { shuffleSeed?: number; fromBatch?: number; toBatch?: number } = {}): Promise<ModelBatch[]> {
  const out: ModelBatch[] = [];
  for await (const b of modelBatches(transform, written.shards, { split, batchSize, ...extra })) out.push(copy(b));
  return out;
}

test('nonZerosPerRow counts a pair per numeric and one-hot feature and per timestamp part (two when cyclical)', () => {
  // amount, origin, hour, weekday, dist_q, tail, route: 7; when: 2 parts; season: 2 cyclical parts = 4; month: 1; dist: 1.
  expect(encoder.nonZerosPerRow).toBe(7 + 2 + 4 + 1 + 1);
  expect(encoder.sparsePositions()).toHaveLength(encoder.nonZerosPerRow);
});

test('a dense row is the sum of value · e_slot over its pairs, for every feature kind', () => {
  const rows = 200;
  const codes = randomCodes(transform, rows, 11);
  const nnz = encoder.nonZerosPerRow;
  const positions = encoder.sparsePositions();
  for (let r = 0; r < rows; r++) {
    const row = codes.subarray(r * featureCount, (r + 1) * featureCount);
    const dense = new Float32Array(dim);
    encoder.denseInto(row, dense, 0);
    const slots = new Int32Array(nnz);
    const values = new Float32Array(nnz);
    encoder.sparseInto(row, slots, values, 0);
    const summed = new Float32Array(dim);
    for (let k = 0; k < nnz; k++) {
      summed[slots[k]!]! += values[k]!;
      // Each pair stays inside the slots its position describes.
      const p = positions[k]!;
      expect(slots[k]).toBeGreaterThanOrEqual(p.first);
      expect(slots[k]).toBeLessThan(p.first + p.width);
      if (p.oneHot) expect(values[k]).toBe(1);
    }
    expect(Array.from(summed)).toEqual(Array.from(dense));
  }
});

test('sparse batch × kernel equals dense batch × kernel', async () => {
  const units = 3;
  const random = mulberry32(5);
  const kernel = Float32Array.from({ length: dim * units }, () => random() * 2 - 1);
  const dense: Float32Array[] = [];
  for await (const b of denseBatches(transform, written.shards, { split: 'train', batchSize: 16 })) dense.push(b.x.slice());
  const sparse = await collect('train', 16);
  expect(sparse).toHaveLength(dense.length);
  const nnz = encoder.nonZerosPerRow;
  sparse.forEach((b, i) => {
    const x = dense[i]!;
    expect(x.length).toBe(b.rows * dim);
    for (let r = 0; r < b.rows; r++) {
      for (let u = 0; u < units; u++) {
        let viaDense = 0;
        for (let d = 0; d < dim; d++) viaDense += x[r * dim + d]! * kernel[d * units + u]!;
        let viaSparse = 0;
        for (let k = r * nnz; k < (r + 1) * nnz; k++) viaSparse += b.values[k]! * kernel[b.slots[k]! * units + u]!;
        expect(viaSparse).toBeCloseTo(viaDense, 5);
      }
    }
  });
});

test('unshuffled, batch i holds the rows and labels of denseBatches batch i, in the same order', async () => {
  for (const split of ['train', 'test', 'validation'] as const) {
    const dense: Array<{ x: Float32Array; y: Float32Array; rows: number }> = [];
    for await (const b of denseBatches(transform, written.shards, { split, batchSize: 10 })) {
      dense.push({ x: b.x.slice(), y: b.y.slice(), rows: b.rows });
    }
    const sparse = await collect(split, 10);
    expect(sparse.map((b) => b.rows)).toEqual(dense.map((b) => b.rows));
    sparse.forEach((b, i) => {
      expect(Array.from(b.y)).toEqual(Array.from(dense[i]!.y));
      const fromCodes = new Float32Array(b.rows * dim);
      for (let r = 0; r < b.rows; r++) encoder.denseInto(b.codes.subarray(r * featureCount, (r + 1) * featureCount), fromCodes, r * dim);
      expect(Array.from(fromCodes)).toEqual(Array.from(dense[i]!.x));
    });
  }
});

test('every row of a split appears once, its codes as written', async () => {
  const expected = new Map<string, number>();
  for (const shard of written.batches) {
    for (const b of shard) {
      for (let r = 0; r < b.labels.length; r++) {
        if (b.splits[r] !== 0) continue;
        const key = Array.from(b.codes.subarray(r * featureCount, (r + 1) * featureCount)).join(',');
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
    }
  }
  const seen = new Map<string, number>();
  for (const b of await collect('train', 8, { shuffleSeed: 4 })) {
    for (let r = 0; r < b.rows; r++) {
      const key = Array.from(b.codes.subarray(r * featureCount, (r + 1) * featureCount)).join(',');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  expect(seen).toEqual(expected);
});

test('fromBatch / toBatch yield the full enumeration sliced; countBatches counts it', async () => {
  for (const batchSize of [1, 7, 16, 1000]) {
    const full = await collect('train', batchSize, { shuffleSeed: 77 });
    expect(await countBatches(transform, written.shards, { split: 'train', batchSize })).toBe(full.length);
    const cuts = [0, 1, 2, Math.floor(full.length / 2), full.length - 1, full.length, full.length + 3];
    for (const from of cuts) {
      for (const to of cuts) {
        const part = await collect('train', batchSize, { shuffleSeed: 77, fromBatch: from, toBatch: to });
        expect(part).toEqual(full.slice(from, Math.max(from, to)));
      }
    }
    // Only one end given.
    expect(await collect('train', batchSize, { shuffleSeed: 77, fromBatch: 2 })).toEqual(full.slice(2));
    expect(await collect('train', batchSize, { shuffleSeed: 77, toBatch: 2 })).toEqual(full.slice(0, 2));
  }
  expect(await countBatches(transform, written.shards, { split: 'validation', batchSize: 4 })).toBe(
    (await collect('validation', 4, { shuffleSeed: 2 })).length,
  );
});

test('shuffled, every batch but the last is full, the order depends on the seed, and batches mix blocks of different shards', async () => {
  const rowsOf = (batches: ModelBatch[]): string[] =>
    batches.flatMap((b) => Array.from({ length: b.rows }, (_, r) => Array.from(b.codes.subarray(r * featureCount, (r + 1) * featureCount)).join(',')));
  const a = await collect('train', 8, { shuffleSeed: 4 });
  const b = await collect('train', 8, { shuffleSeed: 5 });
  expect(a.slice(0, -1).every((batch) => batch.rows === 8)).toBe(true);
  expect(rowsOf(a)).not.toEqual(rowsOf(b));
  expect([...rowsOf(a)].sort()).toEqual([...rowsOf(b)].sort());
  // Which shard each row came from, by its codes: some batch holds rows of both non-empty shards.
  const shardOf = new Map<string, number>();
  written.batches.forEach((shard, s) =>
    shard.forEach((batch) => {
      for (let r = 0; r < batch.labels.length; r++) shardOf.set(Array.from(batch.codes.subarray(r * featureCount, (r + 1) * featureCount)).join(','), s);
    }),
  );
  const mixed = a.some((batch) => new Set(rowsOf([batch]).map((row) => shardOf.get(row))).size > 1);
  expect(mixed).toBe(true);
});

test('batches wholly before fromBatch are not encoded', async () => {
  const spy = jest.spyOn(FeatureEncoder.prototype, 'sparseInto');
  const full = await collect('train', 5, { shuffleSeed: 1 });
  const all = spy.mock.calls.length;
  spy.mockClear();
  const rowsAfter = full.slice(full.length - 2).reduce((n, b) => n + b.rows, 0);
  await collect('train', 5, { shuffleSeed: 1, fromBatch: full.length - 2 });
  // Only rows of the Arrow batch that holds the first wanted batch, at most, are encoded.
  expect(spy.mock.calls.length).toBeGreaterThanOrEqual(rowsAfter);
  expect(spy.mock.calls.length).toBeLessThan(all);
  expect(spy.mock.calls.length).toBe(rowsAfter);
  spy.mockRestore();
});

test('shuffled over several windows: every row once, and any [fromBatch, toBatch) is the full enumeration sliced', async () => {
  // A window of 60 rows. cells: the 7 blocks make windows of one or two blocks each.
  const options = { split: 'train' as const, batchSize: 7, shuffleSeed: 31, windowCells: 60 * (featureCount + 2) };
  const run = async (range: { fromBatch?: number; toBatch?: number } = {}): Promise<ModelBatch[]> => {
    const out: ModelBatch[] = [];
    for await (const b of shuffledModelBatches(transform, written.shards, { ...options, ...range })) out.push(copy(b));
    return out;
  };
  const full = await run();
  const single = await collect('train', 7, { shuffleSeed: 31 });
  expect(full.reduce((n, b) => n + b.rows, 0)).toBe(single.reduce((n, b) => n + b.rows, 0));
  expect(full.map((b) => Array.from(b.y))).not.toEqual(single.map((b) => Array.from(b.y)));
  expect(full.length).toBe(await countBatches(transform, written.shards, { split: 'train', batchSize: 7 }));
  for (const [from, to] of [
    [0, 3],
    [3, 9],
    [5, full.length],
    [full.length - 1, full.length + 2],
  ] as const) {
    expect(await run({ fromBatch: from, toBatch: to })).toEqual(full.slice(from, to));
  }
});

test('a share of the rows: the shares partition the split, and the count holds whatever order the shards come in', async () => {
  const reversed = [...written.shards].reverse();
  let total = 0;
  for (const index of [0, 1, 2]) {
    const share = { index, count: 3 };
    const batches: ModelBatch[] = [];
    for await (const b of modelBatches(transform, reversed, { split: 'train', batchSize: 4, shuffleSeed: 8, share })) batches.push(copy(b));
    expect(batches.length).toBe(await countBatches(transform, written.shards, { split: 'train', batchSize: 4, share }));
    total += batches.reduce((n, b) => n + b.rows, 0);
  }
  expect(total).toBe(written.shards.reduce((n, s) => n + s.trainRows, 0));
});
