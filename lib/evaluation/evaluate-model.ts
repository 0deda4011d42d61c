import type { EvaluationMetrics } from '../../contracts/refs';
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
 * the label's units (regression). The single-task path of runs started before evaluateShard and
 * mergeEvaluation; it computes through the same metric states.
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
  return { ...recordedFigures(metrics.result()), backend };
}

/**
 * The figures this single-task path has always recorded. It stays for runs started before the
 * per-shard evaluation; their records keep the shape they had (the binary figures added with the
 * metric states, average precision, Brier, precision, recall and F1, come with mergeEvaluation).
 */
function recordedFigures(m: EvaluationMetrics): EvaluationMetrics {
  if (m.task !== undefined && m.task !== 'binary') return m;
  return { task: 'binary', auc: m.auc, logLoss: m.logLoss, accuracy: m.accuracy, positiveRate: m.positiveRate, rows: m.rows };
}
