import type { RegressionMetrics } from '../../contracts/refs';

/**
 * Regression figures accumulated batch by batch, in the label's own units: errors summed for RMSE
 * and MAE, and the labels' running moments (Welford) for R² = 1 - SSE / SST.
 */
export class RegressionMetricsAccumulator {
  private sse = 0;
  private sae = 0;
  private n = 0;
  private mean = 0;
  private m2 = 0;

  /** Labels and predictions in the same units (de-standardise both first: see addStandardised). */
  add(labels: ArrayLike<number>, predictions: ArrayLike<number>, rows: number): void {
    for (let r = 0; r < rows; r++) this.addOne(labels[r]!, predictions[r]!);
  }

  /** Labels and outputs both standardised ((y - mean) / std), as encoded shards and the model hold them. */
  addStandardised(labels: ArrayLike<number>, outputs: ArrayLike<number>, rows: number, scale: { mean: number; std: number }): void {
    for (let r = 0; r < rows; r++) this.addOne(labels[r]! * scale.std + scale.mean, outputs[r]! * scale.std + scale.mean);
  }

  private addOne(y: number, prediction: number): void {
    const error = prediction - y;
    this.sse += error * error;
    this.sae += Math.abs(error);
    this.n++;
    const delta = y - this.mean;
    this.mean += delta / this.n;
    this.m2 += delta * (y - this.mean);
  }

  result(): RegressionMetrics {
    const n = this.n;
    if (n === 0) return { task: 'regression', rmse: Number.NaN, mae: Number.NaN, r2: Number.NaN, rows: 0 };
    return {
      task: 'regression',
      rmse: Math.sqrt(this.sse / n),
      mae: this.sae / n,
      // Undefined (NaN) when every test label is the same: there is no variance to explain.
      r2: this.m2 > 0 ? 1 - this.sse / this.m2 : Number.NaN,
      rows: n,
    };
  }
}

/** The regression figures of whole arrays in the label's units. */
export function regressionMetrics(labels: ArrayLike<number>, predictions: ArrayLike<number>): RegressionMetrics {
  if (predictions.length !== labels.length) throw new Error(`regressionMetrics: ${labels.length} labels but ${predictions.length} predictions`);
  const acc = new RegressionMetricsAccumulator();
  acc.add(labels, predictions, labels.length);
  return acc.result();
}
