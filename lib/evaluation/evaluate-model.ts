import * as tf from '@tensorflow/tfjs-core';
import { readArtifactJson } from '../artifacts/artifact-store';
import type { FittedTransform } from '../features/transform';
import { classificationMetrics } from './classification-metrics';
import type { EvaluateInput, EvaluateResult } from '../../contracts/stages';
import { denseBatches } from '../features/encoded-batches';
import { initBackend } from '../models/backend';
import { loadSavedModel } from '../models/model-io';

/** Scores every held-out test row and computes ROC-AUC, log loss and accuracy. */
export async function evaluateModel(input: EvaluateInput, progress: (rows: number) => void): Promise<EvaluateResult> {
  const backend = await initBackend();
  const transform = await readArtifactJson<FittedTransform>(input.transform);
  const { model } = await loadSavedModel(input.model);
  const expected = input.shards.reduce((n, s) => n + s.testRows, 0);
  const labels = new Float32Array(expected);
  const scores = new Float32Array(expected);
  let n = 0;
  const ordered = [...input.shards].sort((a, b) => a.partition - b.partition);
  for await (const batch of denseBatches(transform, ordered, { split: 'test', batchSize: 16384 })) {
    const xs = tf.tensor2d(batch.x, [batch.rows, transform.inputDim]);
    // predict() slices its input into batches of 32 unless told otherwise: 50x slower here.
    const out = model.predict(xs, { batchSize: batch.rows }) as tf.Tensor;
    const p = (await out.data()) as Float32Array;
    xs.dispose();
    out.dispose();
    labels.set(batch.y, n);
    scores.set(p, n);
    n += batch.rows;
    progress(n);
  }
  model.dispose();
  if (n !== expected) throw new Error(`expected ${expected} test rows from the shard refs but read ${n}`);
  return { ...classificationMetrics(labels, scores), backend };
}
