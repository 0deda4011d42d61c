import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore, fileStoreSettings, readArtifactJson } from '../../lib/artifacts/artifact-store';
import { columnsForSpec, type SourceColumn } from '../../lib/data/source-schema';
import { applyTransform } from '../../lib/features/apply-transform';
import { fitTransform } from '../../lib/features/fit-transform';
import { decodeOutputs, describeOutput, labelHead, taskOf } from '../../lib/features/label-task';
import { SPLIT_CODE, splitOf, type SplitRule } from '../../lib/features/split';
import { describeLabel, labelOf, type FittedTransform, type FittedTransformV2 } from '../../lib/features/transform';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import { PIPELINE_INPUT_ERROR } from '../../contracts/failures';
import type { ShardRef } from '../../contracts/refs';
import { SEED, TEST_FRACTION, fitAndApplyLabels, labelColumns, labelRows, labelSpec, writeLabelShard, type LabelRow } from './fixtures/label-shards';

/**
 * Multiclass and regression labels end to end over real shard files: ingest's batch builder (with
 * the label checks the source schema asks for), fitTransform, applyTransform, and the label head the
 * models and the model server read.
 */

const RULE: SplitRule = { testFraction: TEST_FRACTION, seed: SEED };

type Row = LabelRow;
const randomRows = labelRows;
const specOf = labelSpec;
const columns = labelColumns;

let root: string;
let store: ArtifactStore;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pipewright-labels-'));
  store = new ArtifactStore(root);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const writeShard = (rows: readonly Row[], cols = columns()): ReturnType<typeof writeLabelShard> => writeLabelShard(store, rows, cols);
const fitAndApply = (spec: PipelineSpec, shard: ShardRef): ReturnType<typeof fitAndApplyLabels> => fitAndApplyLabels(root, spec, shard);

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

const isTrain = (row: Row): boolean => splitOf(RULE, row.id, 0, 0) === SPLIT_CODE.train;

describe('multiclass labels', () => {
  test('"auto": the train split\'s distinct values, sorted; the encoded label is the class index', async () => {
    const rows = randomRows(400, 1);
    const { shard } = await writeShard(rows);
    const { transform, labels } = await fitAndApply(specOf({ column: 'cls', classes: 'auto' }), shard);
    expect(transform.label).toEqual({ column: 'cls', task: 'multiclass', classes: ['fog', 'rain', 'snow', 'sun'] });
    expect(labels).toEqual(rows.map((r) => ['fog', 'rain', 'snow', 'sun'].indexOf(r.cls!)));
    expect(labelHead(transform)).toEqual({ task: 'multiclass', units: 4, classes: ['fog', 'rain', 'snow', 'sun'] });
  });

  test('"auto" on a numeric column: the numbers in ascending order', async () => {
    const rows = randomRows(300, 2).map((r) => ({ ...r, grade: [10, -2, 3.5][r.id % 3]! }));
    const { shard } = await writeShard(rows);
    const { transform, labels } = await fitAndApply(specOf({ column: 'grade', classes: 'auto' }), shard);
    expect(transform.label).toEqual({ column: 'grade', task: 'multiclass', classes: [-2, 3.5, 10] });
    expect(labels).toEqual(rows.map((r) => [-2, 3.5, 10].indexOf(r.grade)));
    expect(labelHead(transform).classes).toEqual(['-2', '3.5', '10']);
  });

  test("listed classes keep the spec's order", async () => {
    const rows = randomRows(200, 3);
    const { shard } = await writeShard(rows);
    const { transform, labels } = await fitAndApply(specOf({ column: 'grade', classes: [3, 1, 2] }), shard);
    expect(transform.label).toEqual({ column: 'grade', task: 'multiclass', classes: [3, 1, 2] });
    expect(labels).toEqual(rows.map((r) => [3, 1, 2].indexOf(r.grade)));
  });

  test('a class only held-out rows have fails the apply, naming the value and the row', async () => {
    const rows = randomRows(300, 4);
    const lone = rows.find((r) => !isTrain(r))!;
    lone.cls = 'hail';
    const { shard } = await writeShard(rows);
    const spec = specOf({ column: 'cls', classes: 'auto' });
    const ref = await fitTransform({ artifactStore: fileStoreSettings(root), spec, shards: [shard] }, () => undefined);
    expect((await readArtifactJson<FittedTransformV2>(ref)).label).toEqual({ column: 'cls', task: 'multiclass', classes: ['fog', 'rain', 'snow', 'sun'] });
    const err = await failureOf(applyTransform({ artifactStore: fileStoreSettings(root), transform: ref, shard }, () => undefined));
    expect(err.name).toBe(PIPELINE_INPUT_ERROR);
    expect(err.message).toBe(
      `label.column "cls": the test row with id = ${lone.id} has the class "hail", which the train split never has, so the model has no output for it ` +
        '(it knows 4 classes); list the classes in label.classes (rows with other values are then quarantined at ingest), ' +
        'or set split.stratify to true so that every class has train rows',
    );
  });

  test('more distinct values than maxClasses is a spec mistake naming the count and the fixes', async () => {
    const { shard } = await writeShard(randomRows(200, 5));
    const err = await failureOf(
      fitTransform(
        { artifactStore: fileStoreSettings(root), spec: specOf({ column: 'cls', classes: 'auto', maxClasses: 3 }), shards: [shard] },
        () => undefined,
      ),
    );
    expect(err.name).toBe(PIPELINE_INPUT_ERROR);
    expect(err.message).toBe(
      'label.classes "auto": column "cls" has 4 distinct values in the train split, more than label.maxClasses (3); ' +
        'list the classes to predict in label.classes (rows with other values are then quarantined), raise label.maxClasses to 4',
    );
    const numeric = await failureOf(
      fitTransform({ artifactStore: fileStoreSettings(root), spec: specOf({ column: 'y', classes: 'auto' }), shards: [shard] }, () => undefined),
    );
    expect(numeric.message).toMatch(
      /^label.classes "auto": column "y" has \d+ distinct values in the train split, more than label.maxClasses \(100\); .*, or predict the number itself with "task": "regression"$/,
    );
  });

  test('a stratified split of an "auto" label finds the classes over every row and splits each in proportion', async () => {
    const rows = randomRows(4000, 6);
    // One row of its own class: a stratified split keeps it in train (its share of the test split rounds to 0 rows).
    rows[17]!.cls = 'hail';
    const { shard } = await writeShard(rows);
    const { transform, labels, splits } = await fitAndApply(specOf({ column: 'cls', classes: 'auto' }, { stratify: true, testFraction: 0.25 }), shard);
    const classes = ['fog', 'hail', 'rain', 'snow', 'sun'];
    expect(transform.label).toEqual({ column: 'cls', task: 'multiclass', classes });
    expect(transform.split.strata).toHaveLength(5);
    expect(labels).toEqual(rows.map((r) => classes.indexOf(r.cls!)));
    for (let k = 0; k < classes.length; k++) {
      const of = labels.flatMap((l, i) => (l === k ? [splits[i]!] : []));
      const test = of.filter((s) => s === SPLIT_CODE.test).length;
      expect(Math.abs(test - 0.25 * of.length)).toBeLessThanOrEqual(2);
    }
  });

  test('ingest quarantines a row whose label is not a listed class, or is NULL', async () => {
    const rows = randomRows(6, 7);
    rows[1]!.cls = 'hail';
    rows[2]!.cls = null;
    rows[3]!.grade = 7;
    const { refused } = await writeShard(rows, columns({ on: 'cls', allowed: ['sun', 'rain', 'fog', 'snow'] }));
    expect(refused).toEqual(['"cls" is "hail", which is not one of label.classes', '"cls" is null']);
    const numbers = await writeShard(
      rows.filter((r) => r.cls !== null),
      columns({ on: 'grade', allowed: [1, 2, 3] }),
    );
    expect(numbers.refused).toEqual(['"grade" is 7, which is not one of label.classes']);
  });
});

describe('regression labels', () => {
  test("standardised with the train split's mean and std; decoding gives the values back", async () => {
    const rows = randomRows(500, 8);
    const { shard } = await writeShard(rows);
    const { transform, labels } = await fitAndApply(specOf({ column: 'y', task: 'regression' }), shard);
    const train = rows.filter(isTrain).map((r) => r.y);
    const mean = train.reduce((a, b) => a + b, 0) / train.length;
    const std = Math.sqrt(train.reduce((a, b) => a + (b - mean) ** 2, 0) / (train.length - 1));
    const label = transform.label;
    if (!('task' in label) || label.task !== 'regression') throw new Error('a regression label expected');
    expect(label.mean).toBeCloseTo(mean, 9);
    expect(label.std).toBeCloseTo(std, 9);
    expect(labels).toEqual(rows.map((r) => Math.fround((r.y - label.mean) / label.std)));
    expect(labelHead(transform)).toEqual({ task: 'regression', units: 1 });
    const decoded = decodeOutputs(transform, Float32Array.from(labels), labels.length, 1) as number[];
    decoded.forEach((value, i) => expect(value).toBeCloseTo(rows[i]!.y, 3));
  });

  test('a constant label scales by 1', async () => {
    const rows = randomRows(50, 9).map((r) => ({ ...r, y: 4 }));
    const { shard } = await writeShard(rows);
    const { transform, labels } = await fitAndApply(specOf({ column: 'y', task: 'regression' }), shard);
    expect(transform.label).toEqual({ column: 'y', task: 'regression', mean: 4, std: 1 });
    expect(new Set(labels)).toEqual(new Set([0]));
  });
});

describe('binary labels are as before', () => {
  test('the transform stores the rule without a task; labels are 0/1', async () => {
    const rows = randomRows(200, 10);
    const { shard } = await writeShard(rows);
    const { transform, labels } = await fitAndApply(specOf({ column: 'y', greaterThan: 0, task: 'binary' }), shard);
    expect(transform.label).toEqual({ column: 'y', greaterThan: 0 });
    expect(labels).toEqual(rows.map((r) => (r.y > 0 ? 1 : 0)));
    expect(labelHead(transform)).toEqual({ task: 'binary', units: 1 });
  });
});

describe('source columns of the label', () => {
  const types = [
    { name: 'id', type: 'bigint' },
    { name: 'status', type: 'text' },
    { name: 'grade', type: 'integer' },
    { name: 'x', type: 'double precision' },
  ];
  const labelColumn = (label: unknown): SourceColumn => {
    const spec = specOf(label);
    return columnsForSpec(spec, 't', types, { key: 'id' }).find((c) => c.name === (label as { column: string }).column)!;
  };

  test('"auto" reads the column as stored; listed classes are the allowed values', () => {
    expect(labelColumn({ column: 'status', classes: 'auto' })).toMatchObject({ kind: 'text', required: true });
    expect(labelColumn({ column: 'grade', classes: 'auto' })).toMatchObject({ kind: 'number' });
    expect(labelColumn({ column: 'status', classes: ['a', 'b'] })).toMatchObject({ kind: 'text', required: true, allowed: ['a', 'b'] });
    expect(labelColumn({ column: 'grade', classes: [1, 2] })).toMatchObject({ kind: 'number', allowed: [1, 2] });
    expect(labelColumn({ column: 'grade', task: 'regression' })).toMatchObject({ kind: 'number' });
    expect(labelColumn({ column: 'grade', greaterThan: 1 })).not.toHaveProperty('allowed');
  });

  test('a regression label must be a number column', () => {
    expect(() => labelColumn({ column: 'status', task: 'regression' })).toThrow(
      'label.column: column "status" of t has type text, but it must be a numeric type (integer, bigint, real, double precision, numeric, boolean); change the spec or the column type.',
    );
  });
});

describe('label heads and decoding', () => {
  const base = { format: 'pipewright.transform/v2' as const, key: 'id', split: RULE, features: [], inputDim: 0, trainRows: 10 };
  const multiclass: FittedTransform = { ...base, label: { column: 'status', task: 'multiclass', classes: ['early', 'on_time', 'late'] } };
  const regression: FittedTransform = { ...base, label: { column: 'delay', task: 'regression', mean: 10, std: 4 } };
  const binary: FittedTransform = { ...base, format: 'pipewright.transform/v1', label: { column: 'delay', greaterThan: 15 } };

  test('a transform without a task (v1, v2) is binary', () => {
    expect(labelHead(binary)).toEqual({ task: 'binary', units: 1 });
    expect(taskOf(binary.label)).toBe('binary');
    expect(decodeOutputs(binary, Float32Array.from([0.25, 0.75]), 2, 1)).toEqual([0.25, 0.75]);
    expect(describeOutput(binary)).toBe('probability that delay > 15');
  });

  test('multiclass: the most probable class and every probability, by name', () => {
    const out = decodeOutputs(multiclass, Float32Array.from([0.2, 0.5, 0.3, 0.6, 0.1, 0.3, 0.25, 0.25, 0.5]), 3, 3);
    expect(out).toEqual([
      { class: 'on_time', probabilities: { early: Math.fround(0.2), on_time: 0.5, late: Math.fround(0.3) } },
      { class: 'early', probabilities: { early: Math.fround(0.6), on_time: Math.fround(0.1), late: Math.fround(0.3) } },
      { class: 'late', probabilities: { early: 0.25, on_time: 0.25, late: 0.5 } },
    ]);
    expect(() => decodeOutputs(multiclass, new Float32Array(2), 1, 2)).toThrow('the model gives 2 outputs per row, but the multiclass label needs 3');
    expect(describeOutput(multiclass)).toBe('{"class": the most probable of the 3 classes of status, "probabilities": {class: probability}}');
  });

  test('regression: y = output · std + mean', () => {
    expect(decodeOutputs(regression, Float32Array.from([0, 1, -2.5]), 3, 1)).toEqual([10, 14, 0]);
    expect(describeOutput(regression)).toBe("predicted delay, in the column's own units");
  });

  test('labelOf and describeLabel for every task', () => {
    expect(labelOf({ column: 's', task: 'multiclass', classes: ['a', 'b'] }, 'b')).toBe(1);
    expect(labelOf({ column: 's', task: 'multiclass', classes: ['a', 'b'] }, 'c')).toBe(-1);
    expect(labelOf({ column: 'd', task: 'regression', mean: 10, std: 4 }, 18)).toBe(2);
    expect(describeLabel({ column: 's', task: 'multiclass', classes: ['a', 'b'] })).toBe('s: one of "a", "b"');
    expect(describeLabel({ column: 's', task: 'multiclass', classes: 'auto', maxClasses: 100 })).toBe('s: one of the classes found in the train split');
    expect(describeLabel({ column: 'd', task: 'regression' })).toBe('d (a number)');
    expect(describeLabel({ column: 's', task: 'multiclass', classes: Array.from({ length: 12 }, (_, i) => i) })).toBe(
      's: one of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more (12 classes)',
    );
  });

  test('a transform whose label has an unknown task is refused with the fix', () => {
    const future = { ...base, label: { column: 'x', task: 'ranking' } } as unknown as FittedTransform;
    expect(() => labelHead(future)).toThrow(
      'the fitted transform\'s label has task "ranking"; this pipewright reads binary, multiclass and regression labels: upgrade pipewright',
    );
  });
});
