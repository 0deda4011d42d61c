import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ArtifactStore, localArtifactPath } from '../../lib/artifacts/artifact-store';
import { readShardBatches } from '../../lib/data/arrow-shards';
import { classificationMetrics } from '../../lib/evaluation/classification-metrics';
import { evaluateModel } from '../../lib/evaluation/evaluate-model';
import { multiclassMetrics } from '../../lib/evaluation/multiclass-metrics';
import { regressionMetrics } from '../../lib/evaluation/regression-metrics';
import { ENCODED_SPLIT, encodedFeatureColumn } from '../../lib/features/apply-transform';
import { FeatureEncoder } from '../../lib/features/feature-encoder';
import { decodeOutputs, labelHead, type ClassPrediction } from '../../lib/features/label-task';
import { SPLIT_CODE } from '../../lib/features/split';
import type { FittedTransformV2 } from '../../lib/features/transform';
import { initBackend } from '../../lib/models/backend';
import { buildModel, fastLossFor, modelInputs } from '../../lib/models/build-model';
import { saveModel } from '../../lib/models/model-io';
import { predictCodes } from '../../lib/models/predict';
import { modelSpecSchema } from '../../lib/spec/model-spec';
import type { EncodedShardRef } from '../../contracts/refs';
import { fitAndApplyLabels, labelRows, labelSpec, writeLabelShard } from './fixtures/label-shards';

/**
 * evaluateModel over a real encoded shard and a real (briefly trained) model, for each task: the
 * figures it reports are those computed from the model server's path (predictCodes, decodeOutputs)
 * and the raw labels of the test rows, in the label's own units.
 */

let root: string;
let store: ArtifactStore;

beforeAll(async () => {
  // The backend evaluateModel picks too (wasm here), so the model is trained and scored on one.
  await initBackend();
});

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pipewright-evaluate-'));
  store = new ArtifactStore(root);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** The test rows of an encoded shard: feature codes (row-major), and the row numbers in the shard. */
async function testRows(encoded: EncodedShardRef, transform: FittedTransformV2): Promise<{ codes: Float32Array; rows: number[] }> {
  const codes: number[] = [];
  const rows: number[] = [];
  let at = 0;
  for await (const batch of readShardBatches(await localArtifactPath(encoded.uri))) {
    const split = batch.getChild(ENCODED_SPLIT)!.toArray() as Float32Array;
    const columns = transform.features.map((f) => batch.getChild(encodedFeatureColumn(f.name))!.toArray() as Float32Array);
    for (let r = 0; r < batch.numRows; r++, at++) {
      if (split[r] !== SPLIT_CODE.test) continue;
      rows.push(at);
      for (const c of columns) codes.push(c[r]!);
    }
  }
  return { codes: Float32Array.from(codes), rows };
}

/** A logistic / linear model over the transform's input, trained a few steps on the train rows so its outputs are not constant. */
async function trainedModel(transform: FittedTransformV2, encoded: EncodedShardRef, labels: number[], splits: number[]) {
  const head = labelHead(transform);
  const model = buildModel(modelSpecSchema.parse({ type: head.task === 'regression' ? 'linear' : 'logistic', seed: 3 }), transform, head);
  model.compile({ optimizer: tf.train.adam(0.1), loss: fastLossFor(head.task) });
  // Train on every train row as one batch.
  const codes: number[] = [];
  const ys: number[] = [];
  let at = 0;
  for await (const batch of readShardBatches(await localArtifactPath(encoded.uri))) {
    const columns = transform.features.map((f) => batch.getChild(encodedFeatureColumn(f.name))!.toArray() as Float32Array);
    for (let r = 0; r < batch.numRows; r++, at++) {
      if (splits[at] !== SPLIT_CODE.train) continue;
      for (const c of columns) codes.push(c[r]!);
      ys.push(labels[at]!);
    }
  }
  const encoder = new FeatureEncoder(transform);
  const n = transform.features.length;
  const nnz = encoder.nonZerosPerRow;
  const rows = ys.length;
  const slots = new Int32Array(rows * nnz);
  const values = new Float32Array(rows * nnz);
  const codeArray = Float32Array.from(codes);
  for (let r = 0; r < rows; r++) encoder.sparseInto(codeArray.subarray(r * n, (r + 1) * n), slots, values, r * nnz);
  const xs = modelInputs(model, transform, { rows, slots, values, codes: codeArray });
  const y = tf.tensor2d(Float32Array.from(ys), [rows, 1]);
  for (let step = 0; step < 30; step++) await model.trainOnBatch(xs, y);
  tf.dispose([...xs, y]);
  return model;
}

test.each([
  ['binary', { column: 'y', greaterThan: 0 }],
  ['multiclass', { column: 'cls', classes: 'auto' }],
  ['regression', { column: 'y', task: 'regression' }],
] as const)('%s: the metrics of the test rows, as the served predictions give them', async (task, label) => {
  const raw = labelRows(600, 21, true);
  const { shard } = await writeLabelShard(store, raw);
  const { transform, ref, encoded, labels, splits } = await fitAndApplyLabels(root, labelSpec(label), shard);
  const model = await trainedModel(transform, encoded, labels, splits);
  const modelRef = await saveModel(store, 'models', model);

  const progress: number[] = [];
  const result = await evaluateModel({ model: modelRef, transform: ref, shards: [encoded] }, (n) => progress.push(n));
  expect(result.backend).toBe(tf.getBackend());
  expect(result.task).toBe(task);
  expect(result.rows).toBe(encoded.testRows);
  expect(progress[progress.length - 1]).toBe(encoded.testRows);

  // The model server's path over the same rows.
  const test = await testRows(encoded, transform);
  const head = labelHead(transform);
  const outputs = await predictCodes(model, transform, test.codes, test.rows.length);
  const served = decodeOutputs(transform, outputs, test.rows.length, head.units);
  const rawOf = test.rows.map((i) => raw[i]!);
  if (result.task === 'regression') {
    const expected = regressionMetrics(
      rawOf.map((r) => r.y),
      served as number[],
    );
    expect(result.rmse).toBeCloseTo(expected.rmse, 3);
    expect(result.mae).toBeCloseTo(expected.mae, 3);
    expect(result.r2).toBeCloseTo(expected.r2, 4);
    // x predicts y: a trained linear model explains some of it.
    expect(result.r2).toBeGreaterThan(0.1);
  } else if (result.task === 'multiclass') {
    const classes = head.classes!;
    const probabilities = (served as ClassPrediction[]).flatMap((p) => classes.map((c) => p.probabilities[c]!));
    const expected = multiclassMetrics(
      rawOf.map((r) => classes.indexOf(r.cls!)),
      probabilities,
      classes,
    );
    expect(result.accuracy).toBeCloseTo(expected.accuracy, 9);
    expect(result.logLoss).toBeCloseTo(expected.logLoss, 5);
    expect(result.perClass.map((c) => [c.class, c.support])).toEqual(expected.perClass.map((c) => [c.class, c.support]));
    expect(result.macroF1).toBeCloseTo(expected.macroF1, 9);
    // The class follows x: far better than the 1 in 4 of a guess.
    expect(result.accuracy).toBeGreaterThan(0.6);
  } else {
    const expected = classificationMetrics(
      rawOf.map((r) => (r.y > 0 ? 1 : 0)),
      served as number[],
    );
    expect(result.auc).toBeCloseTo(expected.auc, 9);
    expect(result.logLoss).toBeCloseTo(expected.logLoss, 5);
    expect(result.positiveRate).toBeCloseTo(expected.positiveRate, 12);
    expect(result.auc).toBeGreaterThan(0.7);
  }
  model.dispose();
});
