import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { makeVector } from 'apache-arrow';
import type { EvaluationMetrics, EncodedShardRef, ModelRef, TransformRef } from '../../contracts/refs';
import type { MetricStateRef } from '../../contracts/evaluation';
import { ArtifactStore, fileStoreSettings, localArtifactPath, readArtifactBytes, readArtifactJson } from '../../lib/artifacts/artifact-store';
import { ShardWriter, readShardBatches } from '../../lib/data/arrow-shards';
import { PipelineInputError } from '../../lib/errors';
import { classificationMetrics } from '../../lib/evaluation/classification-metrics';
import { evaluateModel } from '../../lib/evaluation/evaluate-model';
import { evaluateShard } from '../../lib/evaluation/evaluate-shard';
import type { EvaluationReport } from '../../lib/evaluation/evaluation-report';
import { mergeEvaluation } from '../../lib/evaluation/merge-evaluation';
import { binaryStateOf } from '../../lib/evaluation/states/binary-state';
import { metricsOf, rowsOf } from '../../lib/evaluation/states/metric-state';
import { decodeState } from '../../lib/evaluation/states/state-codec';
import { ENCODED_SPLIT, encodedSchema } from '../../lib/features/apply-transform';
import { labelHead } from '../../lib/features/label-task';
import { SPLIT_CODE } from '../../lib/features/split';
import type { FittedLabel, FittedTransformV2 } from '../../lib/features/transform-format';
import { initBackend } from '../../lib/models/backend';
import { buildModel } from '../../lib/models/build-model';
import { loadSavedModel, saveModel } from '../../lib/models/model-io';
import { predictSplit } from '../../lib/models/predict';
import { modelSpecSchema } from '../../lib/spec/model-spec';
import { transformOf, writeEncodedShards, type WrittenShards } from './fixtures/encoded-shards';

/**
 * evaluateShard and mergeEvaluation over real encoded shards and an untrained model (seeded
 * weights: its scores are arbitrary but fixed, which is all metrics need): the merged states give
 * evaluateModel's figures on the same shards, the report's slices hold their rows, a retried shard
 * writes the same artifact, and a baseline scored with another encoding's split flags scores
 * exactly the rows those flag as test.
 */

const root = mkdtempSync(path.join(os.tmpdir(), 'pw-evaluate-shard-'));
const store = new ArtifactStore(root);
const dirs: string[] = [];

beforeAll(async () => {
  await initBackend();
});

afterAll(() => {
  for (const dir of [root, ...dirs]) rmSync(dir, { recursive: true, force: true });
});

/** A colour (4 values + out of vocabulary), a number and a hashed tail number. */
function craftedTransform(label: FittedLabel): FittedTransformV2 {
  return {
    ...transformOf([
      { kind: 'categorical', name: 'colour', column: 'colour', width: 5, vocabulary: ['red', 'green', 'blue', 'grey'] },
      { kind: 'numeric', name: 'x', column: 'x', width: 1, scale: { kind: 'none' } },
      { kind: 'hashed', name: 'tail', column: 'tail', width: 9, buckets: 8 },
    ]),
    label,
  };
}

interface Setup {
  fitted: FittedTransformV2;
  transform: TransformRef;
  model: ModelRef;
  written: WrittenShards;
}

async function setUp(label: FittedLabel, labelOf: (random: () => number, codes: Float32Array) => number, seed: number): Promise<Setup> {
  const fitted = craftedTransform(label);
  // Three shards of uneven Arrow batches, one of them a single batch.
  const written = await writeEncodedShards(fitted, [[700, 300], [450], [600, 90]], seed, labelOf);
  dirs.push(written.dir);
  const ref = await store.putJson('transforms', fitted);
  const transform: TransformRef = { ...ref, inputDim: fitted.inputDim, trainRows: written.shards.reduce((n, s) => n + s.trainRows, 0) };
  const head = labelHead(fitted);
  const built = buildModel(modelSpecSchema.parse({ type: head.task === 'regression' ? 'linear' : 'logistic', seed: 7 }), fitted, head);
  const saved = await saveModel(store, 'models', built);
  built.dispose();
  const model: ModelRef = { ...saved, backend: 'wasm', epochs: 0, trainSamples: 0, trainSeconds: 0, finalLoss: 0 };
  return { fitted, transform, model, written };
}

const binary: FittedLabel = { column: 'y', greaterThan: 0 };
const cases: Array<[string, FittedLabel, (random: () => number, codes: Float32Array) => number]> = [
  ['binary', binary, (random, codes) => (random() < 0.2 + 0.15 * (codes[0]! % 3) ? 1 : 0)],
  ['multiclass', { column: 'y', task: 'multiclass', classes: ['p', 'q', 'r'] }, (random) => Math.floor(random() * 3)],
  ['regression', { column: 'y', task: 'regression', mean: 10, std: 3 }, (random, codes) => codes[1]! + random() - 0.5],
];

async function evaluateAll(s: Setup, slices: string[] = ['colour']): Promise<MetricStateRef[]> {
  const states: MetricStateRef[] = [];
  for (const shard of s.written.shards) {
    const result = await evaluateShard({ model: s.model, transform: s.transform, shard, slices, artifactStore: fileStoreSettings(root) }, () => undefined);
    expect(result.partition).toBe(shard.partition);
    expect(result.rows).toBe(shard.testRows);
    expect(result.backend).toBe(tf.getBackend());
    states.push(result);
  }
  return states;
}

test.each(cases)('%s: the merged shard states give evaluateModel figures on the same shards, and a report with slices', async (task, label, labelOf) => {
  const s = await setUp(label, labelOf, 41);
  const states = await evaluateAll(s);
  const progress: number[] = [];
  const merged = await mergeEvaluation(
    { transform: s.transform, states, slices: [{ feature: 'colour', top: 3 }], artifactStore: fileStoreSettings(root) },
    (n) => progress.push(n),
  );
  const testRows = s.written.shards.reduce((n, sh) => n + sh.testRows, 0);
  expect(progress.at(-1)).toBe(testRows);
  const whole = await evaluateModel({ model: s.model, transform: s.transform, shards: s.written.shards }, () => undefined);
  const m = merged.metrics;
  expect(m.task).toBe(task);
  expect(m.rows).toBe(testRows);
  if (m.task === 'multiclass' && whole.task === 'multiclass') {
    expect(m.accuracy).toBe(whole.accuracy);
    expect(m.perClass).toEqual(whole.perClass);
    expect(m.macroF1).toBe(whole.macroF1);
    expect(m.logLoss).toBeCloseTo(whole.logLoss, 12);
  } else if (m.task === 'regression' && whole.task === 'regression') {
    for (const k of ['rmse', 'mae', 'r2'] as const) expect(Math.abs(m[k] - whole[k])).toBeLessThanOrEqual(1e-12 * Math.abs(whole[k]));
  } else {
    const b = m as Extract<EvaluationMetrics, { auc: number }>;
    const w = whole as Extract<EvaluationMetrics, { auc: number }>;
    expect(b.auc).toBe(w.auc);
    expect(b.accuracy).toBe(w.accuracy);
    expect(b.positiveRate).toBe(w.positiveRate);
    expect(b.logLoss).toBeCloseTo(w.logLoss, 12);
    // And the row-by-row reference over predictSplit's scores of every shard.
    const scored = await scoresOf(s, s.written.shards);
    const reference = classificationMetrics(scored.labels, scored.scores);
    expect(b.auc).toBe(reference.auc);
    expect(b.logLoss).toBeCloseTo(reference.logLoss, 12);
    expect(b.accuracy).toBe(reference.accuracy);
    expect(b.prAuc).toBeGreaterThan(0);
    // The old path keeps the record it always had.
    expect(Object.keys(whole).sort()).toEqual(['accuracy', 'auc', 'backend', 'logLoss', 'positiveRate', 'rows', 'task']);
  }

  const report = await readArtifactJson<EvaluationReport>(merged.report);
  expect(report.task).toBe(task);
  expect(report.rows).toBe(testRows);
  const colour = report.slices[0]!;
  expect(colour.feature).toBe('colour');
  expect(colour.values).toHaveLength(3);
  expect(colour.values.reduce((n, v) => n + v.rows, 0) + colour.otherRows).toBe(testRows);
  expect(colour.otherValues).toBe(2);
  // Slice rows from the shards' codes (column 0 is the colour).
  const byColour = new Map<number, number>();
  for (const shard of s.written.batches) {
    for (const b of shard) {
      b.splits.forEach((split, r) => {
        if (split === SPLIT_CODE.test) byColour.set(b.codes[r * 3]!, (byColour.get(b.codes[r * 3]!) ?? 0) + 1);
      });
    }
  }
  const names = ['red', 'green', 'blue', 'grey', '(other)'];
  for (const v of colour.values) expect(v.rows).toBe(byColour.get(names.indexOf(v.value)));
});

test('a shard evaluated twice writes the same artifact; its state decodes to the rows it reports', async () => {
  const s = await setUp(binary, (random) => (random() < 0.4 ? 1 : 0), 5);
  const shard = s.written.shards[2]!;
  const input = { model: s.model, transform: s.transform, shard, slices: ['colour', 'tail'], artifactStore: fileStoreSettings(root) };
  const a = await evaluateShard(input, () => undefined);
  const b = await evaluateShard(input, () => undefined);
  expect(b.uri).toBe(a.uri);
  expect(b.sha256).toBe(a.sha256);
  const state = decodeState(await readArtifactBytes(a));
  expect(rowsOf(state.overall)).toBe(shard.testRows);
  expect(state.slices.map((x) => x.feature)).toEqual(['colour', 'tail']);
  // The state is the table of predictSplit's scores of the shard's test rows.
  const scored = await scoresOf(s, [shard]);
  expect(metricsOf(state.overall)).toEqual(metricsOf(binaryStateOf(Float32Array.from(scored.scores), Float32Array.from(scored.labels), scored.scores.length)));
});

test('testRowsOf: the rows another encoding flags as test are scored, read in lockstep whatever its batches', async () => {
  const s = await setUp(binary, (random) => (random() < 0.4 ? 1 : 0), 13);
  const shard = s.written.shards[0]!;
  // This run's encoding of the same raw shard: other split flags, in record batches of another size.
  const flags = (r: number): number => (r % 5 === 0 ? SPLIT_CODE.test : r % 5 === 1 ? SPLIT_CODE.validation : SPLIT_CODE.train);
  const other = await rewriteSplit(s, shard, flags, 128);
  const result = await evaluateShard(
    { model: s.model, transform: s.transform, shard, slices: [], testRowsOf: other, artifactStore: fileStoreSettings(root) },
    () => undefined,
  );
  expect(result.rows).toBe(other.testRows);
  const state = decodeState(await readArtifactBytes(result)).overall;
  // The expected rows: every row's score (an all-test encoding), then those the flags pick.
  const all = await rewriteSplit(s, shard, () => SPLIT_CODE.test, 8192);
  const scored = await scoresOf(s, [shard], [all]);
  const picked = scored.scores.map((_, r) => r).filter((r) => flags(r) === SPLIT_CODE.test);
  const expected = binaryStateOf(
    Float32Array.from(picked.map((r) => scored.scores[r]!)),
    Float32Array.from(picked.map((r) => scored.labels[r]!)),
    picked.length,
  );
  const got = metricsOf(state);
  const want = metricsOf(expected);
  expect(got.rows).toBe(picked.length);
  if (got.task !== 'binary' || want.task !== 'binary') throw new Error('binary expected');
  expect(got.positiveRate).toBe(want.positiveRate);
  expect(got.auc).toBeCloseTo(want.auc, 6);
  expect(got.logLoss).toBeCloseTo(want.logLoss, 6);

  // Its own flags as testRowsOf: the very artifact of the plain evaluation.
  const plain = await evaluateShard({ model: s.model, transform: s.transform, shard, slices: [], artifactStore: fileStoreSettings(root) }, () => undefined);
  const self = await evaluateShard(
    { model: s.model, transform: s.transform, shard, slices: [], testRowsOf: shard, artifactStore: fileStoreSettings(root) },
    () => undefined,
  );
  expect(self.uri).toBe(plain.uri);

  // An encoding of another raw shard does not line up.
  const short = { ...(await rewriteSplit(s, s.written.shards[1]!, () => SPLIT_CODE.test, 8192)), partition: shard.partition };
  await expect(
    evaluateShard({ model: s.model, transform: s.transform, shard, slices: [], testRowsOf: short, artifactStore: fileStoreSettings(root) }, () => undefined),
  ).rejects.toThrow(/the split flags do not line up: .* ends after 450 rows, before .* does; splitFrom must be an encoding of the same raw shard/);
  const long = { ...(await rewriteSplit(s, shard, () => SPLIT_CODE.test, 8192)), partition: 1 };
  await expect(
    evaluateShard(
      { model: s.model, transform: s.transform, shard: s.written.shards[1]!, slices: [], testRowsOf: long, artifactStore: fileStoreSettings(root) },
      () => undefined,
    ),
  ).rejects.toThrow(/the split flags do not line up: .* has 550 rows more than the 450 of/);
  await expect(
    evaluateShard(
      { model: s.model, transform: s.transform, shard, slices: [], testRowsOf: s.written.shards[1]!, artifactStore: fileStoreSettings(root) },
      () => undefined,
    ),
  ).rejects.toThrow('testRowsOf is partition 1, but the shard is partition 0');
});

test('mistakes: an unsliceable feature, a transform of another task, states that do not add up', async () => {
  const s = await setUp(binary, (random) => (random() < 0.4 ? 1 : 0), 3);
  const shard = s.written.shards[1]!;
  const input = { model: s.model, transform: s.transform, shard, slices: ['x'], artifactStore: fileStoreSettings(root) };
  await expect(evaluateShard(input, () => undefined)).rejects.toThrow(PipelineInputError);
  await expect(evaluateShard(input, () => undefined)).rejects.toThrow('evaluation.slices: feature "x" is numeric');
  const [state] = await evaluateAll(s, []).then((all) => all.slice(1, 2));
  const regression = craftedTransform({ column: 'y', task: 'regression', mean: 0, std: 1 });
  const ref = await store.putJson('transforms', regression);
  await expect(
    mergeEvaluation(
      { transform: { ...ref, inputDim: regression.inputDim, trainRows: 0 }, states: [state!], slices: [], artifactStore: fileStoreSettings(root) },
      () => undefined,
    ),
  ).rejects.toThrow("does not fit the transform: it is a binary state, but the transform's label is regression");
  await expect(
    mergeEvaluation(
      { transform: s.transform, states: [{ ...state!, rows: state!.rows + 1 }], slices: [], artifactStore: fileStoreSettings(root) },
      () => undefined,
    ),
  ).rejects.toThrow(`holds ${state!.rows} rows, but its ref says ${state!.rows + 1}`);
  await expect(
    mergeEvaluation(
      { transform: s.transform, states: [state!], slices: [{ feature: 'colour', top: 2 }], artifactStore: fileStoreSettings(root) },
      () => undefined,
    ),
  ).rejects.toThrow('the metric states hold no slice by "colour"');
});

/** Binary scores and labels of the test rows of `shards` in partition order, as predictSplit gives them. */
async function scoresOf(s: Setup, shards: EncodedShardRef[], splitFrom?: EncodedShardRef[]): Promise<{ scores: number[]; labels: number[] }> {
  const { model } = await loadSavedModel(s.model, s.fitted);
  const scores: number[] = [];
  const labels: number[] = [];
  await predictSplit(
    model,
    s.fitted,
    shards,
    'test',
    (outputs, y, rows) => {
      scores.push(...outputs.subarray(0, rows));
      labels.push(...y.subarray(0, rows));
    },
    16384,
    splitFrom ? { splitFrom } : {},
  );
  model.dispose();
  return { scores, labels };
}

/** A copy of an encoded shard with `flags(row)` as its split, written in record batches of `blockRows`. */
async function rewriteSplit(s: Setup, shard: EncodedShardRef, flags: (row: number) => number, blockRows: number): Promise<EncodedShardRef> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pw-split-'));
  dirs.push(dir);
  const file = path.join(dir, 'split.arrows');
  const columns: Float32Array[][] = [];
  for await (const batch of readShardBatches(await localArtifactPath(shard.uri))) {
    columns.push(batch.schema.fields.map((f) => (batch.getChild(f.name)!.toArray() as Float32Array).slice()));
  }
  const names = encodedSchema(s.fitted).fields.map((f) => f.name);
  const whole = names.map((_, c) => Float32Array.from(columns.flatMap((b) => Array.from(b[c]!))));
  const rows = whole[0]?.length ?? 0;
  const split = whole[names.indexOf(ENCODED_SPLIT)]!;
  let test = 0;
  for (let r = 0; r < rows; r++) {
    split[r] = flags(r);
    if (split[r] === SPLIT_CODE.test) test++;
  }
  const writer = new ShardWriter(file, encodedSchema(s.fitted));
  for (let start = 0; start < rows; start += blockRows) {
    const end = Math.min(rows, start + blockRows);
    writer.write(
      whole.map((c) => makeVector(c.subarray(start, end)).data[0]!),
      end - start,
    );
  }
  await writer.close();
  return { uri: pathToFileURL(file).href, sha256: '', bytes: 0, partition: shard.partition, trainRows: 0, testRows: test };
}
