import type { RegressionMetrics } from '../../contracts/refs';
import { IDENTITY_SCALE, addRegressionRows, emptyRegressionState, regressionMetricsOf, type LabelScale, type RegressionState } from './states/regression-state';

/**
 * Regression figures accumulated batch by batch, in the label's own units: errors summed for RMSE
 * and MAE, and the labels' running moments (Welford) for R² = 1 - SSE / SST. A thin holder of the
 * mergeable RegressionState, which defines the figures.
 */
export class RegressionMetricsAccumulator {
  private readonly state: RegressionState = emptyRegressionState(IDENTITY_SCALE);

  /** Labels and predictions in the same units (de-standardise both first: see addStandardised). */
  add(labels: ArrayLike<number>, predictions: ArrayLike<number>, rows: number): void {
    addRegressionRows(this.state, labels, predictions, rows, IDENTITY_SCALE);
  }

  /** Labels and outputs both standardised ((y - mean) / std), as encoded shards and the model hold them. */
  addStandardised(labels: ArrayLike<number>, outputs: ArrayLike<number>, rows: number, scale: LabelScale): void {
    addRegressionRows(this.state, labels, outputs, rows, scale);
  }

  result(): RegressionMetrics {
    return regressionMetricsOf(this.state);
  }
}

/** The regression figures of whole arrays in the label's units. */
export function regressionMetrics(labels: ArrayLike<number>, predictions: ArrayLike<number>): RegressionMetrics {
  if (predictions.length !== labels.length) throw new Error(`regressionMetrics: ${labels.length} labels but ${predictions.length} predictions`);
  const acc = new RegressionMetricsAccumulator();
  acc.add(labels, predictions, labels.length);
  return acc.result();
}
