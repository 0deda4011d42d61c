import type { EvaluationMetrics } from '../../contracts/refs';
import { labelHead } from '../features/label-task';
import { upgradeTransform, type FittedRegressionLabel, type FittedTransform } from '../features/transform-format';
import { classificationMetrics } from './classification-metrics';
import { MulticlassMetricsAccumulator } from './multiclass-metrics';
import { RegressionMetricsAccumulator } from './regression-metrics';

/**
 * Takes the model's outputs and the encoded labels batch by batch (as predictSplit gives them) and
 * gives the metrics of the label's task. Outputs are rows × units, row-major (see Task).
 */
export interface MetricsAccumulator {
  add(outputs: Float32Array, labels: Float32Array, rows: number, units: number): void;
  result(): EvaluationMetrics;
}

/**
 * The accumulator for a transform's label: binary keeps every score (AUC ranks them all; 8 bytes a
 * row, sized by `expectedRows`), multiclass a confusion matrix and the log loss sum, regression
 * running sums of the de-standardised errors and labels.
 */
export function metricsAccumulator(transform: FittedTransform, expectedRows: number): MetricsAccumulator {
  const head = labelHead(transform);
  const checkUnits = (units: number): void => {
    if (units !== head.units) throw new Error(`the model gives ${units} outputs per row, but the ${head.task} label needs ${head.units}`);
  };
  switch (head.task) {
    case 'binary': {
      const labels = new Float32Array(expectedRows);
      const scores = new Float32Array(expectedRows);
      let n = 0;
      return {
        add(outputs, y, rows, units) {
          checkUnits(units);
          if (n + rows > expectedRows) throw new Error(`expected ${expectedRows} rows, got more`);
          labels.set(y.subarray(0, rows), n);
          scores.set(outputs.subarray(0, rows), n);
          n += rows;
        },
        result: () => classificationMetrics(labels.subarray(0, n), scores.subarray(0, n)),
      };
    }
    case 'multiclass': {
      const acc = new MulticlassMetricsAccumulator(head.classes!);
      return {
        add(outputs, y, rows, units) {
          checkUnits(units);
          acc.add(outputs, y, rows);
        },
        result: () => acc.result(),
      };
    }
    case 'regression': {
      const scale = upgradeTransform(transform).label as FittedRegressionLabel;
      const acc = new RegressionMetricsAccumulator();
      return {
        add(outputs, y, rows, units) {
          checkUnits(units);
          acc.addStandardised(y, outputs, rows, scale);
        },
        result: () => acc.result(),
      };
    }
  }
}
