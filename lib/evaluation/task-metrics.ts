import type { EvaluationMetrics } from '../../contracts/refs';
import type { FittedTransform } from '../features/transform-format';
import { StateAccumulator, metricsOf, stateHeadOf, unitsOf } from './states/metric-state';

/**
 * Takes the model's outputs and the encoded labels batch by batch (as predictSplit gives them) and
 * gives the metrics of the label's task. Outputs are rows × units, row-major (see Task).
 */
export interface MetricsAccumulator {
  add(outputs: Float32Array, labels: Float32Array, rows: number, units: number): void;
  result(): EvaluationMetrics;
}

/**
 * The accumulator for a transform's label, over the mergeable metric state of its task (see
 * states/): binary keeps a table of distinct scores with their label counts, multiclass a
 * confusion matrix and the log loss sum, regression running sums of the de-standardised errors and
 * labels. `expectedRows` bounds the rows it takes (more is an error: the shard refs undercount).
 */
export function metricsAccumulator(transform: FittedTransform, expectedRows: number): MetricsAccumulator {
  const head = stateHeadOf(transform);
  const acc = new StateAccumulator(head);
  const units = unitsOf(head);
  let n = 0;
  return {
    add(outputs, labels, rows, given) {
      if (given !== units) throw new Error(`the model gives ${given} outputs per row, but the ${head.task} label needs ${units}`);
      if (n + rows > expectedRows) throw new Error(`expected ${expectedRows} rows, got more`);
      acc.add({ outputs, labels, rows, units });
      n += rows;
    },
    result: () => metricsOf(acc.state()),
  };
}
