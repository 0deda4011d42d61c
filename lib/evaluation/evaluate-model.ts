import type { EvaluateInput, EvaluateResult } from '../../contracts/stages';
import { readTransform } from '../features/transform-format';
import { initBackend } from '../models/backend';
import { loadSavedModel } from '../models/model-io';
import { predictSplit } from '../models/predict';
import { metricsAccumulator } from './task-metrics';

/** Rows per forward pass: large batches amortise the per-call cost; memory is a few MB. */
const EVALUATION_BATCH = 16384;

/**
 * Scores every held-out test row and computes the metrics of the label's task: AUC, log loss and
 * accuracy (binary); accuracy, log loss, F1 overall and per class (multiclass); RMSE, MAE and R² in
 * the label's units (regression).
 */
export async function evaluateModel(input: EvaluateInput, progress: (rows: number) => void): Promise<EvaluateResult> {
  const backend = await initBackend();
  // Any transform format: a run fitted before an upgrade evaluates on its v2 form.
  const transform = await readTransform(input.transform);
  const { model } = await loadSavedModel(input.model, transform);
  const expected = input.shards.reduce((n, s) => n + s.testRows, 0);
  const metrics = metricsAccumulator(transform, expected);
  let n = 0;
  try {
    await predictSplit(
      model,
      transform,
      input.shards,
      'test',
      (outputs, labels, rows, units) => {
        metrics.add(outputs, labels, rows, units);
        n += rows;
        progress(n);
      },
      EVALUATION_BATCH,
    );
  } finally {
    model.dispose();
  }
  if (n !== expected) throw new Error(`expected ${expected} test rows from the shard refs but read ${n}`);
  return { ...metrics.result(), backend };
}
