import { rocAuc } from '../evaluation/classification-metrics';
import type { Task } from '../features/label-task';

const EPS = 1e-7;

/**
 * The validation loss (the training loss's own definition: binary or categorical cross-entropy,
 * or mean squared error of the standardised label) and one headline metric per task, accumulated
 * batch by batch over the validation rows.
 */
export class ValidationScore {
  private lossSum = 0;
  private rows = 0;
  private correct = 0;
  private readonly labels: number[] = [];
  private readonly scores: number[] = [];

  constructor(private readonly task: Task) {}

  add(outputs: Float32Array, labels: Float32Array, rows: number, units: number): void {
    for (let r = 0; r < rows; r++) {
      const y = labels[r]!;
      if (this.task === 'binary') {
        const p = Math.min(1 - EPS, Math.max(EPS, outputs[r]!));
        this.lossSum -= y > 0.5 ? Math.log(p) : Math.log(1 - p);
        this.labels.push(y);
        this.scores.push(p);
      } else if (this.task === 'multiclass') {
        const row = outputs.subarray(r * units, (r + 1) * units);
        this.lossSum -= Math.log(Math.max(EPS, row[y]!));
        let best = 0;
        for (let c = 1; c < units; c++) if (row[c]! > row[best]!) best = c;
        if (best === y) this.correct++;
      } else {
        const d = outputs[r]! - y;
        this.lossSum += d * d;
      }
    }
    this.rows += rows;
  }

  /** Mean loss and the headline metric: AUC (binary), accuracy (multiclass), RMSE in standardised label units (regression). */
  finish(): { loss: number; metric: { name: string; value: number } } {
    const loss = this.lossSum / this.rows;
    if (this.task === 'binary') return { loss, metric: { name: 'auc', value: rocAuc(this.labels, this.scores) } };
    if (this.task === 'multiclass') return { loss, metric: { name: 'accuracy', value: this.correct / this.rows } };
    return { loss, metric: { name: 'rmse (standardised)', value: Math.sqrt(loss) } };
  }
}
