import type { MulticlassMetrics } from '../../contracts/refs';
import { addMulticlassRows, emptyMulticlassState, multiclassMetricsOf, type MulticlassState } from './states/multiclass-state';

/**
 * Multiclass figures accumulated batch by batch: a confusion matrix (true class × predicted class,
 * predicted = the most probable, ties to the first) and the log loss sum, so that no row is kept.
 * A thin holder of the mergeable MulticlassState, which defines the figures.
 */
export class MulticlassMetricsAccumulator {
  private readonly state: MulticlassState;

  constructor(classes: readonly string[]) {
    this.state = emptyMulticlassState(classes);
  }

  /** `probabilities`: rows × C, row-major, in class order; `labels`: each row's class index. */
  add(probabilities: ArrayLike<number>, labels: ArrayLike<number>, rows: number): void {
    addMulticlassRows(this.state, probabilities, labels, rows);
  }

  result(): MulticlassMetrics {
    return multiclassMetricsOf(this.state);
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
