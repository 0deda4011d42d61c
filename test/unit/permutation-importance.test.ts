import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { EncodedShardRef, ModelRef, TransformRef } from '../../contracts/refs';
import { ArtifactStore, fileStoreSettings } from '../../lib/artifacts/artifact-store';
import { importanceMetric } from '../../lib/evaluation/importance-metric';
import { RowReservoir, copyColumn, shuffleColumn, writeColumn } from '../../lib/evaluation/importance-sampling';
import { permutationImportance } from '../../lib/evaluation/permutation-importance';
import { countBatches } from '../../lib/features/encoded-batches';
import type { FittedTransformV2 } from '../../lib/features/transform-format';
import { initBackend } from '../../lib/models/backend';
import { mulberry32 } from '../../lib/random';
import { modelSpecSchema } from '../../lib/spec/model-spec';
import { trainShards } from '../../lib/training/train-shards';
import { transformOf, writeEncodedShards } from './fixtures/encoded-shards';

/**
 * Permutation importance on data where one feature alone decides the label: a categorical
 * `decider` (yes → 1, anything else → 0) next to two features of pure noise, a logistic model
 * trained on it, and the drops that shuffling each feature costs its test AUC. Also the seeded
 * sample and shuffle underneath, on their own.
 */

describe('the row sample and the column shuffle', () => {
  /** `rows` rows of 2 codes, (row id, row id × 10), labelled row id mod 2, offered in batches of `batch`. */
  function offer(reservoir: RowReservoir, rows: number, batch = 37): void {
    for (let start = 0; start < rows; start += batch) {
      const n = Math.min(batch, rows - start);
      const codes = new Float32Array(n * 2);
      const labels = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        codes[i * 2] = start + i;
        codes[i * 2 + 1] = (start + i) * 10;
        labels[i] = (start + i) % 2;
      }
      reservoir.add(codes, labels, n);
    }
  }
  const idsOf = (r: RowReservoir): number[] => Array.from({ length: r.rows }, (_, i) => r.codes[i * 2]!);

  test('a split larger than the sample gives exactly maxRows distinct rows, whole, the same for a seed', () => {
    const a = new RowReservoir(100, 2, mulberry32(7));
    offer(a, 1000);
    expect(a.seen).toBe(1000);
    expect(a.rows).toBe(100);
    const ids = idsOf(a);
    expect(new Set(ids).size).toBe(100);
    for (let i = 0; i < a.rows; i++) {
      const id = a.codes[i * 2]!;
      expect(id).toBeGreaterThanOrEqual(0);
      expect(id).toBeLessThan(1000);
      // A kept row keeps its own codes and label together.
      expect(a.codes[i * 2 + 1]).toBe(id * 10);
      expect(a.labels[i]).toBe(id % 2);
    }
    const again = new RowReservoir(100, 2, mulberry32(7));
    offer(again, 1000, 128); // batch boundaries do not change the sample
    expect(idsOf(again)).toEqual(ids);
    const other = new RowReservoir(100, 2, mulberry32(8));
    offer(other, 1000);
    expect(idsOf(other)).not.toEqual(ids);
  });

  test('a split that fits is taken whole, in order', () => {
    const r = new RowReservoir(50, 2, mulberry32(1));
    offer(r, 30);
    expect(r.rows).toBe(30);
    expect(idsOf(r)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  test('every row is about equally likely to be sampled', () => {
    const counts = new Array<number>(20).fill(0);
    const trials = 4000;
    for (let s = 0; s < trials; s++) {
      const r = new RowReservoir(5, 2, mulberry32(s));
      offer(r, 20, 6);
      for (const id of idsOf(r)) counts[id]!++;
    }
    // Each row with probability 5/20; ±0.04 is over 5 standard errors.
    for (const c of counts) expect(Math.abs(c / trials - 0.25)).toBeLessThan(0.04);
  });

  test('a shuffle permutes one column, leaves the others, is seeded, and is undone by writing the copy back', () => {
    const rows = 200;
    const codes = new Float32Array(rows * 3);
    for (let i = 0; i < codes.length; i++) codes[i] = i;
    const original = codes.slice();
    const intact = copyColumn(codes, rows, 3, 1);
    shuffleColumn(codes, rows, 3, 1, mulberry32(3));
    const shuffled = copyColumn(codes, rows, 3, 1);
    expect(Array.from(shuffled)).not.toEqual(Array.from(intact));
    expect(Array.from(shuffled).sort((a, b) => a - b)).toEqual(Array.from(intact));
    for (const f of [0, 2]) expect(copyColumn(codes, rows, 3, f)).toEqual(copyColumn(original, rows, 3, f));
    const twin = original.slice();
    shuffleColumn(twin, rows, 3, 1, mulberry32(3));
    expect(twin).toEqual(codes);
    writeColumn(codes, rows, 3, 1, intact);
    expect(codes).toEqual(original);
  });
});

describe('the metric of each task', () => {
  test('binary: AUC; multiclass: accuracy of the most probable class; regression: R²', () => {
    const auc = importanceMetric({ task: 'binary', units: 1 });
    expect(auc.name).toBe('auc');
    expect(auc.score(Float32Array.of(0.1, 0.4, 0.35, 0.8), Float32Array.of(0, 0, 1, 1), 4)).toBeCloseTo(0.75, 12);
    const accuracy = importanceMetric({ task: 'multiclass', units: 3, classes: ['a', 'b', 'c'] });
    expect(accuracy.name).toBe('accuracy');
    expect(accuracy.score(Float32Array.of(0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.2, 0.5, 0.3), Float32Array.of(0, 2, 0), 3)).toBeCloseTo(2 / 3, 12);
    const r2 = importanceMetric({ task: 'regression', units: 1 });
    expect(r2.name).toBe('r2');
    // SS_res 0.5 over SS_tot 5 (labels 0..3 about 1.5).
    expect(r2.score(Float32Array.of(0.5, 1, 2, 3.5), Float32Array.of(0, 1, 2, 3), 4)).toBeCloseTo(0.9, 6);
    expect(r2.score(Float32Array.of(1, 2), Float32Array.of(4, 4), 2)).toBeNaN();
  });
});

describe('permutationImportance', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pw-importance-'));
  const store = new ArtifactStore(root);
  let encodedDir: string;
  let transform: TransformRef;
  let shards: EncodedShardRef[];
  let model: ModelRef;
  let testRows: number;

  beforeAll(async () => {
    await initBackend();
    const fitted: FittedTransformV2 = transformOf([
      { kind: 'numeric', name: 'noise', column: 'noise', width: 1, scale: { kind: 'none' } },
      { kind: 'categorical', name: 'decider', column: 'decider', width: 3, vocabulary: ['yes', 'no'] },
      { kind: 'categorical', name: 'colour', column: 'colour', width: 5, vocabulary: ['red', 'green', 'blue', 'grey'] },
    ]);
    // Codes are drawn at random per feature; the label reads only the decider's (0 is "yes"), with 1 in
    // 20 labels flipped, so the AUC is below 1 and shuffling a noise feature can move it a little.
    const written = await writeEncodedShards(
      fitted,
      [
        [2000, 2000],
        [2000, 1000],
      ],
      17,
      (random, codes) => ((codes[1] === 0) !== random() < 0.05 ? 1 : 0),
    );
    encodedDir = written.dir;
    shards = written.shards;
    testRows = shards.reduce((n, s) => n + s.testRows, 0);
    const ref = await store.putJson('transforms', fitted);
    transform = { ...ref, inputDim: fitted.inputDim, trainRows: shards.reduce((n, s) => n + s.trainRows, 0) };
    // One epoch of a logistic model is enough to learn a one-feature rule.
    const spec = modelSpecSchema.parse({ type: 'logistic', batchSize: 64, learningRate: 0.1, seed: 2 });
    const batches = await countBatches(fitted, shards, { split: 'train', batchSize: spec.batchSize });
    const trained = await trainShards(
      {
        model: spec,
        transform,
        shards,
        epoch: 0,
        round: 0,
        worker: 0,
        fromBatch: 0,
        toBatch: batches,
        batchesPerEpoch: batches,
        artifactStore: fileStoreSettings(root),
      },
      () => undefined,
    );
    model = {
      ...trained.checkpoint,
      backend: trained.backend,
      epochs: 1,
      trainSamples: trained.samples,
      trainSeconds: trained.seconds,
      finalLoss: trained.lossSum / trained.samples,
    };
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(encodedDir, { recursive: true, force: true });
  });

  const run = (settings: { repeats: number; maxRows: number; seed: number }, progress: (done: number) => void = () => undefined) =>
    permutationImportance({ model, transform, shards, artifactStore: fileStoreSettings(root), ...settings }, progress);

  test('the decider drops the AUC a lot and comes first; the noise features drop it by about nothing', async () => {
    const tensors = tf.memory().numTensors;
    const done: number[] = [];
    const result = await run({ repeats: 3, maxRows: 100_000, seed: 9 }, (d) => done.push(d));
    expect(tf.memory().numTensors).toBe(tensors);

    expect(result.metric).toBe('auc');
    expect(result.rows).toBe(testRows);
    expect(result.repeats).toBe(3);
    expect(result.baseline).toBeGreaterThan(0.9);
    expect(done).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

    expect(result.features.map((f) => f.feature)[0]).toBe('decider');
    const byName = new Map(result.features.map((f) => [f.feature, f]));
    expect(byName.get('decider')!.drop).toBeGreaterThan(0.3);
    for (const noise of ['noise', 'colour']) expect(Math.abs(byName.get(noise)!.drop)).toBeLessThan(0.05);
    for (let i = 1; i < result.features.length; i++) expect(result.features[i]!.drop).toBeLessThanOrEqual(result.features[i - 1]!.drop);

    // drop and std are the mean and the sample standard deviation of the drops of the repeats.
    for (const f of result.features) {
      expect(f.drops).toHaveLength(3);
      const mean = f.drops.reduce((s, d) => s + d, 0) / 3;
      expect(f.drop).toBeCloseTo(mean, 12);
      expect(f.std).toBeCloseTo(Math.sqrt(f.drops.reduce((s, d) => s + (d - mean) ** 2, 0) / 2), 12);
    }
    // Different shuffles of the decider cost different amounts: the repeats show a spread.
    expect(byName.get('decider')!.std).toBeGreaterThan(0);

    // The same seed, the same result.
    expect(await run({ repeats: 3, maxRows: 100_000, seed: 9 })).toEqual(result);
  });

  test('a split over maxRows is sampled down to exactly maxRows rows, the same rows for a seed', async () => {
    expect(testRows).toBeGreaterThan(400);
    const a = await run({ repeats: 1, maxRows: 400, seed: 4 });
    expect(a.rows).toBe(400);
    expect(a.features.every((f) => f.std === 0 && f.drops.length === 1)).toBe(true);
    expect(a.features[0]!.feature).toBe('decider');
    expect(await run({ repeats: 1, maxRows: 400, seed: 4 })).toEqual(a);
  });

  test('settings that cannot work are refused by name', async () => {
    await expect(run({ repeats: 0, maxRows: 100, seed: 1 })).rejects.toThrow(/repeats must be a whole number of at least 1, got 0/);
    await expect(run({ repeats: 2, maxRows: 0.5, seed: 1 })).rejects.toThrow(/maxRows must be a whole number of at least 1, got 0.5/);
  });
});
