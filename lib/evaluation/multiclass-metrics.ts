import type { ClassMetrics, MulticlassMetrics } from '../../contracts/refs';
import { argmax } from '../features/label-task';

/** Probabilities are clipped to [EPS, 1 - EPS] in the log loss, as the binary log loss does. */
const EPS = 1e-7;

/**
 * Multiclass figures accumulated batch by batch: a confusion matrix (true class × predicted class,
 * predicted = the most probable, ties to the first) and the log loss sum, so that no row is kept.
 */
export class MulticlassMetricsAccumulator {
  /** confusion[t * C + p]: rows of true class t predicted as p. */
  private readonly confusion: Float64Array;
  private logLossSum = 0;
  private rows = 0;

  constructor(private readonly classes: readonly string[]) {
    this.confusion = new Float64Array(classes.length * classes.length);
  }

  /** `probabilities`: rows × C, row-major, in class order; `labels`: each row's class index. */
  add(probabilities: ArrayLike<number>, labels: ArrayLike<number>, rows: number): void {
    const c = this.classes.length;
    for (let r = 0; r < rows; r++) {
      const truth = labels[r]!;
      if (!Number.isInteger(truth) || truth < 0 || truth >= c) throw new Error(`row ${r} has the class index ${truth}; the label has ${c} classes`);
      const at = r * c;
      this.confusion[truth * c + argmax(probabilities, at, c)]!++;
      const p = Math.min(1 - EPS, Math.max(EPS, probabilities[at + truth]!));
      this.logLossSum -= Math.log(p);
    }
    this.rows += rows;
  }

  result(): MulticlassMetrics {
    const c = this.classes.length;
    const n = this.rows;
    let correct = 0;
    const perClass: ClassMetrics[] = [];
    let f1Sum = 0;
    let present = 0;
    for (let k = 0; k < c; k++) {
      let support = 0;
      let predicted = 0;
      for (let j = 0; j < c; j++) {
        support += this.confusion[k * c + j]!;
        predicted += this.confusion[j * c + k]!;
      }
      const tp = this.confusion[k * c + k]!;
      correct += tp;
      const precision = predicted > 0 ? tp / predicted : 0;
      const recall = support > 0 ? tp / support : 0;
      const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
      perClass.push({ class: this.classes[k]!, precision, recall, f1, support });
      // A class neither in the test split nor ever predicted has no F1 to speak of: it is left out of the mean.
      if (support > 0 || predicted > 0) {
        f1Sum += f1;
        present++;
      }
    }
    const accuracy = n > 0 ? correct / n : Number.NaN;
    return {
      task: 'multiclass',
      accuracy,
      logLoss: n > 0 ? this.logLossSum / n : Number.NaN,
      macroF1: present > 0 ? f1Sum / present : Number.NaN,
      // Every row is one prediction and one truth, so micro precision = micro recall = accuracy.
      microF1: accuracy,
      rows: n,
      perClass,
    };
  }
}

/** The multiclass figures of whole arrays: probabilities rows × C in class order, labels as class indices. */
export function multiclassMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>, classes: readonly string[]): MulticlassMetrics {
  const acc = new MulticlassMetricsAccumulator(classes);
  if (probabilities.length !== labels.length * classes.length) {
    throw new Error(`multiclassMetrics: ${labels.length} labels × ${classes.length} classes, but ${probabilities.length} probabilities`);
  }
  acc.add(probabilities, labels, labels.length);
  return acc.result();
}
