import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { foldRule, type FoldPlan } from '../../contracts/cross-validation';
import { PIPELINE_INPUT_ERROR } from '../../contracts/failures';
import type { EvaluationMetrics, ShardRef } from '../../contracts/refs';
import { ArtifactStore, fileStoreSettings, localArtifactPath, readArtifactJson } from '../../lib/artifacts/artifact-store';
import { readShardBatches } from '../../lib/data/arrow-shards';
import { applyTransform, ENCODED_LABEL, ENCODED_SPLIT } from '../../lib/features/apply-transform';
import { fitTransform } from '../../lib/features/fit-transform';
import { foldAllocation, foldCuts } from '../../lib/features/fold-bounds';
import { planFolds } from '../../lib/features/fold-plan';
import { hashKey, splitOf, SPLIT_CODE, type SplitRule } from '../../lib/features/split';
import type { FittedTransformV2 } from '../../lib/features/transform';
import { mulberry32 } from '../../lib/random';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import { meanAndStd, summarizeFolds } from '../../workflows/evaluate/cv-summary';
import { labelRows, labelSpec, writeLabelShard, type LabelRow } from './fixtures/label-shards';

/**
 * Cross-validation folds: the fold rule in splitOf (every train row in exactly one fold, the test
 * split excluded, validation kept), StratifiedKFold's balance per class, the fold plan over raw
 * shards, a fold's fit and apply (their split counts), and the mean and deviation over folds.
 */

let root: string;
let store: ArtifactStore;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pipewright-cv-'));
  store = new ArtifactStore(root);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const KEYS = Array.from({ length: 20_000 }, (_, i) => i + 1);

/** Cut points per stratum for the outer train rows among `keys`, as the plan computes them. */
function boundsOf(outer: SplitRule, keys: readonly number[], stratumOf: (key: number) => number, strata: number, k: number): number[][] {
  const hashes: number[][] = Array.from({ length: strata }, () => []);
  for (const key of keys) if (splitOf(outer, key, 0, 0) === SPLIT_CODE.train) hashes[stratumOf(key)]!.push(hashKey(key, outer.seed));
  const sorted = hashes.map((h) => Uint32Array.from(h).sort());
  const allocation = foldAllocation(
    sorted.map((h) => h.length),
    k,
  );
  return sorted.map((h, s) => foldCuts(h, allocation[s]!));
}

describe('splitOf with a fold rule', () => {
  const outer: SplitRule = { testFraction: 0.2, validationFraction: 0.1, seed: 11 };
  const k = 5;
  const bounds = boundsOf(outer, KEYS, () => 0, 1, k);

  test('every outer train row is the test row of exactly one fold and a train row of the others; test rows are excluded, validation stays', () => {
    const testsOfFold = new Array<number>(k).fill(0);
    let train = 0;
    for (const key of KEYS) {
      const before = splitOf(outer, key, 0, 0);
      const codes = Array.from({ length: k }, (_, index) => splitOf({ ...outer, fold: { k, index, bounds } }, key, 0, 0));
      if (before === SPLIT_CODE.test) expect(codes).toEqual(new Array(k).fill(SPLIT_CODE.excluded));
      else if (before === SPLIT_CODE.validation) expect(codes).toEqual(new Array(k).fill(SPLIT_CODE.validation));
      else {
        train++;
        expect(codes.filter((c) => c === SPLIT_CODE.test)).toHaveLength(1);
        expect(codes.filter((c) => c === SPLIT_CODE.train)).toHaveLength(k - 1);
        testsOfFold[codes.indexOf(SPLIT_CODE.test)]!++;
      }
    }
    expect(train).toBeGreaterThan(13_000);
    // KFold's sizes: the first n mod k folds one row more.
    const base = Math.floor(train / k);
    expect(testsOfFold).toEqual(Array.from({ length: k }, (_, j) => base + (j < train % k ? 1 : 0)));
  });

  test('without a fold nothing changes', () => {
    for (const key of KEYS.slice(0, 2000)) expect(splitOf(outer, key, 0, 0)).toBe(splitOf({ ...outer }, key, 0, 0, 3));
  });
});

describe('stratified folds balance every class as StratifiedKFold does', () => {
  test("the allocation is scikit-learn's: strata end to end, position p in fold p mod k", () => {
    // StratifiedKFold(3) on y = [0]*5 + [1]*3 puts [2, 2, 1] and [1, 1, 1] rows of the classes in the folds.
    expect(foldAllocation([5, 3], 3)).toEqual([
      [2, 2, 1],
      [1, 1, 1],
    ]);
    expect(foldAllocation([7], 3)).toEqual([[3, 2, 2]]);
    expect(foldAllocation([0, 4], 2)).toEqual([
      [0, 0],
      [2, 2],
    ]);
  });

  test('each fold holds each class within one row of an equal share, and the folds are within one row of each other', () => {
    const random = mulberry32(3);
    const classOf = new Map(KEYS.map((key) => [key, ((r) => (r < 0.75 ? 0 : r < 0.95 ? 1 : 2))(random())]));
    const outer: SplitRule = { testFraction: 0.25, seed: 4 };
    const k = 7;
    const bounds = boundsOf(outer, KEYS, (key) => classOf.get(key)!, 3, k);
    expect(bounds.map((b) => b.length)).toEqual([k - 1, k - 1, k - 1]);
    const counts = Array.from({ length: 3 }, () => new Array<number>(k).fill(0));
    const perClass = [0, 0, 0];
    for (const key of KEYS) {
      if (splitOf(outer, key, 0, 0) !== SPLIT_CODE.train) continue;
      const c = classOf.get(key)!;
      perClass[c]!++;
      for (let index = 0; index < k; index++) {
        if (splitOf({ ...outer, fold: { k, index, bounds } }, key, 0, 0, c) === SPLIT_CODE.test) counts[c]![index]!++;
      }
    }
    counts.forEach((folds, c) => {
      expect(folds.reduce((a, b) => a + b, 0)).toBe(perClass[c]);
      for (const n of folds) expect(Math.abs(n - perClass[c]! / k)).toBeLessThan(1);
    });
    const totals = Array.from({ length: k }, (_, j) => counts.reduce((n, folds) => n + folds[j]!, 0));
    const all = perClass.reduce((a, b) => a + b, 0);
    for (const n of totals) expect(Math.abs(n - all / k)).toBeLessThan(1);
  });
});

/** Rows of `rows` by their split code under the fold-less rule of a transform fitted on them. */
async function splitCodes(encodedUri: string): Promise<{ labels: number[]; splits: number[] }> {
  const labels: number[] = [];
  const splits: number[] = [];
  for await (const batch of readShardBatches(await localArtifactPath(encodedUri))) {
    labels.push(...(batch.getChild(ENCODED_LABEL)!.toArray() as Float32Array));
    splits.push(...(batch.getChild(ENCODED_SPLIT)!.toArray() as Float32Array));
  }
  return { labels, splits };
}

/** Two raw shards (partitions 0 and 1) of `rows`, split in half. */
async function twoShards(rows: LabelRow[]): Promise<ShardRef[]> {
  const half = Math.floor(rows.length / 2);
  const first = await writeLabelShard(store, rows.slice(0, half));
  const second = await writeLabelShard(store, rows.slice(half));
  return [first.shard, { ...second.shard, partition: 1 }];
}

/** Fits and applies the transform (of a fold, or the outer one) to every shard; the transform and each shard's codes and counts. */
async function fitAndApply(spec: PipelineSpec, shards: ShardRef[], plan?: FoldPlan, index = 0) {
  const ref = await fitTransform({ artifactStore: fileStoreSettings(root), spec, shards, ...(plan ? { fold: foldRule(plan, index) } : {}) }, () => undefined);
  const encoded = [];
  for (const shard of shards) {
    const out = await applyTransform({ artifactStore: fileStoreSettings(root), transform: ref, shard }, () => undefined);
    encoded.push({ ref: out, ...(await splitCodes(out.uri)) });
  }
  return { transform: await readArtifactJson<FittedTransformV2>(ref), ref, encoded };
}

const count = (codes: number[], code: number): number => codes.filter((c) => c === code).length;

describe('a fold transform', () => {
  test('counts only its own rows: train and test of the fold, validation, and the excluded test split in none of them', async () => {
    const rows = labelRows(1200, 8);
    const shards = await twoShards(rows);
    const spec = labelSpec({ column: 'y', greaterThan: 0 }, { validationFraction: 0.1 });
    const outer = await fitAndApply(spec, shards);
    // The fold-less transform is as it always was: no fold in its split.
    expect(outer.transform.split).toEqual({ testFraction: 0.3, seed: 5, validationFraction: 0.1 });
    const outerTrain = outer.encoded.map((e) => e.ref.trainRows);

    const k = 3;
    const plan = await planFolds({ spec, shards, folds: k, stratify: true }, () => undefined);
    expect(plan).toMatchObject({ k, stratified: true, strata: spec.label });
    expect(plan.bounds).toHaveLength(2);
    expect(plan.testRows.reduce((a, b) => a + b, 0)).toBe(outerTrain.reduce((a, b) => a + b, 0));

    const testFoldOfRow = new Map<string, number>();
    for (let index = 0; index < k; index++) {
      const fold = await fitAndApply(spec, shards, plan, index);
      expect(fold.transform.split.fold).toEqual(foldRule(plan, index));
      let testRows = 0;
      let trainRows = 0;
      fold.encoded.forEach(({ ref, splits }, s) => {
        const before = outer.encoded[s]!;
        expect(ref.trainRows).toBe(count(splits, SPLIT_CODE.train));
        expect(ref.testRows).toBe(count(splits, SPLIT_CODE.test));
        expect(ref.validationRows).toBe(before.ref.validationRows);
        // The outer test rows are there, encoded, but counted nowhere.
        expect(count(splits, SPLIT_CODE.excluded)).toBe(before.ref.testRows);
        expect(ref.trainRows + ref.testRows).toBe(before.ref.trainRows);
        splits.forEach((code, r) => {
          expect(code === SPLIT_CODE.excluded).toBe(before.splits[r] === SPLIT_CODE.test);
          if (code === SPLIT_CODE.test) {
            expect(testFoldOfRow.has(`${s}:${r}`)).toBe(false);
            testFoldOfRow.set(`${s}:${r}`, index);
          }
        });
        testRows += ref.testRows;
        trainRows += ref.trainRows;
      });
      expect(testRows).toBe(plan.testRows[index]);
      // The fit read the fold's train rows only.
      expect(fold.transform.trainRows).toBe(trainRows);
    }
    // Every outer train row was a test row of one fold.
    expect(testFoldOfRow.size).toBe(plan.testRows.reduce((a, b) => a + b, 0));

    // Each fold's test rows hold each class within one row of an equal share.
    for (const c of [0, 1]) {
      const ofClass = outer.encoded.reduce((n, e) => n + e.labels.filter((y, r) => y === c && e.splits[r] === SPLIT_CODE.train).length, 0);
      for (let index = 0; index < k; index++) {
        let n = 0;
        for (const [at, fold] of testFoldOfRow) {
          const [s, r] = at.split(':').map(Number) as [number, number];
          if (fold === index && outer.encoded[s]!.labels[r] === c) n++;
        }
        expect(Math.abs(n - ofClass / k)).toBeLessThan(1);
      }
    }
  });

  test('a stratified outer split and stratified folds together', async () => {
    const rows = labelRows(900, 2);
    const shards = await twoShards(rows);
    const spec = labelSpec({ column: 'y', greaterThan: 5 }, { stratify: true });
    const plan = await planFolds({ spec, shards, folds: 4, stratify: true }, () => undefined);
    const fold = await fitAndApply(spec, shards, plan, 2);
    expect(fold.transform.split.strata).toHaveLength(2);
    expect(fold.encoded.reduce((n, e) => n + e.ref.testRows, 0)).toBe(plan.testRows[2]);
  });
});

describe('planFolds over raw shards', () => {
  test('a "classes": "auto" label: the classes of the train rows, sorted, each balanced over the folds', async () => {
    const rows = labelRows(1000, 5);
    const shards = await twoShards(rows);
    const spec = labelSpec({ column: 'cls', classes: 'auto' });
    const k = 4;
    const plan = await planFolds({ spec, shards, folds: k, stratify: true }, () => undefined);
    expect(plan.strata).toEqual({ column: 'cls', task: 'multiclass', classes: ['fog', 'rain', 'snow', 'sun'] });
    expect(plan.bounds.map((b) => b.length)).toEqual([3, 3, 3, 3]);
    const outer: SplitRule = { testFraction: 0.3, seed: 5 };
    const classes = plan.strata && 'task' in plan.strata && plan.strata.task === 'multiclass' ? plan.strata.classes : [];
    const counts = classes.map(() => new Array<number>(k).fill(0));
    for (const row of rows) {
      if (splitOf(outer, row.id, 0, 0) !== SPLIT_CODE.train) continue;
      const c = classes.indexOf(row.cls!);
      for (let index = 0; index < k; index++) if (splitOf({ ...outer, fold: foldRule(plan, index) }, row.id, 0, 0, c) === SPLIT_CODE.test) counts[c]![index]!++;
    }
    for (const folds of counts) {
      const n = folds.reduce((a, b) => a + b, 0);
      for (const m of folds) expect(Math.abs(m - n / k)).toBeLessThan(1);
    }
    expect(counts[0]!.map((_, j) => counts.reduce((n, f) => n + f[j]!, 0))).toEqual(plan.testRows);
  });

  test('a regression label has one stratum, whatever stratify says', async () => {
    const shards = await twoShards(labelRows(500, 6));
    const plan = await planFolds({ spec: labelSpec({ column: 'y', task: 'regression' }), shards, folds: 5, stratify: true }, () => undefined);
    expect(plan.stratified).toBe(false);
    expect(plan.strata).toBeUndefined();
    expect(plan.bounds).toHaveLength(1);
    expect(Math.max(...plan.testRows) - Math.min(...plan.testRows)).toBeLessThanOrEqual(1);
  });

  test('refuses too few or too many folds, a time split, and a class with fewer train rows than folds (naming it)', async () => {
    const rows = labelRows(400, 7);
    // Two train rows of a rare class.
    const outer: SplitRule = { testFraction: 0.3, seed: 5 };
    rows
      .filter((r) => splitOf(outer, r.id, 0, 0) === SPLIT_CODE.train)
      .slice(0, 2)
      .forEach((r) => (r.cls = 'hail'));
    const shards = await twoShards(rows);
    const spec = labelSpec({ column: 'cls', classes: 'auto' });
    const refused = (task: Parameters<typeof planFolds>[0]): Promise<unknown> => planFolds(task, () => undefined);
    await expect(refused({ spec, shards, folds: 1, stratify: true })).rejects.toMatchObject({
      name: PIPELINE_INPUT_ERROR,
      message: expect.stringContaining('2 to 20 folds'),
    });
    await expect(refused({ spec, shards, folds: 21, stratify: true })).rejects.toMatchObject({ name: PIPELINE_INPUT_ERROR });
    const timed = labelSpec({ column: 'y', greaterThan: 0 }, { timeColumn: 'x' });
    await expect(refused({ spec: timed, shards, folds: 3, stratify: true })).rejects.toThrow('a time split needs forward-chaining validation');
    await expect(refused({ spec, shards, folds: 3, stratify: true })).rejects.toMatchObject({
      name: PIPELINE_INPUT_ERROR,
      message: expect.stringMatching(/class "hail" of label "cls" has 2 train rows, fewer than the 3 folds.*use at most 2 folds/),
    });
    // Unstratified, the rare class is no obstacle; stratified, 2 folds are.
    await expect(refused({ spec, shards, folds: 3, stratify: false })).resolves.toMatchObject({ stratified: false });
    await expect(refused({ spec, shards, folds: 2, stratify: true })).resolves.toMatchObject({ stratified: true });
  });
});

describe('the summary over folds', () => {
  const fold = (auc: number, logLoss: number, rows: number): EvaluationMetrics => ({ auc, logLoss, accuracy: 0.8, positiveRate: 0.2, rows });

  test('mean and sample standard deviation per numeric metric, with the values in fold order', () => {
    const summary = summarizeFolds([fold(0.7, 0.5, 100), fold(0.8, 0.4, 101), fold(0.9, 0.3, 99)]);
    expect(Object.keys(summary)).toEqual(['auc', 'logLoss', 'accuracy', 'positiveRate', 'rows']);
    expect(summary.auc!.values).toEqual([0.7, 0.8, 0.9]);
    expect(summary.auc!.mean).toBeCloseTo(0.8, 12);
    expect(summary.auc!.std).toBeCloseTo(0.1, 12);
    expect(summary.rows).toEqual({ mean: 100, std: 1, values: [100, 101, 99] });
    expect(summary.accuracy!.std).toBe(0);
  });

  test('the task and per-class tables are not metrics; an undefined value (null in JSON) makes its mean and deviation NaN', () => {
    const multiclass = (accuracy: number): EvaluationMetrics => ({
      task: 'multiclass',
      accuracy,
      logLoss: 1,
      macroF1: 0.5,
      microF1: accuracy,
      rows: 10,
      perClass: [{ class: 'a', precision: 1, recall: 1, f1: 1, support: 5 }],
    });
    expect(Object.keys(summarizeFolds([multiclass(0.5), multiclass(0.7)]))).toEqual(['accuracy', 'logLoss', 'macroF1', 'microF1', 'rows']);
    const withNull = { ...fold(0.7, 0.5, 10), auc: null } as unknown as EvaluationMetrics;
    const summary = summarizeFolds([withNull, fold(0.8, 0.4, 10)]);
    expect(summary.auc!.values).toEqual([Number.NaN, 0.8]);
    expect(summary.auc!.mean).toBeNaN();
    expect(summary.logLoss!.mean).toBeCloseTo(0.45, 12);
  });

  test('meanAndStd by brute force', () => {
    const values = [2, 4, 4, 4, 5, 5, 7, 9];
    // Population deviation 2; the sample deviation is sqrt(32 / 7).
    expect(meanAndStd(values)).toEqual({ mean: 5, std: Math.sqrt(32 / 7) });
    expect(meanAndStd([3]).std).toBeNaN();
  });
});
